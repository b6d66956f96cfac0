import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { connect } from 'node:net';

export type ForwardingProxy = { url: string; close(): Promise<void> };

/**
 * A reverse proxy on loopback that stands for one client address: it forwards HTTP requests and
 * WebSocket upgrades to `target` with `X-Forwarded-For: address` (and the target's own Host and
 * Origin, as a same-site front end would). Tests that need users at distinct addresses open the
 * page through one proxy each: Chromium does not put a context's extra headers on WebSocket
 * upgrades (Debian's Chromium 150 sent none, so every user had the address of loopback).
 */
export async function startForwardingProxy(target: string, address: string): Promise<ForwardingProxy> {
  const targetUrl = new URL(target);
  const rewrite = (headers: NodeJS.Dict<string | string[]>) => ({
    ...headers,
    host: targetUrl.host,
    ...(headers.origin ? { origin: targetUrl.origin } : {}),
    'x-forwarded-for': address,
  });
  const server = createServer((incoming, outgoing) => {
    const forwarded = request(
      {
        host: targetUrl.hostname,
        port: targetUrl.port,
        method: incoming.method,
        path: incoming.url,
        headers: rewrite(incoming.headers),
      },
      (response) => {
        outgoing.writeHead(response.statusCode ?? 502, response.headers);
        response.pipe(outgoing);
      },
    );
    forwarded.on('error', () => outgoing.destroy());
    incoming.pipe(forwarded);
  });
  server.on('upgrade', (incoming, socket, head) => {
    const upstream = connect(Number(targetUrl.port), targetUrl.hostname, () => {
      const lines = [`${incoming.method} ${incoming.url} HTTP/1.1`];
      for (const [name, value] of Object.entries(rewrite(incoming.headers))) {
        for (const item of Array.isArray(value) ? value : [value])
          if (item !== undefined) lines.push(`${name}: ${item}`);
      }
      upstream.write(`${lines.join('\r\n')}\r\n\r\n`);
      if (head.length > 0) upstream.write(head);
      upstream.pipe(socket);
      socket.pipe(upstream);
    });
    upstream.on('error', () => socket.destroy());
    socket.on('error', () => upstream.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
