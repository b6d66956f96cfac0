/**
 * Smart matching against first come, first served, on one simulated hour: 10,000 users arrive,
 * talk for a random while, press Next, and leave after a random session. Interests follow a
 * skewed (Zipf) popularity, countries and languages are weighted. The real `Matcher` runs with a
 * fake clock, one round every 100 ms (the server runs a round on each arrival and at the next
 * widening, so this is coarser than production). Then one round's CPU with 10,000 waiting.
 * Usage: npx tsx bench/matching.ts [users=10000] [--round-only]
 *   ROUND_BUDGET=n, CANDIDATE_LIMIT=n: the matcher's limits, to try others than the defaults.
 *   The server's V8 settings: node --max-semi-space-size=2 --heap-growing-percent=50 --import tsx bench/matching.ts
 */
import { PerformanceObserver, performance } from 'node:perf_hooks';
import { Matcher, type RoundResult } from '../server/src/matchmaking/Matcher.js';
import { defaultRelaxation } from '../server/src/matchmaking/relaxation.js';
import { type MatchTicket, scorePair } from '../server/src/matchmaking/score.js';
import { percentile } from './lib/stats.js';

const roundOnly = process.argv.includes('--round-only');
const USERS = Number(process.argv.slice(2).find((arg) => !arg.startsWith('--')) ?? 10_000);
const HOUR_MS = 3_600_000;
const TICK_MS = 100;
const LIMIT_MS = 8000;
const SKIP_COOLDOWN_MS = 10_000;

/** A seeded generator (mulberry32): the same run every time. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function weighted<T>(rand: () => number, items: ReadonlyArray<readonly [T, number]>): T {
  const total = items.reduce((sum, [, weight]) => sum + weight, 0);
  let pick = rand() * total;
  for (const [item, weight] of items) {
    pick -= weight;
    if (pick <= 0) return item;
  }
  return items[items.length - 1]?.[0] as T;
}

const exponential = (rand: () => number, mean: number) => -Math.log(1 - rand()) * mean;

const INTERESTS = Array.from({ length: 300 }, (_, i) => `interest-${i}`);
/** Zipf (s = 1.1): a few interests are very popular, most are rare. */
const ZIPF = INTERESTS.map((interest, i) => [interest, 1 / (i + 1) ** 1.1] as const);
const COUNTRIES = [
  ['US', 25, 'en'],
  ['DE', 12, 'de'],
  ['GB', 10, 'en'],
  ['BR', 10, 'pt'],
  ['IN', 10, 'en'],
  ['FR', 8, 'fr'],
  ['ES', 6, 'es'],
  ['MX', 5, 'es'],
  ['PL', 4, 'pl'],
  ['JP', 4, 'ja'],
  ['NL', 3, 'nl'],
  ['SE', 3, 'sv'],
] as const;

type Person = {
  id: string;
  ticket: Omit<MatchTicket, 'since' | 'priority' | 'newcomer' | 'id'>;
  leavesAt: number;
  matches: number;
};

function people(seed: number): Array<{ at: number; person: Person }> {
  const rand = random(seed);
  return Array.from({ length: USERS }, (_, i) => {
    const [country, , language] = weighted(
      rand,
      COUNTRIES.map((entry) => [entry, entry[1]] as const),
    );
    const count = weighted(rand, [
      [0, 30],
      [1, 25],
      [2, 20],
      [3, 15],
      [5, 10],
    ] as const);
    const interests = new Set<string>();
    while (interests.size < count) interests.add(weighted(rand, ZIPF));
    const at = rand() * (HOUR_MS - 600_000);
    const textOnly = rand() < 0.05;
    const person: Person = {
      id: `u${i}`,
      ticket: {
        keys: [`d:u${i}`],
        person: `d:u${i}`,
        interests: [...interests],
        language: rand() < 0.85 ? language : 'en',
        country: rand() < 0.95 ? country : null,
        countryPreference: rand() < 0.2 ? 'same' : 'any',
        textOnly,
        media: textOnly ? 'text' : 'video',
        network: weighted(rand, [
          ['good', 70],
          ['fair', 20],
          ['poor', 10],
        ] as const),
        relayed: rand() < 0.1,
        blocked: new Set(),
        location: { worker: String(Math.floor(rand() * 2)) },
      },
      leavesAt: at + exponential(rand, 600_000) + 30_000,
      matches: 0,
    };
    return { at, person };
  });
}

