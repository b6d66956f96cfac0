import { randomUUID } from 'node:crypto';
import {
  type BanInfo,
  type ChatMessage,
  defaultPreferences,
  type MediaMode,
  type Notification,
  type Preferences,
  type QualityClass,
  type QualityReport,
  type ServerMessage,
  type TextModeReason,
} from '@meetopia/protocol';
import type { Logger } from '../logger.js';
import type { MediaPeer } from '../sfu/PairMedia.js';
import type { UserMedia } from '../sfu/UserMedia.js';
import type { Member, Pair } from './Pair.js';

/** Who a visitor is, as far as the server knows without accounts: keyed hashes only. */
export type SessionIdentity = {
  /** Hash of the browser's device id (null when the client sent none). */
  readonly device: string | null;
  /** Hash of the client address (the forwarded one behind the trusted proxy). */
  readonly address: string;
  /** Both, as matching and safety use them. */
  readonly keys: readonly string[];
};

/** The conversation a user just left, kept a few minutes so that they can still report or block. */
export type PastConversation = {
  readonly pairId: string;
  readonly partner: SessionIdentity;
  /** The partner's session (it may have ended since), or the partner on another instance. */
  readonly partnerSession: Member;
  /** Its last chat lines, as this user saw them. */
  readonly chat: readonly ChatMessage[];
  readonly endedAt: number;
};

/** Where the session's socket is: live, lost and held, or back and restoring its media. */
export type Presence = 'active' | 'standby' | 'reconnecting';

/** What a session needs from its socket. */
export type SessionSocket = {
  /** The client's address (the forwarded one behind the trusted proxy); never logged or stored in clear. */
  readonly ip: string;
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
  readonly id: string;
  readonly logger: Logger;
  /** The live socket; null in standby. */
  socket: SessionSocket | null = null;
  presence: Presence = 'active';
  /** When the socket was lost (standby) — used to expire the session. */
  standbySince: number | null = null;
  /** Whether the user asked to be matched (pressed Start) and has not stopped. */
  wantsMatch = false;
  /** When the current search started (kept across a socket drop). */
  searchingSince: number | null = null;
  readonly identity: SessionIdentity;
  /** When the session began (ms since the epoch; kept when another instance takes it over). */
  openedAt = Date.now();
  /** Confirmed the site's rules and their age (`acceptRules`). */
  rulesAccepted = false;
  /** Whom the user would like to meet (normalised). */
  preferences: Preferences = defaultPreferences;
  /** From the client address (GeoIP); null when unknown. */
  country: string | null = null;
  /** Identity keys this user never meets again (their blocks and reports, and those against them). */
  blockedKeys = new Set<string>();
  /**
   * The ban this session was last found to have (null: none; undefined: never checked): what
   * counts while the safety store cannot be reached, for a session that was checked before.
   */
  knownBan: BanInfo | null | undefined = undefined;
  /** Conversations so far in this session (0: a newcomer). */
  matchCount = 0;
  /** The last conversation, for a report or block shortly after it ended. */
  lastConversation: PastConversation | null = null;
  /** Taken over from another instance and its media not connected here yet (see SessionService). */
  rebuildingMedia = false;
  /** Microphone muted / camera off, as the partner is told. */
  tracks = { micMuted: false, cameraOff: false };
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

  /** `id`: a session taken over from another instance keeps its id. */
  constructor(logger: Logger, identity: SessionIdentity, id: string = randomUUID()) {
    this.id = id;
    this.logger = logger.child({ sessionId: this.id });
    this.identity = identity;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** The current partner, if any. */
  get partner(): Member | null {
    return this.pair?.other(this) ?? null;
  }

  /** Whether the socket is up (false in standby). */
  get connected(): boolean {
    return this.socket !== null;
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
