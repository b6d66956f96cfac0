import type { Logger } from '../logger.js';
import type { SessionRecord, SessionStore } from '../store/SessionStore.js';
import { personOf } from './Pair.js';
import { RemotePartner } from './RemotePartner.js';
import { hashToken } from './ResumeTokens.js';
import type { Session } from './Session.js';

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
 * again at a third of the record's lifetime.
 */
export class SessionSync {
  readonly #options: SessionSyncOptions;
  readonly #changed = new Set<Session>();
  /** The write of the changes of this turn of the event loop, once scheduled. */
  #pending: NodeJS.Immediate | undefined;
  readonly #refresh: NodeJS.Timeout;

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
    const records = [...this.#changed].filter((each) => !each.closed).map((each) => this.recordOf(each));
    this.#changed.clear();
    try {
      await this.#options.store.save(records, this.#options.ttlMs);
    } catch (error) {
      this.#options.logger.warn({ err: error, sessions: records.length }, 'sessions not written to the shared store');
    }
  }

  /** A resume token was issued: its hash names the session on every instance. */
  async issued(sessionId: string, token: string): Promise<void> {
    await this.#options.store.putToken(hashToken(token), sessionId, this.#options.ttlMs).catch((error: unknown) => {
      this.#options.logger.warn({ err: error }, 'resume token not written to the shared store');
    });
  }

  /** A token spent here: no other instance may spend it too. */
  spent(token: string): void {
    void this.#options.store.dropToken(hashToken(token)).catch(() => {});
  }

  /** A token this instance does not know: the session it names, if another instance issued it. */
  take(token: string): Promise<string | null> {
    return this.#options.store.takeToken(hashToken(token));
  }

  /** The session ended for good. */
  forget(session: Session): void {
    this.#changed.delete(session);
    void this.#options.store.forget(session.id).catch(() => {});
  }

  close(): void {
    clearImmediate(this.#pending);
    clearInterval(this.#refresh);
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
