/**
 * The waiting users and who may meet whom: pure logic, no I/O, time from the injected clock.
 * Pairs form only in `round()`, which the caller runs when someone joins and when `nextEventAt()`
 * says a search widens.
 *
 * Rules:
 * - pairs are chosen by `scorePair` among the candidates a user accepts at their search stage
 *   (`relaxation.ts`); longest waiters (and priority users) choose first;
 * - never oneself, never a blocked user (blocks never relax);
 * - not one of the last few partners within a window: after a skip they are kept apart for a
 *   short cooldown whatever happens; after that, a user who has waited past the limit may meet a
 *   recent partner again when nobody else is there, so that a small community is not stuck.
 *
 * A round only looks at users whose search changed (they just joined, or their stage widened)
 * and at those waiting past the limit, and draws candidates from indexes (interest, country,
 * language, text-only) plus the longest waiters, a bounded number from each: with ten thousand
 * waiting a round costs what the changes cost, not what the queue holds.
 */
import type { SearchStage } from '@meetopia/protocol';
import { acceptable, nextStageAt, type RelaxationOptions, searchStage } from './relaxation.js';
import { type MatchTicket, type ScoredPair, scorePairInto } from './score.js';

export type MatcherOptions = RelaxationOptions & {
  now: () => number;
  /** Recent partners kept apart, per user. */
  recentPartners: number;
  /** How long a partner counts as recent. */
  recentWindowMs: number;
  /** After a skip, the two are kept apart this long whatever the queue looks like. */
  skipCooldownMs: number;
  /** Candidates drawn from each index and from the longest waiters, per user and round. */
  candidateLimit?: number;
  /**
   * Candidates judged per round at most (about 1 µs each): a round stops choosing once it has
   * spent this, so a burst of arrivals never blocks the event loop for long. The users it did
   * not get to keep their place (longest waiters choose first) and `nextEventAt()` asks for the
   * next round at once.
   */
  roundBudget?: number;
};

/** A pair formed by a round, with its score and what the two share. */
export type MatchedPair = { a: MatchTicket; b: MatchTicket; scored: ScoredPair; stages: [SearchStage, SearchStage] };

/**
 * What a round did: the pairs formed, the users still waiting whose search widened, and how many
 * changed users it left for the next round (its budget was spent).
 */
export type RoundResult = {
  pairs: MatchedPair[];
  widened: Array<{ id: string; stage: SearchStage }>;
  deferred: number;
};

type Entry = {
  ticket: MatchTicket;
  stage: SearchStage;
  /** When `stage` next changes (null: at `anyone`): a round re-stages only the entries due. */
  stageChangeAt: number | null;
  /** Joined or widened since the last round. */
  dirty: boolean;
  /** The search that last considered this entry as a candidate (each candidate is scored once). */
  visitedBy: number;
  /** Choosing order, lowest first: priority users, then the longest waiters (one number: cheap to sort). */
  rank: number;
};

type RecentPartner = { key: string; until: number; hardUntil: number };

/** One user's search for a partner within a round: who chooses, and the best candidate so far. */
type PartnerSearch = {
  /** Numbers the search, for `Entry.visitedBy`. */
  id: number;
  chooser: Entry;
  now: number;
  allowRecent: boolean;
  /** The chooser's recent partners, looked up once per search. */
  recent: readonly RecentPartner[] | undefined;
  best: { entry: Entry; scored: ScoredPair } | null;
};

const DEFAULT_CANDIDATE_LIMIT = 24;
/** Puts priority users' ranks before everyone's (`since` is ms since the epoch, far below this). */
const PRIORITY_AHEAD = 1e13;
/**
 * About 1.2 ms on this project's reference machine (2 cores, about 1 µs a candidate), scan
 * included: a round's p99 with 10,000 waiting stays under 5 ms with the collector's pauses.
 */
const DEFAULT_ROUND_BUDGET = 1000;

