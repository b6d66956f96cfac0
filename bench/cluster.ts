/**
 * Several built servers (`server/bin/meetopia`) sharing one real Redis behind Debian's nginx
 * running the deploy example (`deploy/nginx/meetopia-cluster.conf`, as it is: each user comes
 * from its own loopback address, which the example hashes on), with many text-mode users: they
 * join, start, and for a while each presses Next about once every `nextEveryMs`. Prints
 * back-in-the-queue → matched times (every `unmatched` to the next `matched`, both sides of every
 * Next), chat delivery, Redis commands per match, and each instance's users and RSS.
 * `instances=0` runs one server without Redis, for comparison; `direct` spreads the users over
 * the instances round-robin without nginx.
 * Usage: npm run build && npx tsx bench/cluster.ts [instances=3] [users=3000] [churnSeconds=60] [nextEveryMs=2000] [direct]
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createClient } from 'redis';
import { NginxServer } from '../test/helpers/nginx.js';
import { RedisServer } from '../test/helpers/redisServer.js';
import { getStatus, type ServerProcess, startServerProcess } from '../test/helpers/serverProcess.js';
import { LoadClient, loopbackAddress } from './lib/loadClient.js';
import { percentile, summary } from './lib/stats.js';

const instances = Number(process.argv[2] ?? 3);
const users = Number(process.argv[3] ?? 3000);
const churnSeconds = Number(process.argv[4] ?? 60);
const nextEveryMs = Number(process.argv[5] ?? 2000);
const direct = process.argv[6] === 'direct' || instances === 0;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const mb = (bytes: number) => `${(bytes / 1_048_576).toFixed(1)} MB`;
const rssOf = (pid: number) =>
  Number(readFileSync(`/proc/${pid}/status`, 'utf8').match(/^VmRSS:\s+(\d+) kB/m)?.[1] ?? Number.NaN) * 1024;
const withP99 = (name: string, values: number[]) =>
  `${summary(name, values)}${values.length ? ` p99=${Math.round(percentile(values, 99))} ms` : ''}`;

const redis = instances > 0 ? await RedisServer.start() : null;
const servers: ServerProcess[] = [];
const commandsProcessed = async (): Promise<number> => {
  if (!redis) return 0;
  const client = createClient({ url: redis.url });
  await client.connect();
  const info = await client.info('stats');
  await client.close();
  return Number(info.match(/total_commands_processed:(\d+)/)?.[1] ?? Number.NaN);
};

for (let i = 0; i < Math.max(1, instances); i += 1) {
  servers.push(
    await startServerProcess(`bench-cluster-${i}`, {
      MAX_CONNECTIONS_PER_IP: '20',
      MESSAGES_PER_SECOND_PER_IP: '100',
      REMATCH_COOLDOWN_MS: '0',
      RECENT_PARTNERS: '0',
      ...(redis ? { ...redis.env('meetopia:'), INSTANCE_ID: `bench-${i}` } : {}),
      // Behind nginx: the client's address from X-Forwarded-For (per-address limits).
      ...(direct ? {} : { TRUST_PROXY: 'true' }),
    }),
  );
}
const nginx = direct
  ? null
  : await NginxServer.start(
      join(import.meta.dirname, '../deploy/nginx/meetopia-cluster.conf'),
      servers.map((server) => server.port),
      undefined,
      2 * users + 512,
    );

try {
  await sleep(3000);
  const clients: LoadClient[] = [];
  const backInQueue = new Map<LoadClient, number>();
  const toMatched: number[] = [];
  const chatDelivery: number[] = [];
  let matches = 0;
  for (let i = 0; i < users; i += 100) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(100, users - i) }, (_, k) => {
        const n = i + k;
        const url = nginx?.url ?? (servers[n % servers.length] as ServerProcess).url;
        return LoadClient.join(`${url.replace(/^http/, 'ws')}/ws`, loopbackAddress(n));
      }),
    );
    for (const client of batch) {
      client.on('matched', () => {
        matches += 1;
        const since = backInQueue.get(client);
        if (since !== undefined) toMatched.push(performance.now() - since);
        backInQueue.delete(client);
      });
      client.on('unmatched', () => backInQueue.set(client, performance.now()));
      client.on('chat', (message) => {
        if (message.type !== 'chat' || message.message.from !== 'peer') return;
        const sent = Number(message.message.text.split(' ')[1]);
        if (Number.isFinite(sent)) chatDelivery.push(performance.now() - sent);
      });
      clients.push(client);
    }
  }
  for (const client of clients) void client.request('start', {});
  const deadline = Date.now() + 60_000;
  while (clients.some((client) => client.pairId === null) && Date.now() < deadline) await sleep(200);
  console.log(`${clients.filter((client) => client.pairId !== null).length} of ${users} paired at start`);

  const commandsBefore = await commandsProcessed();
  const matchesBefore = matches;
  const churnStarted = Date.now();
  const timers = clients.map((client) =>
    setInterval(() => {
      setTimeout(() => {
        if (!client.pairId) return;
        const pairId = client.pairId;
        void client
          .request('chat', { pairId, text: `sent ${performance.now()}`, clientMessageId: `${Date.now()}` })
          .catch(() => undefined)
          .then(() => client.request('next', {}))
          .catch(() => undefined);
      }, Math.random() * nextEveryMs);
    }, nextEveryMs),
  );
  while (Date.now() - churnStarted < churnSeconds * 1000) await sleep(1000);
  for (const timer of timers) clearInterval(timer);
  await sleep(3000);
  const churnMatches = matches - matchesBefore;
  const commands = (await commandsProcessed()) - commandsBefore;

  console.log(
    `${servers.length} instance(s)${redis ? ' sharing Redis' : ', no Redis'}${nginx ? ' behind nginx' : ''}, ${users} users, ${churnSeconds} s of Next about every ${nextEveryMs} ms`,
  );
  console.log(`  ${withP99('back in the queue → matched', toMatched)}`);
  console.log(`  ${withP99('chat delivery', chatDelivery)}`);
  console.log(`  matches during churn: ${churnMatches / 2} pairs (${(churnMatches / 2 / churnSeconds).toFixed(0)}/s)`);
  if (redis) console.log(`  Redis commands per pair formed: ${(commands / (churnMatches / 2)).toFixed(1)}`);
  for (const [i, server] of servers.entries()) {
    const { connections } = await getStatus(server.url);
    console.log(`  instance ${i}: ${connections.active} users, rss ${mb(rssOf(server.child.pid ?? 0))}`);
  }
  await Promise.all(clients.map((client) => client.close()));
} finally {
  await nginx?.stop();
  for (const server of servers) await server.stop();
  await redis?.destroy();
}
console.log(`\nbuilt server, Node ${process.version}, ${new Date().toISOString()}`);
