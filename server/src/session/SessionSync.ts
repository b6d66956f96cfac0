import type { Logger } from '../logger.js';
import type { SessionRecord, SessionStore } from '../store/SessionStore.js';
import { personOf } from './Pair.js';
import { RemotePartner } from './RemotePartner.js';
import { hashToken } from './ResumeTokens.js';
import type { Session } from './Session.js';

/** How soon writes that failed (the store was away) are tried again. */
const RETRY_MS = 1000;

export type SessionSyncOptions = {
  store: SessionStore;
  /** This instance's id (records name the instance holding the session). */
  instance: string;
  /** How long a record outlives its last write: the standby window and a margin. */
  ttlMs: number;
  logger: Logger;
  /** This instance's sessions (all rewritten now and then, so that none expires while alive). */
  sessions: () => Iterable<Session>;
};

/**
 * Keeps this instance's sessions in the shared store, so that another instance can take one
 * over when its user comes back there (this instance died, or is shutting down): the sessions
 * changed in one turn of the event loop are written together right after it, and every session
 * again at a third of the record's lifetime. What could not be written while the store was away
 * (records, resume token hashes) is written once it answers again.
 */
export class SessionSync {
  readonly #options: SessionSyncOptions;
  readonly #changed = new Set<Session>();
  /** The write of the changes of this turn of the event loop, once scheduled. */
  #pending: NodeJS.Immediate | undefined;
  readonly #refresh: NodeJS.Timeout;
  /** Hashes of resume tokens issued while the store was away, and their sessions. */
  readonly #unsavedTokens = new Map<string, string>();
  #retry: NodeJS.Timeout | undefined;
  /** Writes are failing (logged once until they succeed again). */
  #failing = false;

  constructor(options: SessionSyncOptions) {
    this.#options = options;
    this.#refresh = setInterval(() => {
      for (const session of options.sessions()) this.changed(session);
    }, options.ttlMs / 3);
    this.#refresh.unref();
  }

  get store(): SessionStore {
    return this.#options.store;
  }

  /** The session changed (pair, preferences, media…): written at the end of this turn of the event loop. */
  changed(session: Session): void {
    this.#changed.add(session);
    this.#pending ??= setImmediate(() => void this.flush());
  }

  /** Writes every changed session now (and this one, changed or not). */
  async flush(session?: Session): Promise<void> {
    clearImmediate(this.#pending);
    this.#pending = undefined;
    if (session) this.#changed.add(session);
    const sessions = [...this.#changed].filter((each) => !each.closed);
    this.#changed.clear();
    try {
      await this.#options.store.save(
        sessions.map((each) => this.recordOf(each)),
        this.#options.ttlMs,
      );
      if (sessions.length > 0) this.#succeeded();
    } catch (error) {
      // Their newest state is written when the store answers again.
      for (const each of sessions) this.#changed.add(each);
      this.#failed(error, 'sessions not written to the shared store; trying again');
    }
  }

  /** A resume token was issued: its hash names the session on every instance. */
  async issued(sessionId: string, token: string): Promise<void> {
    const hash = hashToken(token);
    try {
      await this.#options.store.putToken(hash, sessionId, this.#options.ttlMs);
      this.#succeeded();
    } catch (error) {
      this.#unsavedTokens.set(hash, sessionId);
      this.#failed(error, 'resume token not written to the shared store; trying again');
    }
  }

  /** A token spent here: no other instance may spend it too. */
  spent(token: string): void {
    const hash = hashToken(token);
    this.#unsavedTokens.delete(hash);
    void this.#options.store.dropToken(hash).catch(() => {});
  }

  #failed(error: unknown, message: string): void {
    if (!this.#failing) this.#options.logger.warn({ err: error }, message);
    this.#failing = true;
    if (this.#retry) return;
    this.#retry = setTimeout(() => {
      this.#retry = undefined;
      void this.#writeUnsaved();
    }, RETRY_MS);
    this.#retry.unref();
  }

  #succeeded(): void {
    if (this.#failing) this.#options.logger.info('writing sessions to the shared store again');
    this.#failing = false;
  }

  /** Tokens first (a record without its token cannot be resumed elsewhere), then the records. */
  async #writeUnsaved(): Promise<void> {
    let wrote = false;
    for (const [hash, sessionId] of [...this.#unsavedTokens]) {
      try {
        await this.#options.store.putToken(hash, sessionId, this.#options.ttlMs);
        this.#unsavedTokens.delete(hash);
        wrote = true;
      } catch (error) {
        this.#failed(error, 'resume token not written to the shared store; trying again');
        return;
      }
    }
    if (this.#changed.size > 0) await this.flush();
    else if (wrote) this.#succeeded();
  }

  /** A token this instance does not know: the session it names, if another instance issued it. */
  take(token: string): Promise<string | null> {
    return this.#options.store.takeToken(hashToken(token));
  }

  /** The session ended for good. */
  forget(session: Session): void {
    this.#changed.delete(session);
    for (const [hash, sessionId] of this.#unsavedTokens) if (sessionId === session.id) this.#unsavedTokens.delete(hash);
    void this.#options.store.forget(session.id).catch(() => {});
  }

  close(): void {
    clearImmediate(this.#pending);
    clearInterval(this.#refresh);
    clearTimeout(this.#retry);
  }

  recordOf(session: Session): SessionRecord {
    const pair = session.pair;
    const partner = pair?.other(session);
    return {
      id: session.id,
      instance: this.#options.instance,
      openedAt: session.openedAt,
      identity: { ...session.identity, keys: [...session.identity.keys] },
      country: session.country,
      preferences: session.preferences,
      rulesAccepted: session.rulesAccepted,
      blockedKeys: [...session.blockedKeys],
      matchCount: session.matchCount,
      wantsMatch: session.wantsMatch,
      searchingSince: session.searchingSince,
      mediaMode: session.mediaMode,
      textReason: session.textReason ?? null,
      tracks: session.tracks,
      producing: session.media.producers.length > 0,
      pair:
        pair && partner
          ? {
              id: pair.id,
              createdAt: pair.createdAt,
              partner: {
                id: partner.id,
                instance: partner instanceof RemotePartner ? partner.instance : this.#options.instance,
                person: personOf(partner),
                keys: [...partner.identity.keys],
                media: partner.mediaMode,
              },
            }
          : null,
    };
  }
}

/** Sets a session taken over from another instance as its record left it (the pair apart). */
export function restoreSession(session: Session, record: SessionRecord): void {
  if (record.openedAt !== undefined) session.openedAt = record.openedAt;
  session.country = record.country;
  session.preferences = record.preferences;
  session.rulesAccepted = record.rulesAccepted;
  session.blockedKeys = new Set(record.blockedKeys);
  session.matchCount = record.matchCount;
  session.wantsMatch = record.wantsMatch;
  session.searchingSince = record.searchingSince;
  session.mediaMode = record.mediaMode;
  session.textReason = record.textReason ?? undefined;
  session.tracks = record.tracks;
}
