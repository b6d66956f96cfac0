import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { MAX_MESSAGE_BYTES } from '@meetopia/protocol';
import { RateLimiterMemory } from 'rate-limiter-flexible';
import { WebSocketServer } from 'ws';
import type { Config } from '../config/config.js';
import type { AddressHasher } from '../identity/AddressHasher.js';
import type { Logger } from '../logger.js';
import type { SessionService } from '../session/SessionService.js';
import { Connection } from './Connection.js';
import type { RequestHandler } from './RequestHandler.js';

export type SignalingServerOptions = {
  config: Config;
  logger: Logger;
  handler: RequestHandler;
  sessions: SessionService;
  /** Client addresses appear in logs only as keyed hashes. */
  addresses: AddressHasher;
};

/**
 * The client's explicit goodbye (sent from `pagehide`): the user left, no standby. Not 1001:
 * Chromium also sends "going away" when the browser crashes or is killed, and that user may
 * well come back.
 */
const GOODBYE_CLOSE_CODE = 1000;

/**
 * The WebSocket endpoint on `/ws`: checks the path, the Origin and the per-IP connection limit
 * before upgrading; rate-limits messages per IP; pings every socket and drops the dead ones.
 */
export class SignalingServer {
  readonly #options: SignalingServerOptions;
  readonly #logger: Logger;
  /**
   * Frames up to 4× the protocol limit are read and answered with `message-too-large` (the
   * session survives); beyond that ws closes the socket (1009) before buffering more.
   */
  readonly #wss = new WebSocketServer({ noServer: true, maxPayload: 4 * MAX_MESSAGE_BYTES, clientTracking: false });
  readonly #connections = new Set<Connection>();
  readonly #connectionsPerIp = new Map<string, number>();
  readonly #messageLimiter: RateLimiterMemory;
  readonly #heartbeat: NodeJS.Timeout;
  #accepting = true;

  constructor(options: SignalingServerOptions) {
    this.#options = options;
    this.#logger = options.logger.child({ component: 'signaling' });
    this.#messageLimiter = new RateLimiterMemory({
      points: options.config.limits.messagesPerSecondPerIp,
      duration: 1,
    });
    const { intervalMs, timeoutMs } = options.config.heartbeat;
    this.#heartbeat = setInterval(() => {
      for (const connection of this.#connections) connection.ping(timeoutMs);
    }, intervalMs);
    this.#heartbeat.unref();
  }

  get connectionCount(): number {
    return this.#connections.size;
  }

  attach(server: Server): void {
    server.on('upgrade', (request, socket, head) => this.#onUpgrade(request, socket, head));
  }

  /** Stops accepting new sockets (shutdown). */
  stopAccepting(): void {
    this.#accepting = false;
    clearInterval(this.#heartbeat);
  }

  #onUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', () => socket.destroy());
    const verdict = this.#admit(request);
    if ('status' in verdict) {
      reject(socket, verdict.status, verdict.text);
      return;
    }
    const { ip } = verdict;
    const clientHash = this.#options.addresses.hash(ip);
    const count = this.#connectionsPerIp.get(ip) ?? 0;
    this.#connectionsPerIp.set(ip, count + 1);
    this.#wss.handleUpgrade(request, socket, head, (ws) => {
      const connection = new Connection(ws, {
        ip,
        clientHash,
        logger: this.#logger,
        handle: (conn, message) => this.#options.handler.handle(conn, message),
        allowMessage: () =>
          this.#messageLimiter.consume(ip).then(
            () => true,
            () => false,
          ),
        onClose: (conn, code) => this.#onClose(conn, code),
      });
      this.#connections.add(connection);
      connection.logger.info('connection opened');
      // A first round trip right away: matching knows the user's network before the first match.
      connection.ping(this.#options.config.heartbeat.timeoutMs);
    });
  }

  /** Decides whether an upgrade may proceed: the client's address, or the HTTP refusal to send. */
  #admit(request: IncomingMessage): { ip: string } | { status: number; text: string } {
    const path = new URL(request.url ?? '/', 'http://localhost').pathname;
    if (path !== '/ws') return { status: 404, text: 'Not Found' };
    if (!this.#accepting) return { status: 503, text: 'Service Unavailable' };
    if (!this.#originAllowed(request)) {
      this.#logger.warn({ origin: request.headers.origin }, 'WebSocket refused: origin not allowed');
      return { status: 403, text: 'Forbidden' };
    }
    const ip = this.#clientIp(request);
    if ((this.#connectionsPerIp.get(ip) ?? 0) >= this.#options.config.limits.maxConnectionsPerIp) {
      this.#logger.warn(
        { clientHash: this.#options.addresses.hash(ip) },
        'WebSocket refused: too many connections from this address',
      );
      return { status: 429, text: 'Too Many Requests' };
    }
    return { ip };
  }

  #onClose(connection: Connection, code: number): void {
    this.#connections.delete(connection);
    const remaining = (this.#connectionsPerIp.get(connection.ip) ?? 1) - 1;
    if (remaining <= 0) this.#connectionsPerIp.delete(connection.ip);
    else this.#connectionsPerIp.set(connection.ip, remaining);
    if (connection.session) {
      this.#options.sessions.socketClosed(connection.session, connection, code === GOODBYE_CLOSE_CODE);
    }
  }

  /** Browsers always send Origin; it must be listed, or (with no list) be the page's own host. */
  #originAllowed(request: IncomingMessage): boolean {
    const origin = request.headers.origin;
    if (!origin) return false;
    const allowed = this.#options.config.allowedOrigins;
    if (allowed.length > 0) return allowed.includes(origin);
    try {
      return new URL(origin).host === request.headers.host;
    } catch {
      return false;
    }
  }

  #clientIp(request: IncomingMessage): string {
    if (this.#options.config.trustProxy) {
      // The proxy appends the address it saw: the last entry is the only one it vouches for.
      const forwarded = request.headers['x-forwarded-for'];
      const last = (Array.isArray(forwarded) ? forwarded.join(',') : (forwarded ?? '')).split(',').pop()?.trim();
      if (last) return last;
    }
    return request.socket.remoteAddress ?? 'unknown';
  }
}

function reject(socket: Duplex, status: number, text: string): void {
  socket.end(
    `HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: ${text.length}\r\n\r\n${text}`,
  );
}