export class Matcher {
  readonly #options: MatcherOptions;
  readonly #limit: number;
  readonly #budget: number;
  /** Waiting users by id, in the order they joined. */
  readonly #entries = new Map<string, Entry>();
  readonly #byInterest = new Map<string, Set<string>>();
  readonly #byCountry = new Map<string, Set<string>>();
  readonly #byLanguage = new Map<string, Set<string>>();
  readonly #textOnly = new Set<string>();
  /** Recent partners by person, newest first (both directions are stored). */
  readonly #recent = new Map<string, RecentPartner[]>();
  /** When expired recent partners were last swept (at most once a second). */
  #sweptAt = 0;
  /** Numbers each partner search, for `Entry.visitedBy`. */
  #searches = 0;
  /** Candidates judged so far in the current round. */
  #judged = 0;
  /** The last round left changed users for the next one. */
  #deferred = false;
  /** Every candidate is scored into this (see `scorePairInto`); the best one is copied out. */
  readonly #scored: ScoredPair = { score: 0, linkPenalty: 0, sharedInterests: [], sameCountry: null };

  constructor(options: MatcherOptions) {
    this.#options = options;
    this.#limit = options.candidateLimit ?? DEFAULT_CANDIDATE_LIMIT;
    this.#budget = options.roundBudget ?? DEFAULT_ROUND_BUDGET;
  }

  /** Users waiting. */
  get size(): number {
    return this.#entries.size;
  }

  has(id: string): boolean {
    return this.#entries.has(id);
  }

  ticket(id: string): MatchTicket | undefined {
    return this.#entries.get(id)?.ticket;
  }

