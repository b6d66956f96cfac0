import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createClient } from 'redis';
import { RedisServer } from './redisServer.js';

/**
 * The stores a suite runs against: the default (this process and SQLite in DATA_DIR) and Redis
 * (the real `redis-server`, one per test file, a key prefix per suite).
 */
export type StoreVariant = {
  readonly name: 'local' | 'redis';
  /** Server environment for this store (added to the suite's own). */
  env(): Record<string, string>;
  /** Everything the store holds, as text: to check what is (not) stored in clear. */
  contents(dataDir: string): Promise<string>;
};

let redis: RedisServer | undefined;
let suites = 0;

/** Starts Redis for the file (call from beforeAll); idempotent. */
export async function startRedis(): Promise<RedisServer> {
  redis ??= await RedisServer.start();
  return redis;
}

/** Stops the file's Redis (call from afterAll). */
export async function stopRedis(): Promise<void> {
  await redis?.destroy();
  redis = undefined;
}

export const localStore: StoreVariant = {
  name: 'local',
  env: () => ({}),
  contents: async (dataDir) =>
    ['safety.sqlite', 'safety.sqlite-wal']
      .map((file) => {
        try {
          return readFileSync(join(dataDir, file)).toString('latin1');
        } catch {
          return '';
        }
      })
      .join(''),
};

/** A Redis variant with a key prefix of its own (needs startRedis first). */
export function redisStore(): StoreVariant {
  suites += 1;
  const prefix = `test${suites}-${process.pid}:`;
  const started = () => {
    if (!redis) throw new Error('startRedis() first');
    return redis;
  };
  return {
    name: 'redis',
    env: () => started().env(prefix),
    contents: () => redisContents(started().url, prefix),
  };
}

/** Every key under `prefix` and its value, whatever its type. */
export async function redisContents(url: string, prefix: string): Promise<string> {
  const client = createClient({ url });
  await client.connect();
  try {
    const parts: string[] = [];
    for await (const keys of client.scanIterator({ MATCH: `${prefix}*`, COUNT: 1000 })) {
      for (const key of keys) {
        parts.push(key);
        const type = await client.type(key);
        if (type === 'string') parts.push(String(await client.get(key)));
        else if (type === 'hash') parts.push(JSON.stringify(await client.hGetAll(key)));
        else if (type === 'set') parts.push(...(await client.sMembers(key)));
        else if (type === 'zset') parts.push(...(await client.zRange(key, 0, -1)));
        else if (type === 'list') parts.push(...(await client.lRange(key, 0, -1)));
        else if (type === 'stream') parts.push(JSON.stringify(await client.xRange(key, '-', '+')));
      }
    }
    return parts.join('\n');
  } finally {
    await client.close();
  }
}
