import { pino } from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { UserMedia } from '../sfu/UserMedia.js';
import type { SessionRecord, SessionStore } from '../store/SessionStore.js';
import { Session } from './Session.js';
import { SessionSync } from './SessionSync.js';

/** A store that refuses every write while `away` (the Redis connection is down). */
function flakyStore() {
  const records = new Map<string, SessionRecord>();
  const tokens = new Map<string, string>();
  const state = { away: false };
  const reachable = async () => {
    if (state.away) throw new Error('The client is closed');
  };
  const store: SessionStore = {
    save: async (written) => {
      await reachable();
      for (const record of written) records.set(record.id, record);
    },
    load: async (id) => records.get(id) ?? null,
    forget: async (id) => {
      await reachable();
      records.delete(id);
    },
    putToken: async (hash, sessionId) => {
      await reachable();
      tokens.set(hash, sessionId);
    },
    takeToken: async (hash) => tokens.get(hash) ?? null,
    dropToken: async (hash) => {
      tokens.delete(hash);
    },
    addChat: async () => {},
    chat: async () => [],
    forgetChat: async () => {},
  };
  return { store, records, tokens, state };
}

function session(id: string): Session {
  const made = new Session(pino({ level: 'silent' }), { device: null, address: `a-${id}`, keys: [`a-${id}`] }, id);
  made.media = { producers: [] } as unknown as UserMedia;
  return made;
}

function syncOver(store: SessionStore, sessions: Session[] = []): SessionSync {
  return new SessionSync({
    store,
    instance: 'one',
    ttlMs: 120_000,
    logger: pino({ level: 'silent' }),
    sessions: () => sessions,
  });
}

describe('SessionSync', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('writes what it could not write while the store was away (records, token hashes) once it answers again', async () => {
    vi.useFakeTimers();
    const { store, records, tokens, state } = flakyStore();
    const alice = session('alice');
    const sync = syncOver(store, [alice]);
    state.away = true;
    alice.wantsMatch = true;
    await sync.flush(alice);
    await sync.issued('alice', 'token-issued-during-the-outage');
    expect(records.size).toBe(0);
    expect(tokens.size).toBe(0);

    // Still away a second later: nothing lost, nothing written.
    await vi.advanceTimersByTimeAsync(1000);
    expect(records.size).toBe(0);
    // Back: within a second both are there, the record as the session is now.
    alice.matchCount = 3;
    state.away = false;
    await vi.advanceTimersByTimeAsync(1000);
    expect(records.get('alice')).toMatchObject({ wantsMatch: true, matchCount: 3 });
    expect(await sync.take('token-issued-during-the-outage')).toBe('alice');
    sync.close();
  });

  it('a token spent or a session ended meanwhile is not written later', async () => {
    vi.useFakeTimers();
    const { store, tokens, state } = flakyStore();
    const carol = session('carol');
    const sync = syncOver(store);
    state.away = true;
    await sync.issued('bob', 'bob-token');
    await sync.issued('carol', 'carol-token');
    sync.spent('bob-token');
    sync.forget(carol);
    state.away = false;
    await vi.advanceTimersByTimeAsync(1000);
    expect(tokens.size).toBe(0);
    sync.close();
  });
});
