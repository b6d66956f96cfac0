/**
 * Start → matched with an empty safety store and with 100,000 stored bans and 100,000 blocks
 * (other people's: every Start still looks its user up). The real server in this process (real
 * SQLite, real mediasoup workers), Node WebSocket clients, each pair from its own forwarded
 * address and device. Timed from the second user's Start to their `matched`.
 * Usage: npx tsx bench/safety.ts [pairs=300] [stored=100000]
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { SqliteSafetyStore } from '../server/src/safety/SqliteSafetyStore.js';
import { startTestServer } from '../test/helpers/inProcessServer.js';
import { TestClient } from '../test/helpers/wsClient.js';
import { percentile } from './lib/stats.js';

const pairs = Number(process.argv[2] ?? 300);
const stored = Number(process.argv[3] ?? 100_000);

/** A keyed hash as the server stores them (base64url, 22 characters): random, so nobody here matches. */
const hash = () => randomBytes(16).toString('base64url');

/** Fills the store the server will open with `count` bans in force and `count` blocks. */
async function seed(dataDir: string, count: number): Promise<void> {
  const file = join(dataDir, 'safety.sqlite');
  await SqliteSafetyStore.open(file).close(); // the schema, as the server makes it
  const db = new Database(file);
  const now = Date.now();
  const ban = db.prepare(
    'INSERT INTO bans (id, device, address, reason, created_at, until, by, level) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
  );
  const block = db.prepare('INSERT INTO blocks (at, a_device, a_address, b_device, b_address) VALUES (?, ?, ?, ?, ?)');
  db.transaction(() => {
    for (let i = 0; i < count; i += 1) {
      ban.run(randomUUID(), hash(), hash(), 'bench', now, now + 86_400_000, 'auto', 1);
      block.run(now, hash(), hash(), hash(), hash());
    }
  })();
  db.close();
}

async function measure(count: number): Promise<number[]> {
  const dataDir = mkdtempSync(join(tmpdir(), 'meetopia-bench-safety-'));
  if (count > 0) await seed(dataDir, count);
  const server = await startTestServer({ DATA_DIR: dataDir, TRUST_PROXY: 'true', SKIPS_PER_10_SECONDS: '1000' });
  const samples: number[] = [];
  try {
    for (let i = 0; i < pairs + 20; i += 1) {
      const join = (side: number) =>
        TestClient.join(server.wsUrl, undefined, {
          deviceId: `bench-${side}-${i}-${'x'.repeat(16)}`,
          headers: { 'x-forwarded-for': `10.${side}.${i >> 8}.${i & 255}` },
        });
      const [a, b] = await Promise.all([join(1), join(2)]);
      await a.request('start', {});
      await a.next('waiting');
      const started = performance.now();
      await b.request('start', {});
      await b.next('matched');
      // The first 20 warm the server up (JIT, SQLite page cache, workers' routers).
      if (i >= 20) samples.push(performance.now() - started);
      await Promise.all([a.close(), b.close()]);
    }
  } finally {
    await server.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
  return samples;
}

const line = (name: string, values: number[]) =>
  `${name}: n=${values.length} p50=${percentile(values, 50).toFixed(2)} ms p95=${percentile(values, 95).toFixed(2)} ms p99=${percentile(values, 99).toFixed(2)} ms max=${Math.max(...values).toFixed(2)} ms`;

const empty = await measure(0);
console.log(line('empty store', empty));
const full = await measure(stored);
console.log(line(`${stored.toLocaleString('en')} bans + ${stored.toLocaleString('en')} blocks`, full));
process.exit(0);
