import type { MediaMode, Preferences, TextModeReason } from '@meetopia/protocol';
import type { ChatEntry } from '../session/Pair.js';

/** The partner of a conversation as a session's record names them: enough to rebuild a `RemotePartner`. */
export type PartnerRecord = {
  id: string;
  /** Where their session was when this record was written. */
  instance: string;
  person: string;
  keys: string[];
  media: MediaMode;
};

/**
 * What another instance needs to take a session over when its user comes back there with the
 * session's resume token (their instance died or shut down): who they are (keyed hashes only),
 * what they asked for, and the conversation they are in. Chat lines are kept per conversation.
 */
export type SessionRecord = {
  id: string;
  /** The instance that holds the session now. */
  instance: string;
  identity: { device: string | null; address: string; keys: string[] };
  country: string | null;
  preferences: Preferences;
  rulesAccepted: boolean;
  blockedKeys: string[];
  matchCount: number;
  wantsMatch: boolean;
  searchingSince: number | null;
  mediaMode: MediaMode;
  textReason: TextModeReason | null;
  tracks: { micMuted: boolean; cameraOff: boolean };
  /** Whether the user was sending media (then their page makes it anew where they come back). */
  producing: boolean;
  pair: { id: string; createdAt: number; partner: PartnerRecord } | null;
};

/**
 * Sessions as a shared store holds them (with REDIS_URL), so that any instance can resume one.
 * Without a shared store a session lives only in its process and there is no such store.
 */
export interface SessionStore {
  /** Writes records (the newest state of these sessions); each lives `ttlMs` unless written again. */
  save(records: readonly SessionRecord[], ttlMs: number): Promise<void>;
  load(id: string): Promise<SessionRecord | null>;
  /** The session ended for good: its record and conversation lines go. */
  forget(id: string): Promise<void>;
  /** A resume token's hash (never the token), naming a session for `ttlMs`. */
  putToken(hash: string, sessionId: string, ttlMs: number): Promise<void>;
  /** Spends a token's hash: the session it names, once. */
  takeToken(hash: string): Promise<string | null>;
  dropToken(hash: string): Promise<void>;
  /** A conversation's chat line, kept while it lasts (at most the history a client shows). */
  addChat(pairId: string, entry: ChatEntry, ttlMs: number): Promise<void>;
  chat(pairId: string): Promise<ChatEntry[]>;
  /** The conversation ended: its lines go. */
  forgetChat(pairId: string): Promise<void>;
}
