import { mediaModeSchema, preferencesSchema, textModeReasonSchema } from '@meetopia/protocol';
import { z } from 'zod';
import type { ChatEntry } from '../session/Pair.js';

const id = z.string().min(1).max(200);

/** The partner of a conversation as a session's record names them: enough to rebuild a `RemotePartner`. */
const partnerRecordSchema = z.object({
  id,
  /** Where their session was when this record was written. */
  instance: id,
  person: id,
  keys: z.array(id).max(4),
  media: mediaModeSchema,
});

/**
 * What another instance needs to take a session over when its user comes back there with the
 * session's resume token (their instance died or shut down): who they are (keyed hashes only),
 * what they asked for, and the conversation they are in. Chat lines are kept per conversation.
 * Validated when read back: a record another version wrote, or a damaged one, is no record.
 */
export const sessionRecordSchema = z.object({
  id,
  /** The instance that holds the session now. */
  instance: id,
  /** When the session began (absent in records of earlier versions). */
  openedAt: z.number().optional(),
  identity: z.object({ device: id.nullable(), address: id, keys: z.array(id).max(4) }),
  country: z.string().length(2).nullable(),
  preferences: preferencesSchema,
  rulesAccepted: z.boolean(),
  blockedKeys: z.array(id).max(10_000),
  matchCount: z.number().int().nonnegative(),
  wantsMatch: z.boolean(),
  searchingSince: z.number().nullable(),
  mediaMode: mediaModeSchema,
  textReason: textModeReasonSchema.nullable(),
  tracks: z.object({ micMuted: z.boolean(), cameraOff: z.boolean() }),
  /** Whether the user was sending media (then their page makes it anew where they come back). */
  producing: z.boolean(),
  pair: z.object({ id, createdAt: z.number(), partner: partnerRecordSchema }).nullable(),
});

export type SessionRecord = z.infer<typeof sessionRecordSchema>;

/** A chat line as the store keeps it (see `Pair`). */
export const chatEntrySchema = z.object({
  messageId: id,
  senderId: id,
  clientMessageId: id,
  text: z.string().max(10_000),
  ts: z.number(),
}) satisfies z.ZodType<ChatEntry>;

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