/**
 * A round, then at once (same clock) another while the last one left users over its budget: what
 * the server's queue does (its timer fires after 1 ms, so other work runs in between).
 */
function* roundsDue(matcher: Matcher, now: number): Generator<RoundResult> {
  do yield matcher.round();
  while ((matcher.nextEventAt() ?? Number.POSITIVE_INFINITY) <= now);
}

/** The real matcher with the server's defaults, on a fake clock. */
function matcherOn(clock: { now: number }, limitMs: number): Matcher {
  return new Matcher({
    now: () => clock.now,
    limitMs,
    ...defaultRelaxation,
    recentPartners: 3,
    recentWindowMs: 600_000,
    skipCooldownMs: SKIP_COOLDOWN_MS,
    ...(process.env.ROUND_BUDGET ? { roundBudget: Number(process.env.ROUND_BUDGET) } : {}),
    ...(process.env.CANDIDATE_LIMIT ? { candidateLimit: Number(process.env.CANDIDATE_LIMIT) } : {}),
  });
}

type RunResult = {
  waits: number[];
  matches: number;
  sharedInterest: number;
  /** Matches where both listed interests: the ones a shared interest is possible for. */
  bothListed: number;
  sameCountry: number;
  sameCountryAsked: number;
  askedCountry: number;
  /** Users who waited past the limit plus one round while someone they may meet was waiting too. */
  missed: number;
};

/**
 * One simulated hour. `pick` forms the round's pairs: the real matcher, or plain FIFO.
 * Conversations last an exponential 60 s (at least 5 s); then one side presses Next and both wait again.
 */
