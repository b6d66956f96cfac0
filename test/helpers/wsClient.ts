import {
  type HelloResult,
  type NotificationOf,
  type NotificationType,
  type ParamsOf,
  parseServerMessage,
  type RequestType,
  type ResultOf,
  type ServerMessage,
} from '@meetopia/protocol';
import WebSocket from 'ws';
import { ErrorReply, PendingRequests } from './pendingRequests.js';

export { ErrorReply };

type Waiter = {
  type: string;
  resolve: (message: ServerMessage) => void;
  reject: (error: Error) => void;
  timer: NodeJS.Timeout;
};

/** A protocol client for integration tests: requests, notifications, raw frames. */
export class TestClient {
  readonly messages: ServerMessage[] = [];
  /** The type of every frame received, in arrival order (responses included). */
  readonly arrivals: string[] = [];
  /** Error replies that answered no request (bad JSON, oversized frames, rate limiting). */
  readonly orphanErrors: Array<{ id: number | null; code: string; message: string }> = [];
  hello: HelloResult | null = null;
  readonly #requests = new PendingRequests();
  #waiters: Waiter[] = [];
  /** Index in `messages` of the first notification not yet consumed by `next()`. */
  #cursor = 0;

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => this.#onFrame(data.toString()));
  }

  static async connect(
    url: string,
    options: {
      origin?: string | null;
      autoPong?: boolean;
      headers?: Record<string, string>;
      /** A loopback address to connect from (127.0.0.0/8), to be a distinct client to a proxy. */
      localAddress?: string;
    } = {},
  ): Promise<TestClient> {
    const origin = options.origin === undefined ? new URL(url).origin.replace(/^ws/, 'http') : options.origin;
    const ws = new WebSocket(url, {
      ...(origin ? { origin } : {}),
      autoPong: options.autoPong ?? true,
      ...(options.headers ? { headers: options.headers } : {}),
      ...(options.localAddress ? { localAddress: options.localAddress } : {}),
    });
    const client = new TestClient(ws);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
      ws.once('unexpected-response', (_request, response) => reject(new Error(`HTTP ${response.statusCode}`)));
    });
    return client;
  }

  /**
   * Connects and sends hello (optionally resuming), then accepts the site's rules as the page's
   * gate does (unless `acceptRules: false`), so that `start` is allowed.
   */
  static async join(
    url: string,
    resumeToken?: string,
    options: { acceptRules?: boolean; deviceId?: string; headers?: Record<string, string>; localAddress?: string } = {},
  ): Promise<TestClient> {
    const client = await TestClient.connect(url, {
      ...(options.headers ? { headers: options.headers } : {}),
      ...(options.localAddress ? { localAddress: options.localAddress } : {}),
    });
    client.hello = await client.request('hello', {
      ...(resumeToken ? { resumeToken } : {}),
      ...(options.deviceId ? { deviceId: options.deviceId } : {}),
    });
    if ((options.acceptRules ?? true) && !client.hello.rulesAccepted) {
      await client.request('acceptRules', { version: client.hello.rules.version });
    }
    return client;
  }

  /**
   * Gives this client media as a page would have it: the router's capabilities set, a receive
   * and a send transport; returns the send transport's id (no packets flow).
   */
  async prepareMedia(): Promise<string> {
    const capabilities = this.hello?.routerRtpCapabilities;
    if (!capabilities) throw new Error('no hello');
    await this.request('setRtpCapabilities', { rtpCapabilities: capabilities });
    await this.request('createTransport', { direction: 'recv' });
    return (await this.request('createTransport', { direction: 'send' })).id;
  }

  request<Type extends RequestType>(type: Type, params: ParamsOf<Type>): Promise<ResultOf<Type>> {
    return this.#requests.send(this.ws, type, params);
  }

  /** Sends a frame as is. */
  sendRaw(frame: string | Buffer): void {
    this.ws.send(frame);
  }

  /** Resolves with the next notification of this type not yet consumed (waiting for it if needed). */
  next<Type extends NotificationType>(type: Type, timeoutMs = 5000): Promise<NotificationOf<Type>> {
    for (let i = this.#cursor; i < this.messages.length; i += 1) {
      const message = this.messages[i];
      if (message?.type === type) {
        this.messages.splice(i, 1);
        return Promise.resolve(message as NotificationOf<Type>);
      }
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiters = this.#waiters.filter((waiter) => waiter.timer !== timer);
        reject(new Error(`no ${type} within ${timeoutMs} ms; got ${JSON.stringify(this.messages.map((m) => m.type))}`));
      }, timeoutMs);
      this.#waiters.push({ type, resolve: (message) => resolve(message as NotificationOf<Type>), reject, timer });
    });
  }

  /** Notifications of this type received and not consumed. */
  received<Type extends NotificationType>(type: Type): NotificationOf<Type>[] {
    return this.messages.filter((message): message is NotificationOf<Type> => message.type === type);
  }

  /** Resolves with the close code. */
  closed(): Promise<number> {
    if (this.ws.readyState === WebSocket.CLOSED) return Promise.resolve(-1);
    return new Promise((resolve) => this.ws.once('close', (code) => resolve(code)));
  }

  close(code = 1000): Promise<number> {
    const closed = this.closed();
    this.ws.close(code);
    return closed;
  }

  /** Drops the TCP connection without a close frame (what a network loss looks like). */
  drop(): void {
    this.ws.terminate();
  }

  #onFrame(frame: string): void {
    const message = parseServerMessage(frame);
    if (!message) throw new Error(`server sent a frame outside the protocol: ${frame}`);
    this.arrivals.push(message.type);
    if (message.type === 'response' || message.type === 'error') {
      if (!this.#requests.settle(message) && message.type === 'error') {
        this.orphanErrors.push({ id: message.id, ...message.error });
      }
      return;
    }
    const waiter = this.#waiters.find((candidate) => candidate.type === message.type);
    if (waiter) {
      clearTimeout(waiter.timer);
      this.#waiters = this.#waiters.filter((candidate) => candidate !== waiter);
      waiter.resolve(message);
      return;
    }
    this.messages.push(message);
  }
}
