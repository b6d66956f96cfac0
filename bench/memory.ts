/**
 * Memory of the built server (`server/bin/meetopia`, what `npm start` runs) with many
 * text-mode users: idle, then `users` joined (each from its own loopback address, so per-address
 * limits see different people), matched and chatting, then a minute of everyone pressing Next
 * about once every `nextEveryMs`, then after everyone has left. RSS from /proc (the Node process
 * only: mediasoup workers are separate processes and listed apart), heap from /metrics.
 * The server runs with the launcher's V8 settings; MEETOPIA_NODE_FLAGS='' runs it with Node's defaults.
 * Usage: npm run build && npx tsx bench/memory.ts [users=1000] [churnSeconds=60] [nextEveryMs=1000]
 */
import { readFileSync } from 'node:fs';
import { ErrorReply } from '../test/helpers/pendingRequests.js';
import { startServerProcess } from '../test/helpers/serverProcess.js';
import { LoadClient, loopbackAddress } from './lib/loadClient.js';
import { summary } from './lib/stats.js';

const users = Number(process.argv[2] ?? 1000);
const churnSeconds = Number(process.argv[3] ?? 60);
const nextEveryMs = Number(process.argv[4] ?? 1000);
const METRICS_TOKEN = 'bench-memory-metrics-token';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const mb = (bytes: number) => `${(bytes / 1_048_576).toFixed(1)} MB`;

/** Resident memory of a process, bytes (VmRSS). */
function rssOf(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').match(/^VmRSS:\s+(\d+) kB/m);
  return line ? Number(line[1]) * 1024 : Number.NaN;
}

/**
 * Where resident memory sits: pages of mapped files (the node binary and native addons: shared,
 * clean), the main malloc arena ([heap]) and other anonymous memory (V8's heap, thread arenas).
 */
function rssBreakdown(pid: number): { files: number; mallocMain: number; anonymous: number } {
  const totals = { files: 0, mallocMain: 0, anonymous: 0 };
  let kind: keyof typeof totals = 'anonymous';
  for (const line of readFileSync(`/proc/${pid}/smaps`, 'utf8').split('\n')) {
    const mapping = line.match(/^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \S+\s*(.*)$/);
    if (mapping) {
      const name = mapping[1] ?? '';
      kind = name === '[heap]' ? 'mallocMain' : name.startsWith('/') ? 'files' : 'anonymous';
      continue;
    }
    const rss = line.match(/^Rss:\s+(\d+) kB/);
    if (rss) totals[kind] += Number(rss[1]) * 1024;
  }
  return totals;
}

// Production settings, except the cooldown that would keep a small crowd apart after each Next.
const server = await startServerProcess('bench-memory', {
  LOG_LEVEL: 'info',
  METRICS_TOKEN,
  MAX_CONNECTIONS_PER_IP: '20',
  MESSAGES_PER_SECOND_PER_IP: '100',
  REMATCH_COOLDOWN_MS: '0',
  RECENT_PARTNERS: '0',
});
const pid = server.child.pid ?? 0;
const wsUrl = `${server.url.replace(/^http/, 'ws')}/ws`;

