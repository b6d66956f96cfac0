import {
  ErrorCode,
  type HelloResult,
  type Notification,
  type ParamsOf,
  ProtocolError,
  parseResult,
  parseServerMessage,
  type RequestType,
  type ResultOf,
} from '@meetopia/protocol';
import type { RetryPolicy } from '../reconnect/backoff.js';
import {
  type ConnectionEffect,
  type ConnectionEvent,
  type ConnectionState,
  type MachineContext,
  transition,
} from './connectionMachine.js';

/** Notifications the application handles (`shutdown` is the connection's own business). */
export type AppNotification = Exclude<Notification, { type: 'shutdown' }>;

/** Why a request failed without an answer from the server. */
export type SignalingFailure = 'not-connected' | 'connection-lost' | 'timeout';

export class SignalingError extends Error {
  readonly reason: SignalingFailure;
  constructor(reason: SignalingFailure, message: string) {
    super(message);
    this.name = 'SignalingError';
    this.reason = reason;
  }
}

export type SignalingClientOptions = {
  /** WebSocket URL, e.g. wss://host/ws. */
  url: string;
  policy: RetryPolicy;
  /** Liveness ping period and how long an answer may take before the socket counts as dead. */
  heartbeat?: { intervalMs: number; timeoutMs: number };
  requestTimeoutMs?: number;
  /** An attempt that has not completed `hello` by then is abandoned (a dropped SYN can hang for minutes). */
  connectTimeoutMs?: number;
  /** Every connection state change. */
  onState: (state: ConnectionState) => void;
  onNotification: (notification: AppNotification) => void;
  /** After each successful hello (first connect, resume, or a new session when resume was refused). */
  onSession: (result: HelloResult) => void;
  /** When the next reconnection attempt is due (ms since the epoch), or null when none is scheduled. */
  onRetryScheduled?: (retryAt: number | null) => void;
  /** This browser's device id, presented at every hello (blocks and bans follow it). */
  deviceId?: string;
  /** Injectable for tests outside a browser. */
  WebSocketImpl?: typeof WebSocket;
};

type Pending = {
  type: RequestType;
  resolve: (data: unknown) => void;
  reject: (error: Error) => void;
  timer: ReturnType<typeof setTimeout>;
};

/**
 * The socket to the server: connection state machine, `hello` and resume, request/response
 * with timeouts, a liveness heartbeat, reconnection with the retry policy.
 */
export class SignalingClient {
  readonly #options: SignalingClientOptions;
  #context: MachineContext = { state: 'idle', retryCount: 0 };
  #socket: WebSocket | null = null;
  /** Incremented per socket: events from a superseded socket are ignored. */
  #attempt = 0;
  #nextId = 1;
  readonly #pending = new Map<number, Pending>();
  #retryTimer: ReturnType<typeof setTimeout> | undefined;
  #heartbeatTimer: ReturnType<typeof setInterval> | undefined;
  #connectTimer: ReturnType<typeof setTimeout> | undefined;
  #resumeToken: string | null = null;
  #retryAt: number | null = null;

  constructor(options: SignalingClientOptions) {
    this.#options = options;
  }

  get state(): ConnectionState {
    return this.#context.state;
  }

  /** The current session's token (null before the first hello). */
  get resumeToken(): string | null {
    return this.#resumeToken;
  }

  connect(): void {
    this.#dispatch({ type: 'connect' });
  }

  /** After `failed`: start over with a fresh retry budget. */
  retry(): void {
    this.#dispatch({ type: 'userRetry' });
  }

  /** When the next reconnection attempt is due (ms since the epoch), null when none is waiting. */
  get retryAt(): number | null {
    return this.#retryAt;
  }