  /** The stage of a waiting user's search (undefined when not waiting). */
  stage(id: string): SearchStage | undefined {
    const entry = this.#entries.get(id);
    return entry ? searchStage(entry.ticket, this.#options.now(), this.#options) : undefined;
  }

  *tickets(): Generator<MatchTicket> {
    for (const entry of this.#entries.values()) yield entry.ticket;
  }

  /** Adds a waiting user, or replaces their ticket (new preferences): either way they count as changed. */
  enqueue(ticket: MatchTicket): void {
    this.remove(ticket.id);
    const now = this.#options.now();
    this.#entries.set(ticket.id, {
      ticket,
      stage: searchStage(ticket, now, this.#options),
      stageChangeAt: nextStageAt(ticket, now, this.#options),
      dirty: true,
      visitedBy: 0,
      rank: ticket.priority ? ticket.since - PRIORITY_AHEAD : ticket.since,
    });
    for (const interest of ticket.interests) index(this.#byInterest, interest).add(ticket.id);
    if (ticket.country !== null) index(this.#byCountry, ticket.country).add(ticket.id);
    if (ticket.language !== null) index(this.#byLanguage, ticket.language).add(ticket.id);
    if (ticket.textOnly) this.#textOnly.add(ticket.id);
  }

  /** Removes a waiting user; returns whether they were waiting. */
  remove(id: string): boolean {
    const entry = this.#entries.get(id);
    if (!entry) return false;
    this.#entries.delete(id);
    const { ticket } = entry;
    for (const interest of ticket.interests) unindex(this.#byInterest, interest, id);
    if (ticket.country !== null) unindex(this.#byCountry, ticket.country, id);
    if (ticket.language !== null) unindex(this.#byLanguage, ticket.language, id);
    this.#textOnly.delete(id);
    return true;
  }

  /**
   * Two users just ended a conversation: each becomes a recent partner of the other. After a
   * skip (Next) they are also kept apart for the skip cooldown, whatever else happens.
   */
  parted(a: string, b: string, options: { skipped: boolean }): void {
    const now = this.#options.now();
    // With no recent partners kept (RECENT_PARTNERS=0) only the skip cooldown keeps them apart.
    const until = this.#options.recentPartners > 0 ? now + this.#options.recentWindowMs : 0;
    // +1: even without a cooldown, two who parted this instant do not meet again in this round.
    const hardUntil = now + (options.skipped ? this.#options.skipCooldownMs : 0) + 1;
    for (const [mine, theirs] of [
      [a, b],
      [b, a],
    ] as const) {
      const list = (this.#recent.get(mine) ?? []).filter((partner) => partner.key !== theirs && partner.until > now);
      list.unshift({ key: theirs, until, hardUntil });
      // The last N partners; the one just left at least, for its cooldown.
      this.#recent.set(mine, list.slice(0, Math.max(1, this.#options.recentPartners)));
    }
  }

  /**
   * Forms the pairs the rules allow now, removing them from the queue. Users whose search
   * widened since the last round are seen as changed.
   */
  round(): RoundResult {
    const now = this.#options.now();
    const chosers: Entry[] = [];
    const widened: Entry[] = [];
    for (const entry of this.#entries.values()) {
      if (entry.stageChangeAt !== null && now >= entry.stageChangeAt) {
        const stage = searchStage(entry.ticket, now, this.#options);
        entry.stageChangeAt = nextStageAt(entry.ticket, now, this.#options);
        if (stage !== entry.stage) {
          entry.stage = stage;
          entry.dirty = true;
          widened.push(entry);
        }
      }
      // Past the limit a user is reconsidered every round: someone may have become allowed.
      if (entry.dirty || entry.stage === 'anyone') chosers.push(entry);
    }
    chosers.sort((x, y) => x.rank - y.rank);
    const pairs: MatchedPair[] = [];
    this.#judged = 0;
    let deferred = 0;
    for (const entry of chosers) {
      if (this.#judged >= this.#budget) {
        // Still marked as changed (or past the limit): chosen first in the next round.
        if (this.#entries.get(entry.ticket.id) === entry) deferred += 1;
        continue;
      }
      entry.dirty = false;
      if (this.#entries.get(entry.ticket.id) !== entry) continue;
      const found =
        this.#bestPartner(entry, now, false) ?? (entry.stage === 'anyone' ? this.#bestPartner(entry, now, true) : null);
      if (!found) continue;
      this.remove(entry.ticket.id);
      this.remove(found.entry.ticket.id);
      pairs.push({
        a: entry.ticket,
        b: found.entry.ticket,
        scored: found.scored,
        stages: [entry.stage, found.entry.stage],
      });
    }
    this.#expireRecent(now);
    this.#deferred = deferred > 0;
    return {
      pairs,
      deferred,
      widened: widened
        .filter((entry) => this.#entries.get(entry.ticket.id) === entry)
        .map((entry) => ({ id: entry.ticket.id, stage: entry.stage })),
    };
  }

  /**
   * When the next round could pair someone who cannot be paired now: now when the last round
   * left changed users over its budget; else the earliest widening of a search, or (with users
   * past the limit) the end of the earliest skip cooldown among them. Null when nothing will
   * change by itself.
   */
  nextEventAt(): number | null {
    if (this.#entries.size < 2) return null;
    const now = this.#options.now();
    if (this.#deferred) return now;
    let earliest: number | null = null;
    const consider = (at: number | null) => {
      if (at !== null && (earliest === null || at < earliest)) earliest = at;
    };
    for (const entry of this.#entries.values()) {
      // A change already due (no round since) counts as now: the next round applies it.
      consider(entry.stageChangeAt);
      if (entry.stage !== 'anyone') continue;
      for (const partner of this.#recent.get(entry.ticket.person) ?? []) {
        if (partner.hardUntil > now) consider(partner.hardUntil);
      }
    }
    return earliest;
  }

  /** Waiting users per country (null: unknown). */
  countByCountry(): Map<string | null, number> {
    const counts = new Map<string | null, number>();
    for (const { ticket } of this.#entries.values()) counts.set(ticket.country, (counts.get(ticket.country) ?? 0) + 1);
    return counts;
  }

  #bestPartner(entry: Entry, now: number, allowRecent: boolean): { entry: Entry; scored: ScoredPair } | null {
    const { ticket } = entry;
    // One state object per search, no closure or result object per candidate: a round judges
    // thousands, and what it allocates is what the garbage collector pauses the server for.
    // Indexes overlap (same country and same language): each candidate is judged once (`id`).
    const search: PartnerSearch = {
      id: ++this.#searches,
      chooser: entry,
      now,
      allowRecent,
      recent: this.#recent.get(ticket.person),
      best: null,
    };
    const limit = this.#limit;
    const broad = Math.ceil(limit / 3);
    for (const interest of ticket.interests) this.#considerFrom(this.#byInterest.get(interest), limit, search);
    if (entry.stage === 'strong') {
      // A strong match gives the user what they asked for (`meetsAsk`), so only those indexes
      // can hold one. Users past the limit accept anyone, but they choose every round themselves.
      if (ticket.countryPreference === 'same' && ticket.country !== null)
        this.#considerFrom(this.#byCountry.get(ticket.country), limit, search);
      if (ticket.textOnly) this.#considerFrom(this.#textOnly, limit, search);
    } else {
      // Once wider, the broad indexes and the longest waiters, a third of the limit each: their
      // members score alike, and with thousands waiting they are what a round spends its time on.
      if (ticket.country !== null) this.#considerFrom(this.#byCountry.get(ticket.country), broad, search);
      if (ticket.language !== null) this.#considerFrom(this.#byLanguage.get(ticket.language), broad, search);
      if (ticket.textOnly) this.#considerFrom(this.#textOnly, broad, search);
      // Longest waiters: any of them may accept a weaker match than this user's stage asks for,
      // and a strong match of theirs that scores high enough is found here too.
      this.#considerFrom(this.#entries.keys(), broad, search);
    }
    if (search.best === null && entry.stage === 'anyone') {
      // Past the limit and nothing among the bounded candidates: anyone allowed, however far back.
      for (const id of this.#entries.keys()) {
        this.#consider(id, search);
        if (search.best !== null) break;
      }
    }
    return search.best;
  }

  #considerFrom(ids: Iterable<string> | undefined, limit: number, search: PartnerSearch): void {
    if (ids === undefined) return;
    let taken = 0;
    for (const id of ids) {
      this.#consider(id, search);
      if (++taken >= limit) return;
    }
  }

  #consider(id: string, search: PartnerSearch): void {
    const other = this.#entries.get(id);
    if (!other || other === search.chooser || other.visitedBy === search.id) return;
    other.visitedBy = search.id;
    this.#judged += 1;
    const { ticket } = search.chooser;
    if (!allowed(ticket, search.recent, other.ticket, search.now, search.allowRecent)) return;
    const scored = scorePairInto(ticket, other.ticket, this.#scored);
    if (!acceptable(scored, search.chooser, other, this.#options)) return;
    const { best } = search;
    if (
      best === null ||
      scored.score > best.scored.score ||
      (scored.score === best.scored.score && other.ticket.since < best.entry.ticket.since)
    ) {
      search.best = { entry: other, scored: { ...scored } };
    }
  }

  #expireRecent(now: number): void {
    if (now - this.#sweptAt < 1000) return;
    this.#sweptAt = now;
    for (const [key, list] of this.#recent) {
      const live = list.filter((partner) => partner.until > now || partner.hardUntil > now);
      if (live.length === 0) this.#recent.delete(key);
      else if (live.length !== list.length) this.#recent.set(key, live);
    }
  }
}

/** Whether `a` (whose recent partners are `recent`) may meet `b` now. */
function allowed(
  a: MatchTicket,
  recent: readonly RecentPartner[] | undefined,
  b: MatchTicket,
  now: number,
  allowRecent: boolean,
): boolean {
  // Most people block nobody: no loop over the other's keys for them.
  if (a.blocked.size > 0) for (const key of b.keys) if (a.blocked.has(key)) return false;
  if (b.blocked.size > 0) for (const key of a.keys) if (b.blocked.has(key)) return false;
  if (recent === undefined) return true;
  for (const partner of recent) {
    if (partner.key !== b.person) continue;
    if (partner.hardUntil > now) return false;
    if (!allowRecent && partner.until > now) return false;
  }
  return true;
}

function index(map: Map<string, Set<string>>, key: string): Set<string> {
  let set = map.get(key);
  if (!set) {
    set = new Set();
    map.set(key, set);
  }
  return set;
}

function unindex(map: Map<string, Set<string>>, key: string, id: string): void {
  const set = map.get(key);
  set?.delete(id);
  if (set?.size === 0) map.delete(key);
}
