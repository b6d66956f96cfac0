import type { Browser, Page } from 'playwright-core';
import { launchChromium, openUser } from './browser.js';
import { NetNamespace } from './netns.js';
import { freePortRun } from './ports.js';
import { type ServerProcess, startServerProcess } from './serverProcess.js';

/**
 * Two users across a network namespace: the server listens (HTTP and media) on the host end of
 * the namespace's veth, one user's Chromium runs inside the namespace and one on the host, so a
 * test can cut, drop or shape only the inside user's traffic.
 */
export type NamespacedCall = {
  readonly ns: NetNamespace;
  readonly server: ServerProcess;
  /** The page's URL, on the namespace's host address. */
  readonly url: string;
  /** The first of the two media ports (UDP and TCP) of the server's workers. */
  readonly mediaPort: number;
  /** The user inside the namespace, and the one on the host. */
  readonly inside: Page;
  readonly outside: Page;
  close(): Promise<void>;
};

export async function startNamespacedCall(
  name: string,
  nsIndex: number,
  env: Record<string, string> = {},
): Promise<NamespacedCall> {
  const ns = NetNamespace.create(nsIndex);
  const browsers: Browser[] = [];
  let server: ServerProcess | undefined;
  const close = async () => {
    for (const browser of browsers) await browser.close().catch(() => {});
    await server?.stop();
    ns.destroy();
  };
  try {
    const mediaPort = await freePortRun(2);
    server = await startServerProcess(name, {
      HOST: ns.hostIp,
      MEDIA_LISTEN_IP: ns.hostIp,
      ANNOUNCED_ADDRESS: ns.hostIp,
      MEDIA_PORT: String(mediaPort),
      ...env,
    });
    const url = `http://${ns.hostIp}:${server.port}`;
    // Plain HTTP on a non-localhost address: camera and WebRTC need it treated as secure.
    const insideBrowser = await launchChromium({ executablePath: ns.chromiumPath(), secureOrigins: [url] });
    browsers.push(insideBrowser);
    const hostBrowser = await launchChromium({ secureOrigins: [url] });
    browsers.push(hostBrowser);
    const inside = await openUser(insideBrowser, url);
    const outside = await openUser(hostBrowser, url);
    return { ns, server, url, mediaPort, inside, outside, close };
  } catch (error) {
    await close();
    throw error;
  }
}
