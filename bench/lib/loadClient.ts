import type { ParamsOf, RequestType, ResultOf, ServerMessage } from '@meetopia/protocol';
import WebSocket from 'ws';
import { PendingRequests } from '../../test/helpers/pendingRequests.js';

/**
 * A lean text-mode user for load benchmarks: keeps no message log (thousands of these share one
 * process), only the current pair and a callback per notification type.
 */
export class LoadClient {
  pairId: string | null = null;
  readonly #requests = new PendingRequests();
  readonly #listeners = new Map<string, Array<(message: ServerMessage) => void>>();

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => this.#onFrame(data.toString()));
    ws.on('close', () => this.#requests.rejectAll(new Error('socket closed')));
  }

  /**
   * Connects from `localAddress` (a distinct loopback address per user, so that per-address limits
   * treat them as different people), says hello and accepts the rules.
   */
  static async join(url: string, localAddress: string): Promise<LoadClient> {
    const ws = new WebSocket(url, { origin: new URL(url).origin.replace(/^ws/, 'http'), localAddress });
    await new Promise<void>((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
      ws.once('unexpected-response', (_request, response) => reject(new Error(`HTTP ${response.statusCode}`)));
    });
    const client = new LoadClient(ws);
    const hello = await client.request('hello', {});
    await client.request('acceptRules', { version: hello.rules.version });
    await client.request('setMediaMode', { mode: 'text', reason: 'no-camera' });
    return client;
  }

  request<Type extends RequestType>(type: Type, params: ParamsOf<Type>): Promise<ResultOf<Type>> {
    return this.#requests.send(this.ws, type, params);
  }

  on(type: ServerMessage['type'], listener: (message: ServerMessage) => void): void {
    this.#listeners.set(type, [...(this.#listeners.get(type) ?? []), listener]);
  }

  close(): Promise<void> {
    if (this.ws.readyState === WebSocket.CLOSED) return Promise.resolve();
    return new Promise((resolve) => {
      this.ws.once('close', () => resolve());
      this.ws.close(1000);
    });
  }

  #onFrame(frame: string): void {
    const message = JSON.parse(frame) as ServerMessage;
    if (message.type === 'response' || message.type === 'error') {
      this.#requests.settle(message);
      return;
    }
    if (message.type === 'matched') this.pairId = message.pairId;
    if (message.type === 'unmatched') this.pairId = null;
    for (const listener of this.#listeners.get(message.type) ?? []) listener(message);
  }
}

/** The n-th distinct loopback address (127.1.0.1, 127.1.0.2, …), never 127.0.0.1 itself. */
export function loopbackAddress(n: number): string {
  const host = n + 1;
  return `127.${1 + (host >> 16)}.${(host >> 8) & 255}.${host & 255}`;
}