  /** The user does not want to wait for the next attempt: try now (or start over after `failed`). */
  retryNow(): void {
    if (this.state === 'failed') this.retry();
    else if (this.state === 'reconnecting') {
      this.#setRetryAt(null);
      clearTimeout(this.#retryTimer);
      this.#dispatch({ type: 'retryDue' });
    }
  }

  /** Leaves on purpose: the server ends the session at once instead of holding it. */
  close(): void {
    this.#dispatch({ type: 'close' });
  }

  /** The network came back (browser `online`): retry now instead of waiting for the timer, or check the socket. */
  networkChanged(): void {
    if (this.state === 'reconnecting') {
      this.retryNow();
    } else if (this.state === 'open') {
      this.#probe();
    }
  }

  /** Drops the current socket as if the network had cut it (used by tests and benchmarks). */
  simulateSocketLoss(): void {
    this.#lose(this.#attempt);
  }

  /** Sends a request and resolves with its validated result. */
  request<Type extends RequestType>(type: Type, params: ParamsOf<Type>): Promise<ResultOf<Type>> {
    if (this.state !== 'open') {
      return Promise.reject(new SignalingError('not-connected', `cannot send ${type}: not connected`));
    }
    return this.#send(type, params);
  }

  #send<Type extends RequestType>(type: Type, params: ParamsOf<Type>): Promise<ResultOf<Type>> {
    const socket = this.#socket;
    if (!socket || socket.readyState !== socket.OPEN) {
      return Promise.reject(new SignalingError('not-connected', `cannot send ${type}: socket not open`));
    }
    const id = this.#nextId++;
    return new Promise<unknown>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new SignalingError('timeout', `${type} got no answer`));
      }, this.#options.requestTimeoutMs ?? 10_000);
      this.#pending.set(id, { type, resolve, reject, timer });
      socket.send(JSON.stringify({ ...params, id, type }));
    }).then((data) => parseResult(type, data));
  }

  #dispatch(event: ConnectionEvent): void {
    const { next, effects } = transition(this.#context, event, (retryCount) =>
      this.#options.policy.nextRetryDelayInMs({ retryCount }),
    );
    const changed = next.state !== this.#context.state;
    this.#context = next;
    for (const effect of effects) this.#run(effect);
    if (changed) this.#options.onState(next.state);
  }

  #run(effect: ConnectionEffect): void {
    switch (effect.type) {
      case 'openSocket':
        this.#open();
        return;
      case 'closeSocket':
        this.#closeSocket();
        return;
      case 'scheduleRetry':
        clearTimeout(this.#retryTimer);
        this.#setRetryAt(Date.now() + effect.delayMs);
        this.#retryTimer = setTimeout(() => {
          this.#setRetryAt(null);
          this.#dispatch({ type: 'retryDue' });
        }, effect.delayMs);
        return;
      case 'cancelRetry':
        clearTimeout(this.#retryTimer);
        this.#setRetryAt(null);
        return;
      case 'startHeartbeat': {
        const { intervalMs } = this.#options.heartbeat ?? { intervalMs: 5000 };
        clearInterval(this.#heartbeatTimer);
        this.#heartbeatTimer = setInterval(() => this.#probe(), intervalMs);
        return;
      }
      case 'stopHeartbeat':
        clearInterval(this.#heartbeatTimer);
        return;
      default:
        assertUnreachable(effect);
    }
  }

  #setRetryAt(retryAt: number | null): void {
    if (retryAt === this.#retryAt) return;
    this.#retryAt = retryAt;
    this.#options.onRetryScheduled?.(retryAt);
  }

  #open(): void {
    this.#closeSocket();
    const attempt = ++this.#attempt;
    const Impl = this.#options.WebSocketImpl ?? WebSocket;
    let socket: WebSocket;
    try {
      socket = new Impl(this.#options.url);
    } catch {
      queueMicrotask(() => this.#lose(attempt));
      return;
    }
    this.#socket = socket;
    clearTimeout(this.#connectTimer);
    this.#connectTimer = setTimeout(() => this.#lose(attempt), this.#options.connectTimeoutMs ?? 5000);
    socket.onopen = () => {
      if (attempt === this.#attempt) void this.#hello(attempt);
    };
    socket.onmessage = (event) => {
      if (attempt === this.#attempt && typeof event.data === 'string') this.#onFrame(event.data);
    };
    socket.onclose = () => this.#lose(attempt);
    socket.onerror = () => this.#lose(attempt);
  }

  async #hello(attempt: number): Promise<void> {
    try {
      let result: HelloResult;
      const device = this.#options.deviceId ? { deviceId: this.#options.deviceId } : {};
      try {
        result = await this.#send('hello', this.#resumeToken ? { ...device, resumeToken: this.#resumeToken } : device);
      } catch (error) {
        // The session is gone (expired, server restarted): start a new one on the same socket.
        if (!(error instanceof ProtocolError && error.code === ErrorCode.InvalidToken)) throw error;
        this.#resumeToken = null;
        result = await this.#send('hello', device);
      }
      if (attempt !== this.#attempt) return;
      clearTimeout(this.#connectTimer);
      this.#resumeToken = result.resumeToken;
      this.#dispatch({ type: 'established' });
      this.#options.onSession(result);
    } catch {
      this.#lose(attempt);
    }
  }

  #onFrame(frame: string): void {
    const message = parseServerMessage(frame);
    if (!message) {
      console.warn('ignored a server message that does not match the protocol');
      return;
    }
    if (message.type === 'response' || message.type === 'error') {
      if (message.id === null) return;
      const pending = this.#pending.get(message.id);
      if (!pending) return;
      this.#pending.delete(message.id);
      clearTimeout(pending.timer);
      if (message.type === 'response') pending.resolve(message.data);
      else {
        const { code, message: text, retryAfterMs } = message.error;
        pending.reject(new ProtocolError(code, text, retryAfterMs === undefined ? {} : { retryAfterMs }));
      }
      return;
    }
    if (message.type === 'shutdown') {
      this.#dispatch({ type: 'serverShutdown', reconnectInMs: message.reconnectInMs });
      return;
    }
    this.#options.onNotification(message);
  }

  /** Asks the server for an answer; none within the timeout means the socket is dead. */
  #probe(): void {
    const attempt = this.#attempt;
    const { timeoutMs } = this.#options.heartbeat ?? { timeoutMs: 4000 };
    const timer = setTimeout(() => this.#lose(attempt), timeoutMs);
    this.#send('ping', {}).then(
      () => clearTimeout(timer),
      (error: unknown) => {
        clearTimeout(timer);
        if (!(error instanceof ProtocolError)) this.#lose(attempt);
      },
    );
  }

  #lose(attempt: number): void {
    if (attempt !== this.#attempt) return;
    clearTimeout(this.#connectTimer);
    this.#attempt += 1;
    this.#dispatch({ type: 'lost' });
  }

  #closeSocket(): void {
    const socket = this.#socket;
    this.#socket = null;
    for (const [id, pending] of this.#pending) {
      clearTimeout(pending.timer);
      pending.reject(new SignalingError('connection-lost', `${pending.type}: connection lost`));
      this.#pending.delete(id);
    }
    if (socket) {
      socket.onopen = socket.onmessage = socket.onclose = socket.onerror = null;
      // 1000 tells the server we left on purpose; a lost socket is just dropped (the server holds the session).
      if (this.state === 'closed') socket.close(1000, 'bye');
      else socket.close(4000, 'reconnecting');
    }
  }
}

function assertUnreachable(value: never): never {
  throw new Error(`unhandled effect ${JSON.stringify(value)}`);
}
