/**
 * The README's screenshots, from real Chromium: a call between two users (fake cameras) on a
 * desktop and on a phone screen, and the admin page's live charts. Writes docs/screenshots/*.png.
 * Usage: npx tsx scripts/screenshots.ts   (after scripts/setup.sh --no-start)
 */
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { launchChromium, openUser, pairUp, signInAsAdmin, waitForRemoteFrames } from '../test/helpers/browser.js';
import { startServerProcess } from '../test/helpers/serverProcess.js';

const ADMIN_TOKEN = 'screenshots-admin-token-0123456789';
const out = fileURLToPath(new URL('../docs/screenshots/', import.meta.url));
mkdirSync(out, { recursive: true });

const server = await startServerProcess('screenshots', { ADMIN_TOKEN });
const browser = await launchChromium();
try {
  const desktop = await openUser(browser, server.url);
  const phone = await openUser(browser, server.url);
  await desktop.setViewportSize({ width: 1280, height: 800 });
  await phone.setViewportSize({ width: 390, height: 844 });
  await desktop.getByTestId('interests-input').fill('jazz');
  await desktop.getByTestId('interests-input').press('Enter');
  await phone.getByTestId('interests-input').fill('jazz');
  await phone.getByTestId('interests-input').press('Enter');
  await pairUp(desktop, phone, { frames: 30 });
  await desktop.getByTestId('chat-input').fill('Hi! Jazz fan too?');
  await desktop.getByTestId('chat-send').click();
  await phone.getByTestId('chat-log').locator('li[data-from="peer"]').waitFor();
  await waitForRemoteFrames(phone, { after: 60 });
  await desktop.screenshot({ path: `${out}call-desktop.png` });
  await phone.screenshot({ path: `${out}call-phone.png` });

  const admin = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
  await admin.goto(`${server.url}/admin`);
  await signInAsAdmin(admin, ADMIN_TOKEN, 'screenshots');
  await admin.getByTestId('chart-users').waitFor();
  // A few history points for the charts.
  await admin.waitForTimeout(12_000);
  await admin.screenshot({ path: `${out}admin.png` });
  console.log(`screenshots written to ${out}`);
} finally {
  await browser.close();
  await server.stop();
}
