import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RelayMessage, RelayTimeoutError } from '../../server/src/store/InstanceRelay.js';
import { connectRedis, type MeetopiaRedis } from '../../server/src/store/redis/connection.js';
import { RedisInstanceInbox } from '../../server/src/store/redis/RedisInstanceInbox.js';
import { RedisServer } from '../helpers/redisServer.js';
import { waitFor } from '../helpers/wait.js';

/** Two instances' inboxes on a real Redis: requests, answers, and answers that come too late. */
describe('RedisInstanceInbox', () => {
  let redis: RedisServer;
  let client: MeetopiaRedis;
  let one: RedisInstanceInbox;
  let two: RedisInstanceInbox;

  beforeAll(async () => {
    redis = await RedisServer.start();
    const logger = pino({ level: 'silent' });
    client = await connectRedis({ url: redis.url, logger });
    const inbox = (self: string) =>
      new RedisInstanceInbox({
        redis: client,
        prefix: `inbox-${process.pid}:`,
        self,
        logger,
        alive: async (ids) => new Set(ids),
      });
    one = inbox('one');
    two = inbox('two');
    await Promise.all([one.start(), two.start()]);
    // Instance two answers `slow` after 400 ms, and notes every `undo` it is sent.
    two.onMessage((message) => {
      if (message.type === 'slow') {
        return new Promise<RelayMessage>((resolve) =>
          setTimeout(() => resolve({ type: 'done', made: 'thing-1' }), 400),
        );
      }
      if (message.type === 'quick') return Promise.resolve({ type: 'done', made: 'thing-0' });
      return undefined;
    });
  });
  afterAll(async () => {
    one?.close();
    two?.close();
    await client?.quit().catch(() => {});
    await redis?.destroy();
  });

  it('answers a request in time', async () => {
    await expect(one.request('two', { type: 'quick' }, 2000)).resolves.toMatchObject({ made: 'thing-0' });
  });

  it('a request answered after its timeout fails with RelayTimeoutError, and the late answer reaches onLate', async () => {
    const late: RelayMessage[] = [];
    await expect(one.request('two', { type: 'slow' }, 100, (reply) => late.push(reply))).rejects.toBeInstanceOf(
      RelayTimeoutError,
    );
    const { value } = await waitFor(
      async () => late,
      (seen) => seen.length === 1,
      3000,
      'the late answer',
    );
    expect(value[0]).toMatchObject({ type: 'done', made: 'thing-1' });
    // Without onLate the late answer is dropped.
    await expect(one.request('two', { type: 'slow' }, 100)).rejects.toBeInstanceOf(RelayTimeoutError);
  });
});
