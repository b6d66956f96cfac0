import { inboundVideo, launchChromium, openUser, pairUp } from '../test/helpers/browser.js';
import { startServerProcess } from '../test/helpers/serverProcess.js';
const server = await startServerProcess('dbg-switch');
const browser = await launchChromium({ extraArgs: ['--use-fake-device-for-media-stream=device-count=2'] });
try {
  const alice = await openUser(browser, server.url);
  const bob = await openUser(browser, server.url);
  alice.on('console', (m) => console.log('[alice]', m.type(), m.text()));
  await pairUp(alice, bob, { frames: 10 });
  const out = () => alice.evaluate(async () => {
    const app = (window as any).meetopia;
    const stats = await app.media.sendTransport.getStats();
    const r: any[] = [];
    for (const s of stats.values()) if (s.type === 'outbound-rtp' && s.kind === 'video') r.push([s.rid, s.framesEncoded, s.frameWidth, s.qualityLimitationReason, s.active]);
    const tracks = app.local.stream?.getVideoTracks().map((t: MediaStreamTrack) => [t.readyState, t.enabled, t.muted, t.getSettings().deviceId?.slice(0,8), t.getSettings().width]);
    return { r, tracks };
  });
  console.log('before', JSON.stringify(await out()), JSON.stringify(await inboundVideo(bob)));
  const select = alice.getByTestId('camera-select');
  const current = await select.inputValue();
  const values = await select.locator('option').evaluateAll((os) => os.map((o) => (o as HTMLOptionElement).value));
  console.log('options', values.map((v) => v.slice(0, 8)), 'current', current.slice(0, 8));
  await select.selectOption(values.find((v) => v !== current) as string);
  for (let i = 0; i < 6; i++) {
    await new Promise((r) => setTimeout(r, 1500));
    console.log('after', i, JSON.stringify(await out()), JSON.stringify(await inboundVideo(bob)));
  }
} finally {
  await browser.close();
  await server.stop();
}
