import { describe, expect, it, vi } from 'vitest';
import { createLogger } from '../../logger.js';
import type { MeetopiaRedis } from './connection.js';
import { WriteBacklog } from './WriteBacklog.js';

describe('WriteBacklog', () => {
  it('keeps writes made while Redis is away and replays them in order once it is back', async () => {
    vi.useFakeTimers();
    const redis = { isReady: false } as MeetopiaRedis;
    const backlog = new WriteBacklog(redis, createLogger('silent'), 'test write');
    const written: string[] = [];
    const write = (name: string) => async () => {
      if (!redis.isReady) throw new Error('offline');
      written.push(name);
    };
    await backlog.run(write('a'));
    // Redis is back for the next one, but it must not overtake the one kept before it.
    (redis as { isReady: boolean }).isReady = true;
    await backlog.run(write('b'));
    expect(written).toEqual([]);
    await vi.advanceTimersByTimeAsync(600);
    expect(written).toEqual(['a', 'b']);
    await backlog.run(write('c'));
    expect(written).toEqual(['a', 'b', 'c']);
    backlog.close();
    vi.useRealTimers();
  });
});