function simulate(kind: 'smart' | 'fifo' | 'unlimited', seed: number): RunResult {
  const clock = { now: 0 };
  const limitMs = kind === 'unlimited' ? HOUR_MS * 10 : LIMIT_MS;
  const matcher = matcherOn(clock, limitMs);
  const fifo: Array<{ ticket: MatchTicket }> = [];
  const rand = random(seed + 1);
  const arrivals = people(seed).sort((a, b) => a.at - b.at);
  const byId = new Map(arrivals.map(({ person }) => [person.id, person]));
  /** Conversations in progress: when they end. */
  const talking: Array<{ endsAt: number; a: string; b: string }> = [];
  const waitingSince = new Map<string, number>();
  const result: RunResult = {
    waits: [],
    matches: 0,
    sharedInterest: 0,
    bothListed: 0,
    sameCountry: 0,
    sameCountryAsked: 0,
    askedCountry: 0,
    missed: 0,
  };
  /** When two last parted (a skip keeps them apart for the cooldown whatever happens). */
  const partedAt = new Map<string, number>();
  const mayMeet = (a: string, b: string) =>
    (partedAt.get(`${a}|${b}`) ?? Number.NEGATIVE_INFINITY) <= clock.now - SKIP_COOLDOWN_MS;

  const enqueue = (person: Person, priority: boolean) => {
    if (clock.now >= person.leavesAt) return;
    const ticket: MatchTicket = {
      ...person.ticket,
      id: person.id,
      since: clock.now,
      priority,
      newcomer: person.matches === 0,
    };
    waitingSince.set(person.id, clock.now);
    if (kind === 'fifo') fifo.push({ ticket });
    else matcher.enqueue(ticket);
  };
  const paired = (a: MatchTicket, b: MatchTicket) => {
    for (const ticket of [a, b]) {
      result.waits.push(clock.now - (waitingSince.get(ticket.id) ?? clock.now));
      waitingSince.delete(ticket.id);
      const person = byId.get(ticket.id);
      if (person) person.matches += 1;
    }
    const scored = scorePair(a, b);
    result.matches += 1;
    if (a.interests.length > 0 && b.interests.length > 0) result.bothListed += 1;
    if (scored.sharedInterests.length > 0) result.sharedInterest += 1;
    if (scored.sameCountry !== null) result.sameCountry += 1;
    if (a.countryPreference === 'same' || b.countryPreference === 'same') {
      result.askedCountry += 1;
      if (scored.sameCountry !== null) result.sameCountryAsked += 1;
    }
    talking.push({ endsAt: clock.now + Math.max(5000, exponential(rand, 60_000)), a: a.id, b: b.id });
  };

  let next = 0;
  for (clock.now = 0; clock.now < HOUR_MS; clock.now += TICK_MS) {
    while (next < arrivals.length && (arrivals[next]?.at ?? Number.POSITIVE_INFINITY) <= clock.now) {
      enqueue((arrivals[next] as { person: Person }).person, false);
      next += 1;
    }
    for (let i = talking.length - 1; i >= 0; i -= 1) {
      const talk = talking[i] as { endsAt: number; a: string; b: string };
      if (talk.endsAt > clock.now) continue;
      talking.splice(i, 1);
      if (kind !== 'fifo') matcher.parted(`d:${talk.a}`, `d:${talk.b}`, { skipped: true });
      partedAt.set(`${talk.a}|${talk.b}`, clock.now);
      partedAt.set(`${talk.b}|${talk.a}`, clock.now);
      enqueue(byId.get(talk.a) as Person, true);
      enqueue(byId.get(talk.b) as Person, true);
    }
    // Users whose session is over leave the queue.
    for (const [id] of waitingSince) {
      if ((byId.get(id)?.leavesAt ?? 0) > clock.now) continue;
      waitingSince.delete(id);
      if (kind === 'fifo') fifo.splice(fifo.findIndex((entry) => entry.ticket.id === id) >>> 0, 1);
      else matcher.remove(id);
    }
    if (kind === 'fifo') {
      while (fifo.length >= 2) {
        const [a, b] = fifo.splice(0, 2) as [{ ticket: MatchTicket }, { ticket: MatchTicket }];
        paired(a.ticket, b.ticket);
      }
    } else {
      for (const round of roundsDue(matcher, clock.now)) for (const pair of round.pairs) paired(pair.a, pair.b);
      // The guarantee: nobody who could be paired waits past the limit plus one round.
      for (const [id, since] of waitingSince) {
        if (clock.now - since !== limitMs + TICK_MS) continue;
        for (const other of waitingSince.keys()) {
          if (other === id || !mayMeet(id, other)) continue;
          result.missed += 1;
          break;
        }
      }
    }
  }
  return result;
}

function describe(name: string, run: RunResult): Record<string, string | number> {
  const share = (part: number, whole: number) => (whole === 0 ? 'n/a' : `${((100 * part) / whole).toFixed(1)} %`);
  return {
    run: name,
    matches: run.matches,
    'wait p50 ms': percentile(run.waits, 50),
    'wait p95 ms': percentile(run.waits, 95),
    'wait p99 ms': percentile(run.waits, 99),
    'wait max ms': Math.max(...run.waits),
    'shared interest (both listed)': share(run.sharedInterest, run.bothListed),
    'same country': share(run.sameCountry, run.matches),
    'same country when asked': share(run.sameCountryAsked, run.askedCountry),
  };
}

/**
 * One round's CPU with 10,000 waiting: a full queue (strong searches on rare interests) plus new
 * arrivals. Returns each round's start and length (ms, `performance.now()` time).
 */
