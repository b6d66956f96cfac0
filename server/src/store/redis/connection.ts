import { createClient } from 'redis';
import { redactedRedisUrl } from '../../config/config.js';
import type { Logger } from '../../logger.js';

export type MeetopiaRedis = ReturnType<typeof newClient>;

/** Raised at start-up when Redis cannot be reached or refuses us: the server does not start. */
export class RedisUnavailableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'RedisUnavailableError';
  }
}

export type RedisConnectionOptions = {
  url: string;
  logger: Logger;
  /** How long start-up waits for the first connection. */
  connectTimeoutMs?: number;
};

/**
 * Connects to Redis once at start-up, failing fast with a message that names the server (never
 * its password). Afterwards a lost connection is retried for ever, backing off to 2 s, and
 * logged once per outage: calls made meanwhile fail (the callers decide what waits).
 */
export async function connectRedis(options: RedisConnectionOptions): Promise<MeetopiaRedis> {
  const where = redactedRedisUrl(options.url);
  let started = false;
  let down = false;
  const client = newClient(options.url, options.connectTimeoutMs ?? 5000, (retries, cause) =>
    started ? Math.min(100 * 2 ** retries, 2000) : cause,
  );
  client.on('error', (error: unknown) => {
    if (!started || down) return;
    down = true;
    options.logger.error({ redis: where, err: error }, 'Redis connection lost; retrying');
  });
  client.on('ready', () => {
    if (down) options.logger.info({ redis: where }, 'Redis connection back');
    down = false;
  });
  try {
    await client.connect();
    await client.ping();
  } catch (error) {
    client.destroy();
    const reason = error instanceof Error ? error.message : String(error);
    throw new RedisUnavailableError(`Redis at ${where} cannot be used: ${reason}`, { cause: error });
  }
  started = true;
  return client;
}

function newClient(
  url: string,
  connectTimeout: number,
  reconnectStrategy: (retries: number, cause: Error) => number | Error,
) {
  return createClient({
    url,
    // Calls fail at once while disconnected instead of piling up in memory.
    disableOfflineQueue: true,
    socket: { connectTimeout, reconnectStrategy },
  });
}
