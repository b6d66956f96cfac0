import { MAX_CHAT_HISTORY } from '@meetopia/protocol';
import type { z } from 'zod';
import type { ChatEntry } from '../../session/Pair.js';
import { chatEntrySchema, type SessionRecord, type SessionStore, sessionRecordSchema } from '../SessionStore.js';
import type { MeetopiaRedis } from './connection.js';

/**
 * Sessions in Redis: `session:<id>` (the record as JSON), `token:<sha256>` (a resume token's
 * hash → session id, single use) and `chat:<pairId>` (a live conversation's last lines). Every
 * key expires on its own; the holding instance writes its sessions again well before.
 */
export class RedisSessionStore implements SessionStore {
  readonly #redis: MeetopiaRedis;
  readonly #prefix: string;

  constructor(redis: MeetopiaRedis, prefix: string) {
    this.#redis = redis;
    this.#prefix = prefix;
  }

  async save(records: readonly SessionRecord[], ttlMs: number): Promise<void> {
    if (records.length === 0) return;
    const write = this.#redis.multi();
    for (const record of records) {
      write.set(this.#key('session', record.id), JSON.stringify(record), { expiration: { type: 'PX', value: ttlMs } });
    }
    await write.exec();
  }

  async load(id: string): Promise<SessionRecord | null> {
    const json = await this.#redis.get(this.#key('session', id));
    return json === null ? null : parsed(sessionRecordSchema, json);
  }

  async forget(id: string): Promise<void> {
    await this.#redis.del(this.#key('session', id));
  }

  async putToken(hash: string, sessionId: string, ttlMs: number): Promise<void> {
    await this.#redis.set(this.#key('token', hash), sessionId, { expiration: { type: 'PX', value: ttlMs } });
  }

  takeToken(hash: string): Promise<string | null> {
    return this.#redis.getDel(this.#key('token', hash));
  }

  async dropToken(hash: string): Promise<void> {
    await this.#redis.del(this.#key('token', hash));
  }

  async addChat(pairId: string, entry: ChatEntry, ttlMs: number): Promise<void> {
    const key = this.#key('chat', pairId);
    await this.#redis
      .multi()
      .rPush(key, JSON.stringify(entry))
      .lTrim(key, -MAX_CHAT_HISTORY, -1)
      .pExpire(key, ttlMs)
      .exec();
  }

  async chat(pairId: string): Promise<ChatEntry[]> {
    const lines = await this.#redis.lRange(this.#key('chat', pairId), 0, -1);
    return lines.flatMap((line) => parsed(chatEntrySchema, line) ?? []);
  }

  async forgetChat(pairId: string): Promise<void> {
    await this.#redis.del(this.#key('chat', pairId));
  }

  #key(kind: string, id: string): string {
    return `${this.#prefix}sessions:${kind}:${id}`;
  }
}

/** The value if it is valid JSON of that shape, else null (a damaged or foreign entry counts as none). */
function parsed<T>(schema: z.ZodType<T>, json: string): T | null {
  try {
    const result = schema.safeParse(JSON.parse(json));
    return result.success ? result.data : null;
  } catch {
    return null;
  }
}