function roundCost(): Array<[number, number]> {
  const clock = { now: 1_000_000 };
  const matcher = matcherOn(clock, LIMIT_MS);
  const population = people(7).map(({ person }) => person);
  const ticket = (person: Person, i: number, since: number): MatchTicket => ({
    ...person.ticket,
    id: `${person.id}-${i}`,
    // Everyone picky, on an interest nobody else has: they wait until their search widens, so
    // the queue stays full. The churn needed to keep 10,000 waiting (~2,000 arrivals a second)
    // is the heavy part: each arrival and each widening search is a user the round considers.
    interests: [`rare-${i}`],
    since,
    priority: false,
    newcomer: false,
  });
  let n = 0;
  // 10,000 waiting, their searches spread over the last 4 s (so some widen in every round).
  while (matcher.size < 10_000) {
    const person = population[n % population.length] as Person;
    matcher.enqueue(ticket(person, n, clock.now - Math.floor(Math.random() * (LIMIT_MS / 2))));
    n += 1;
  }
  // The first rounds share out the 10,000 users who joined at once (as after a leader's
  // restart); what follows is the steady state measured here.
  for (const _ of roundsDue(matcher, clock.now));
  const times: Array<[number, number]> = [];
  const tickTimes: number[] = [];
  const roundsPerTick: number[] = [];
  const considered: number[] = [];
  let deferred = 0;
  for (let tick = 0; tick < 2000; tick += 1) {
    clock.now += TICK_MS;
    // Arrivals: the queue refilled to 10,000 (at least 3 a round, the simulated hour's peak rate).
    let arrived = 0;
    for (let i = 0; i < 3 || matcher.size < 10_000; i += 1) {
      arrived += 1;
      const person = population[n % population.length] as Person;
      matcher.enqueue(ticket(person, n, clock.now));
      n += 1;
    }
    let paired = 0;
    let rounds = 0;
    let tickMs = 0;
    const due = roundsDue(matcher, clock.now);
    for (;;) {
      const started = performance.now();
      const step = due.next();
      const ms = performance.now() - started;
      if (step.done) break;
      times.push([started, ms]);
      tickMs += ms;
      rounds += 1;
      paired += step.value.pairs.length;
      deferred += step.value.deferred;
    }
    tickTimes.push(tickMs);
    roundsPerTick.push(rounds);
    considered.push(arrived + paired);
  }
  console.log(`ticks of 100 ms with 10,000 waiting: ${percentile(considered, 50)} arrivals and pairs per tick (p50)`);
  console.log(
    `rounds per tick p50 ${percentile(roundsPerTick, 50)}, max ${Math.max(...roundsPerTick)}; users left for a follow-up round: ${deferred}; all rounds of a tick together p50 ${percentile(tickTimes, 50).toFixed(2)} ms, p99 ${percentile(tickTimes, 99).toFixed(2)} ms`,
  );
  return times;
}

const started = Date.now();
if (!roundOnly) simulation();

function simulation(): void {
  const smart = simulate('smart', 42);
  const fifo = simulate('fifo', 42);
  const unlimited = simulate('unlimited', 42);
  console.table([
    describe('smart (limit 8 s)', smart),
    describe('first come, first served', fifo),
    describe('greedy, no limit', unlimited),
  ]);
  const best = unlimited.sharedInterest / Math.max(1, unlimited.bothListed);
  const ours = smart.sharedInterest / Math.max(1, smart.bothListed);
  console.log(`shared-interest share against the greedy best: ${((100 * ours) / best).toFixed(1)} %`);
  console.log(
    `waits over the limit plus one round (${LIMIT_MS + TICK_MS} ms): ${smart.waits.filter((w) => w > LIMIT_MS + TICK_MS).length}, of them with someone they may meet waiting too: ${smart.missed}`,
  );
}
// Garbage-collector pauses, to tell the matcher's own time from the heap's.
const pauses: Array<[number, number]> = [];
const gcObserver = new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) pauses.push([entry.startTime, entry.startTime + entry.duration]);
});
gcObserver.observe({ entryTypes: ['gc'] });
const rounds = roundCost();
await new Promise((resolve) => setTimeout(resolve, 50));
gcObserver.disconnect();
const roundFigures = (times: number[]) =>
  `p50 ${percentile(times, 50).toFixed(2)} ms, p99 ${percentile(times, 99).toFixed(2)} ms, max ${Math.max(...times).toFixed(2)} ms over ${times.length} rounds`;
console.log(`one round with 10,000 waiting: ${roundFigures(rounds.map(([, ms]) => ms))}`);
const withoutPause = rounds.filter(([start, ms]) => !pauses.some(([from, to]) => from < start + ms && to > start));
console.log(
  `  the rounds no garbage collection paused (${pauses.length} pauses in the run): ${roundFigures(withoutPause.map(([, ms]) => ms))}`,
);
console.log(`simulated in ${((Date.now() - started) / 1000).toFixed(1)} s`);
