import { createSocket } from 'node:dgram';
import { createConnection, createServer } from 'node:net';

async function tcpFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

async function udpFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createSocket('udp4');
    socket.once('error', () => resolve(false));
    socket.bind(port, '127.0.0.1', () => socket.close(() => resolve(true)));
  });
}

/** First port of `count` consecutive ports free on loopback for both UDP and TCP. */
export async function freePortRun(count: number, from = 43000 + Math.floor(Math.random() * 5000)): Promise<number> {
  for (let base = from; base < 60000; base += count) {
    let free = true;
    for (let port = base; port < base + count && free; port += 1) {
      free = (await tcpFree(port)) && (await udpFree(port));
    }
    if (free) return base;
  }
  throw new Error('no free ports');
}

/** Whether something accepts TCP connections on this loopback port now. */
export function acceptsConnections(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.end();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
