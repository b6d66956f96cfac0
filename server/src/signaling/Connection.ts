import { randomUUID } from 'node:crypto';
import {
  type ClientMessage,
  ErrorCode,
  type ErrorCode as ErrorCodeType,
  MAX_MESSAGE_BYTES,
  ProtocolError,
  parseClientMessage,
  peekRequestId,
  type ServerMessage,
} from '@meetopia/protocol';
import type { RawData, WebSocket } from 'ws';
import type { Logger } from '../logger.js';
import type { Session, SessionSocket } from '../session/Session.js';

export type ConnectionOptions = {
  /** The client's address (the forwarded one behind the trusted proxy). Never logged. */
  ip: string;
  /** Keyed hash of `ip`: what logs and stored records use to name the client. */
  clientHash: string;
  logger: Logger;
  /** Handles one valid request; its return value is the response data. */
  handle: (connection: Connection, message: ClientMessage) => Promise<unknown>;
  /** Rate limit: resolves false when this message must be refused. */
  allowMessage: () => Promise<boolean>;
  /** Called once when the socket closes. */
  onClose: (connection: Connection, code: number) => void;
};

/** Consecutive rate-limited messages after which the socket is closed. */
const MAX_REFUSED_IN_A_ROW = 50;

/**
 * One WebSocket: reads frames, validates them against the protocol, runs requests one at a
 * time in arrival order (so `produce` never overtakes the `createTransport` before it), and
 * answers each with a response or an error. Nothing a client sends can throw out of here.
 */
export class Connection implements SessionSocket {
  readonly id = randomUUID();
  readonly ip: string;
  readonly clientHash: string;
  readonly logger: Logger;
  /** Set by `hello`. */
  session: Session | null = null;
  /** Last WebSocket ping round trip, ms. */
  rttMs: number | null = null;
  readonly #ws: WebSocket;
  readonly #options: ConnectionOptions;
  /** Requests run one after the other. */
  #queue: Promise<void> = Promise.resolve();
  #refusedInARow = 0;
  /** Work to do once the current request's response has been sent. */
  #afterReply: Array<() => void> = [];
  /** When the unanswered ping was sent, or null. */
  #pingSentAt: number | null = null;
  #pongTimer: NodeJS.Timeout | undefined;

  constructor(ws: WebSocket, options: ConnectionOptions) {
    this.#ws = ws;
    this.#options = options;
    this.ip = options.ip;
    this.clientHash = options.clientHash;
    this.logger = options.logger.child({ connectionId: this.id, clientHash: options.clientHash });
    ws.on('message', (data, isBinary) => this.#onFrame(data, isBinary));
    ws.on('pong', () => this.#onPong());
    ws.on('error', (error) => this.logger.debug({ err: error }, 'socket error'));
    ws.once('close', (code) => {
      clearTimeout(this.#pongTimer);
      options.onClose(this, code);
    });
  }

  get open(): boolean {
    return this.#ws.readyState === this.#ws.OPEN;
  }

  send(message: ServerMessage): void {
    if (this.open) this.#ws.send(JSON.stringify(message));
  }

  close(code: number, reason: string): void {
    this.#ws.close(code, reason);
  }

  /** Runs `action` right after the response to the request being handled is sent. */
  afterReply(action: () => void): void {
    this.#afterReply.push(action);
  }

  /** Drops the socket without a closing handshake (it stopped answering). */
  terminate(): void {
    this.#ws.terminate();
  }

  /** Sends a ping; if no pong arrives within `timeoutMs` the socket is considered dead. */
  ping(timeoutMs: number): void {
    if (!this.open || this.#pingSentAt !== null) return;
    this.#pingSentAt = Date.now();
    this.#ws.ping();
    this.#pongTimer = setTimeout(() => {
      this.logger.info({ timeoutMs }, 'no pong: closing dead socket');
      this.terminate();
    }, timeoutMs);
  }

  #onPong(): void {
    if (this.#pingSentAt === null) return;
    this.rttMs = Date.now() - this.#pingSentAt;
    this.#pingSentAt = null;
    clearTimeout(this.#pongTimer);
  }

  #onFrame(data: RawData, isBinary: boolean): void {
    if (isBinary) {
      this.#replyError(null, ErrorCode.InvalidMessage, 'binary frames are not accepted');
      return;
    }
    const bytes = Array.isArray(data)
      ? Buffer.concat(data)
      : Buffer.isBuffer(data)
        ? data
        : Buffer.from(new Uint8Array(data));
    if (bytes.byteLength > MAX_MESSAGE_BYTES) {
      this.#replyError(null, ErrorCode.MessageTooLarge, `message exceeds ${MAX_MESSAGE_BYTES} bytes`);
      return;
    }
    const frame = bytes.toString('utf8');
    this.#queue = this.#queue.then(() => this.#process(frame));
  }

  async #process(frame: string): Promise<void> {
    if (!(await this.#options.allowMessage())) {
      this.#refusedInARow += 1;
      this.#replyError(peekRequestId(frame), ErrorCode.RateLimited, 'too many messages; slow down');
      if (this.#refusedInARow >= MAX_REFUSED_IN_A_ROW) this.close(1008, 'rate limit exceeded');
      return;
    }
    this.#refusedInARow = 0;
    const parsed = parseClientMessage(frame);
    if (!parsed.ok) {
      this.#replyError(parsed.id, parsed.code, parsed.message);
      return;
    }
    const { message } = parsed;
    try {
      const data = await this.#options.handle(this, message);
      this.send({ type: 'response', id: message.id, data });
      for (const action of this.#afterReply.splice(0)) action();
    } catch (error) {
      this.#afterReply = [];
      if (error instanceof ProtocolError) {
        this.#replyError(message.id, error.code, error.message, error.retryAfterMs);
      } else {
        this.logger.error({ err: error, request: message.type }, 'request failed');
        this.#replyError(message.id, ErrorCode.Internal, 'internal error');
      }
    }
  }

  #replyError(id: number | null, code: ErrorCodeType, message: string, retryAfterMs?: number): void {
    const error =
      retryAfterMs === undefined ? { code, message } : { code, message, retryAfterMs: Math.ceil(retryAfterMs) };
    this.send({ type: 'error', id, error });
  }
}