async function heap(): Promise<{ used: number; total: number; external: number; workers: number }> {
  const text = await (
    await fetch(`${server.url}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } })
  ).text();
  const value = (name: string) => Number(text.match(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm'))?.[1]);
  const workers = [...text.matchAll(/^meetopia_worker_max_rss_bytes\{[^}]*\} (\S+)$/gm)].reduce(
    (sum, match) => sum + Number(match[1]),
    0,
  );
  return {
    used: value('nodejs_heap_size_used_bytes'),
    total: value('nodejs_heap_size_total_bytes'),
    external: value('nodejs_external_memory_bytes'),
    workers,
  };
}

/**
 * With MEMORY_SNAPSHOT=1 (and --heapsnapshot-signal=SIGUSR2 in MEETOPIA_NODE_FLAGS), a heap snapshot of
 * the server (in the repository root, for Chromium's memory tool) after the matched step, halfway
 * through the churn and after the all-left step. A snapshot starts with a full collection: the sample after it shows what is kept.
 */
async function heapSnapshot(step: string): Promise<void> {
  if (!process.env.MEMORY_SNAPSHOT) return;
  process.kill(pid, 'SIGUSR2');
  await sleep(15_000);
  await sample(`${step}, after a full GC`);
}

const rows: Array<{ step: string; rss: number; heapUsed: number; heapTotal: number; external: number }> = [];
let idleRss = 0;
async function sample(step: string): Promise<number> {
  const figures = await heap();
  const rss = rssOf(pid);
  const where = rssBreakdown(pid);
  rows.push({ step, rss, heapUsed: figures.used, heapTotal: figures.total, external: figures.external });
  const perUser = step === 'idle' ? '' : `  (+${((rss - idleRss) / 1024 / users).toFixed(1)} KB per user over idle)`;
  console.log(
    `${step.padEnd(34)} rss ${mb(rss).padStart(9)}  heap ${mb(figures.used)} / ${mb(figures.total)}  external ${mb(figures.external)}${perUser}`,
  );
  console.log(
    `${''.padEnd(34)} (files ${mb(where.files)}, malloc main arena ${mb(where.mallocMain)}, other anonymous ${mb(where.anonymous)})`,
  );
  return rss;
}

try {
  await sleep(3000);
  idleRss = await sample('idle');
  console.log(`  mediasoup workers (separate processes): peak rss ${mb((await heap()).workers)} together`);

  // Join in batches: a real crowd does not open 10,000 sockets in the same millisecond.
  const clients: LoadClient[] = [];
  let matched = 0;
  const joinStarted = Date.now();
  for (let i = 0; i < users; i += 100) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(100, users - i) }, (_, k) => LoadClient.join(wsUrl, loopbackAddress(i + k))),
    );
    for (const client of batch) {
      client.on('matched', () => {
        matched += 1;
      });
      clients.push(client);
    }
  }
  console.log(`${users} users joined in ${((Date.now() - joinStarted) / 1000).toFixed(1)} s`);
  await sample(`${users} joined, not started`);

  for (const client of clients) void client.request('start', {});
  const deadline = Date.now() + 60_000;
  while (clients.some((client) => client.pairId === null) && Date.now() < deadline) await sleep(200);
  console.log(`${clients.filter((client) => client.pairId !== null).length} of ${users} paired`);

  // Each pair exchanges a few lines (chat history is per-conversation state the server keeps).
  await Promise.all(
    clients.map(async (client) => {
      for (let k = 0; k < 5 && client.pairId; k += 1) {
        await client
          .request('chat', { pairId: client.pairId, text: `hello number ${k}`, clientMessageId: `m${k}` })
          .catch(() => undefined);
      }
    }),
  );
  await sleep(2000);
  await sample(`${users} matched, 10 lines each pair`);
  await heapSnapshot('matched');

  // Churn: every user presses Next at a random moment in each interval.
  const churnStarted = Date.now();
  let nexts = 0;
  const refused = new Map<string, number>();
  const nextReplies: number[] = [];
  let peak = 0;
  const timers = clients.map((client) =>
    setInterval(() => {
      setTimeout(() => {
        nexts += 1;
        const sent = performance.now();
        client.request('next', {}).then(
          () => nextReplies.push(performance.now() - sent),
          (error: Error) => {
            const code = error instanceof ErrorReply ? error.code : error.message;
            refused.set(code, (refused.get(code) ?? 0) + 1);
          },
        );
      }, Math.random() * nextEveryMs);
    }, nextEveryMs),
  );
  const churnSamples: number[] = [];
  let snapshotTaken = false;
  while (Date.now() - churnStarted < churnSeconds * 1000) {
    await sleep(5000);
    // Halfway: what the churn keeps alive (the snapshot's full collection drops the garbage).
    if (process.env.MEMORY_SNAPSHOT && !snapshotTaken && Date.now() - churnStarted > (churnSeconds * 1000) / 2) {
      snapshotTaken = true;
      process.kill(pid, 'SIGUSR2');
      continue;
    }
    const rss = rssOf(pid);
    churnSamples.push(rss);
    peak = Math.max(peak, rss);
  }
  for (const timer of timers) clearInterval(timer);
  const matchesBefore = matched;
  await sleep(nextEveryMs + 2000);
  const churnRss = await sample(`after ${churnSeconds} s of Next`);
  console.log(
    `  Next pressed ${nexts} times (${(nexts / churnSeconds).toFixed(0)}/s; refused: ${JSON.stringify(Object.fromEntries(refused))}), ${matchesBefore} matches so far`,
  );
  console.log(`  ${summary('Next reply time', nextReplies)}`);
  const first = churnSamples[0] ?? churnRss;
  const last = churnSamples.at(-1) ?? churnRss;
  console.log(
    `  rss during churn: first ${mb(first)}, last ${mb(last)}, peak ${mb(peak)} (growth first→last ${mb(last - first)})`,
  );

  await Promise.all(clients.map((client) => client.close()));
  await sleep(5000);
  await sample('all left (5 s later)');
  await heapSnapshot('all left');
} finally {
  await server.stop();
}

console.log(`\nbuilt server, ${users} text-mode users, Node ${process.version}, ${new Date().toISOString()}`);
console.log('| step | RSS | heap used | heap total | external |');
console.log('|---|---|---|---|---|');
for (const row of rows) {
  console.log(`| ${row.step} | ${mb(row.rss)} | ${mb(row.heapUsed)} | ${mb(row.heapTotal)} | ${mb(row.external)} |`);
}
