import { randomUUID } from 'node:crypto';
import type {
  MediaMode,
  Notification,
  QualityClass,
  QualityReport,
  ServerMessage,
  TextModeReason,
} from '@meetopia/protocol';
import type { Logger } from '../logger.js';
import type { MediaPeer } from '../sfu/PairMedia.js';
import type { UserMedia } from '../sfu/UserMedia.js';
import type { Pair } from './Pair.js';

/** Where the session's socket is: live, lost and held, or back and restoring its media. */
export type Presence = 'active' | 'standby' | 'reconnecting';

/** What a session needs from its socket. */
export type SessionSocket = {
  send(message: ServerMessage): void;
  /** Ends the socket, e.g. when the session is resumed on another one. */
  close(code: number, reason: string): void;
  /** Last measured WebSocket round trip, ms (null before the first pong). */
  readonly rttMs: number | null;
  /** Runs `action` once the response to the current request has been sent. */
  afterReply(action: () => void): void;
};

/**
 * One user, from their first `hello` until they leave or their standby window ends. It outlives
 * sockets: a user whose socket drops keeps their session (and partner) for MAX_STANDBY_MS.
 */
export class Session implements MediaPeer {
  readonly id = randomUUID();
  readonly logger: Logger;
  /** The live socket; null in standby. */
  socket: SessionSocket | null = null;
  presence: Presence = 'active';
  /** When the socket was lost (standby) — used to expire the session. */
  standbySince: number | null = null;
  /** Whether the user asked to be matched (pressed Start) and has not stopped. */
  wantsMatch = false;
  pair: Pair | null = null;
  /** Created on `hello` on the least-loaded worker; replaced if that worker dies. */
  media!: UserMedia;
  mediaMode: MediaMode = 'video';
  textReason: TextModeReason | undefined;
  /** Latest client network report, when it arrived, and the class derived from it. */
  quality: { report: QualityReport | null; reportedAt: number | null; class: QualityClass } = {
    report: null,
    reportedAt: null,
    class: 'unknown',
  };
  #closed = false;

  constructor(logger: Logger) {
    this.logger = logger.child({ sessionId: this.id });
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** The current partner, if any. */
  get partner(): Session | null {
    return this.pair?.other(this) ?? null;
  }

  /** Sends a message if the socket is up; in standby it is dropped (the resume snapshot carries state). */
  send(message: ServerMessage): void {
    this.socket?.send(message);
  }

  notify(message: Notification): void {
    this.send(message);
  }

  /** Closes the session's media. Idempotent; the caller has already dealt with the pair. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.media?.close();
  }
}
