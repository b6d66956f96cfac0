import { describe, expect, it } from 'vitest';
import { Matcher, type MatcherOptions } from './Matcher.js';
import { defaultRelaxation } from './relaxation.js';
import type { MatchTicket } from './score.js';

const LIMIT = 8000;

function setup(overrides: Partial<MatcherOptions> = {}) {
  const clock = { now: 1_000_000 };
  const matcher = new Matcher({
    now: () => clock.now,
    limitMs: LIMIT,
    ...defaultRelaxation,
    recentPartners: 3,
    recentWindowMs: 600_000,
    skipCooldownMs: 10_000,
    ...overrides,
  });
  /** A waiting user who joined now; `id` doubles as their identity key. */
  const ticket = (id: string, over: Partial<MatchTicket> = {}): MatchTicket => ({
    id,
    keys: [`d:${id}`],
    person: `d:${id}`,
    interests: [],
    language: 'en',
    country: null,
    countryPreference: 'any',
    textOnly: false,
    media: 'video',
    network: 'unknown',
    relayed: false,
    since: clock.now,
    priority: false,
    newcomer: false,
    blocked: new Set(),
    location: { worker: '0' },
    ...over,
  });
  const join = (id: string, over: Partial<MatchTicket> = {}) => matcher.enqueue(ticket(id, over));
  const round = () => matcher.round().pairs.map((pair) => [pair.a.id, pair.b.id].sort().join('+'));
  const advance = (ms: number) => {
    clock.now += ms;
  };
  return { matcher, clock, ticket, join, round, advance };
}

describe('Matcher', () => {
  describe('round()', () => {
    it('pairs two users who asked for nothing at once', () => {
      const { join, round, matcher } = setup();
      join('a');
      join('b');
      expect(round()).toEqual(['a+b']);
      expect(matcher.size).toBe(0);
    });

    it('leaves a lone user waiting, and never pairs a user with themselves', () => {
      const { join, round, matcher } = setup();
      join('a');
      join('a');
      expect(round()).toEqual([]);
      expect(matcher.size).toBe(1);
    });

    it('lets the longest waiter choose first when scores are equal', () => {
      const { join, round, advance } = setup();
      join('old');
      advance(100);
      round();
      join('new1');
      join('new2');
      expect(round()).toEqual(['new1+old']);
    });

    it('pairs the two who share an interest rather than the first in line', () => {
      const { join, round } = setup();
      join('football', { interests: ['football'] });
      join('chess-jazz', { interests: ['chess', 'jazz'] });
      expect(round()).toEqual([]);
      join('jazz', { interests: ['jazz'] });
      expect(round()).toEqual(['chess-jazz+jazz']);
    });

    it('widens a search with time: strong matches first, good ones from half the limit, anyone at the limit', () => {
      const { join, round, advance, matcher } = setup();
      join('jazz', { interests: ['jazz'] });
      join('other-language', { language: 'de' });
      expect(matcher.stage('jazz')).toBe('strong');
      expect(round()).toEqual([]);
      advance(LIMIT / 2);
      // Widened, but a different language and nothing shared is still not a good match.
      expect(matcher.stage('jazz')).toBe('wider');
      expect(round()).toEqual([]);
      advance(LIMIT / 2);
      expect(matcher.stage('jazz')).toBe('anyone');
      expect(round()).toEqual(['jazz+other-language']);
    });

    it('matches someone who asked for nothing with a user who asked, once that search has widened', () => {
      const { join, round, advance } = setup();
      join('football', { interests: ['football'] });
      advance(1000);
      join('anyone');
      expect(round()).toEqual([]);
      advance(LIMIT / 2 - 1000);
      expect(round()).toEqual(['anyone+football']);
    });

    it('puts people from the same country first for those who asked', () => {
      const { join, round, advance } = setup();
      join('de-asks', { country: 'DE', countryPreference: 'same' });
      join('fr', { country: 'FR' });
      expect(round()).toEqual([]);
      join('de', { country: 'DE' });
      expect(round()).toEqual(['de+de-asks']);
      join('fr2', { country: 'FR', countryPreference: 'same' });
      expect(round()).toEqual(['fr+fr2']);
      advance(LIMIT);
      expect(round()).toEqual([]);
    });

    it('lets text-only users meet each other first, and video users only once their search is open to anyone', () => {
      const { join, round, advance } = setup();
      join('text1', { textOnly: true, media: 'text' });
      join('video');
      expect(round()).toEqual([]);
      join('text2', { textOnly: true, media: 'text' });
      expect(round()).toEqual(['text1+text2']);
      join('text3', { textOnly: true, media: 'text' });
      advance(LIMIT / 2);
      expect(round()).toEqual([]);
      advance(LIMIT / 2);
      expect(round()).toEqual(['text3+video']);
    });

    it('keeps two poor links apart while others wait: the longest-waiting poor link gets the good one', () => {
      const { join, round, advance } = setup();
      join('poor1', { network: 'poor' });
      advance(10);
      join('poor2', { network: 'poor' });
      join('good', { network: 'good' });
      expect(round()).toEqual(['good+poor1']);
      // Nobody else for poor2 now: it waits for the next user, whatever their link.
      join('poor3', { network: 'poor' });
      expect(round()).toEqual(['poor2+poor3']);
    });

    it('pairs two poor links at once when nobody else waits (they would have a poor call or none)', () => {
      const { join, round } = setup();
      join('poor1', { network: 'poor', relayed: true });
      join('poor2', { network: 'poor', relayed: true });
      expect(round()).toEqual(['poor1+poor2']);
    });

    it('two poor links with nothing else in common still need what a picky user asked for', () => {
      const { join, round, advance } = setup();
      join('poorJazz', { network: 'poor', interests: ['jazz'] });
      join('poorChess', { network: 'poor', interests: ['chess'] });
      join('poorJazz2', { network: 'poor', interests: ['jazz'] });
      expect(round()).toEqual(['poorJazz+poorJazz2']);
      advance(LIMIT / 2);
      expect(round()).toEqual([]);
      advance(LIMIT / 2);
      join('plain', { network: 'poor' });
      expect(round()).toEqual(['plain+poorChess']);
    });

    it('never pairs blocked users, even when they are the only two waiting for a long time', () => {
      const { join, round, advance, matcher } = setup();
      join('a', { blocked: new Set(['d:b']) });
      join('b');
      for (let i = 0; i < 10; i += 1) {
        advance(LIMIT);
        expect(round()).toEqual([]);
      }
      expect(matcher.size).toBe(2);
    });

    it('a block by address keeps a new device on the same address away too', () => {
      const { join, round } = setup();
      join('a', { keys: ['d:a', 'a:home'], blocked: new Set(['a:office']) });
      join('b', { keys: ['d:new-phone', 'a:office'], person: 'd:new-phone' });
      join('c', { keys: ['d:c', 'a:cafe'] });
      expect(round()).toEqual(['a+c']);
    });
  });

  describe('recent partners', () => {
    it('keeps a skipped pair apart for the cooldown whatever happens, then lets them meet when nobody else is there', () => {
      const { join, round, advance, matcher } = setup();
      matcher.parted('d:a', 'd:b', { skipped: true });
      join('a');
      join('b');
      advance(LIMIT + 1);
      expect(round()).toEqual([]);
      advance(10_000 - LIMIT);
      expect(round()).toEqual(['a+b']);
    });

    it('does not bring back one of the last partners while someone else is there', () => {
      const { join, round, matcher } = setup();
      matcher.parted('d:a', 'd:b', { skipped: false });
      join('a');
      join('b');
      join('c');
      expect(round()).toEqual(['a+c']);
    });

    it('lets recent partners meet again after the limit when nobody else comes', () => {
      const { join, round, advance, matcher } = setup({ skipCooldownMs: 0 });
      matcher.parted('d:a', 'd:b', { skipped: true });
      join('a');
      join('b');
      expect(round()).toEqual([]);
      advance(LIMIT);
      expect(round()).toEqual(['a+b']);
    });

    it('forgets partners older than the last few', () => {
      const { join, round, matcher } = setup({ recentPartners: 2 });
      for (const other of ['b', 'c', 'd']) matcher.parted('d:a', `d:${other}`, { skipped: false });
      join('a');
      join('b');
      expect(round()).toEqual(['a+b']);
    });

    it('with RECENT_PARTNERS=0 two who parted without a skip meet again at once', () => {
      const { join, round, matcher, advance } = setup({ recentPartners: 0 });
      matcher.parted('d:a', 'd:b', { skipped: false });
      advance(1);
      join('a');
      join('b');
      expect(round()).toEqual(['a+b']);
    });

    it('two who parted this instant do not meet again in the same round, even without a cooldown', () => {
      const { join, round, matcher, advance } = setup({ skipCooldownMs: 0, recentPartners: 0 });
      join('a');
      advance(LIMIT);
      join('b');
      matcher.parted('d:a', 'd:b', { skipped: true });
      expect(round()).toEqual([]);
    });
  });

  describe('nextEventAt()', () => {
    it('names the moment a waiting search widens', () => {
      const { join, matcher, clock } = setup();
      const start = clock.now;
      join('jazz', { interests: ['jazz'] });
      join('other', { language: 'de' });
      expect(matcher.nextEventAt()).toBe(start + LIMIT / 2);
    });

    it('is null for a single waiting user', () => {
      const { join, matcher } = setup();
      join('a');
      expect(matcher.nextEventAt()).toBeNull();
    });
  });

  it('leaves the users over its round budget for a round that comes at once, longest waiters first', () => {
    const { join, matcher, advance, clock } = setup({ roundBudget: 1 });
    for (const id of ['a', 'b', 'c', 'd']) {
      join(id);
      advance(1);
    }
    const first = matcher.round();
    expect(first.pairs.map((pair) => `${pair.a.id}+${pair.b.id}`)).toEqual(['a+b']);
    expect(first.deferred).toBe(2);
    expect(matcher.nextEventAt()).toBe(clock.now);
    const second = matcher.round();
    expect(second.pairs.map((pair) => `${pair.a.id}+${pair.b.id}`)).toEqual(['c+d']);
    expect(second.deferred).toBe(0);
  });

  it('reports whose search widened in a round', () => {
    const { join, matcher, advance } = setup();
    join('jazz', { interests: ['jazz'] });
    join('other', { language: 'de' });
    matcher.round();
    advance(LIMIT / 2);
    expect(matcher.round().widened).toEqual([{ id: 'jazz', stage: 'wider' }]);
  });

  it.each([
    ['the default round budget', undefined],
    ['a round budget of 2 candidates', 2],
  ])('nobody waits past the limit while someone they may meet is there (random arrivals, %s)', (_, roundBudget) => {
    const { matcher, ticket, clock } = setup(roundBudget === undefined ? {} : { roundBudget });
    let seed = 42;
    const random = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const interests = ['jazz', 'chess', 'football', 'cats', 'anime', 'movies'];
    const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
    const waits: number[] = [];
    const since = new Map<string, number>();
    /** Waits of pairs whose longer wait went past the limit although the partner had been there. */
    const overdue: number[][] = [];
    let deferredRounds = 0;
    const runRound = () => {
      const result = matcher.round();
      if (result.deferred > 0) deferredRounds += 1;
      for (const pair of result.pairs) {
        const pairWaits = [pair.a.id, pair.b.id].map((member) => clock.now - (since.get(member) ?? clock.now));
        waits.push(...pairWaits);
        // Past the limit is fine only when nobody else was there: the partner just arrived.
        if (Math.max(...pairWaits) > LIMIT && Math.min(...pairWaits) > 0) overdue.push(pairWaits);
      }
    };
    for (let i = 0; i < 2000; i += 1) {
      const arrival = clock.now + Math.floor(random() * 1500);
      // Rounds whenever the matcher says a search widens, up to the next arrival…
      for (let at = matcher.nextEventAt(); at !== null && at <= arrival; at = matcher.nextEventAt()) {
        clock.now = Math.max(clock.now, at);
        runRound();
      }
      clock.now = arrival;
      // One to three people arrive at once (a burst: more for a round to do).
      const burst = 1 + Math.floor(random() * 3);
      for (let j = 0; j < burst; j += 1) {
        const id = `u${i}-${j}`;
        matcher.enqueue(
          ticket(id, {
            interests: random() < 0.6 ? [pick(interests)] : [],
            language: pick(['en', 'de', 'fr']),
            country: pick(['DE', 'FR', null]),
            countryPreference: random() < 0.3 ? 'same' : 'any',
            network: pick(['good', 'fair', 'poor', 'unknown'] as const),
            since: clock.now,
          }),
        );
        since.set(id, clock.now);
      }
      // …and one on each burst.
      runRound();
    }
    expect(waits.length).toBeGreaterThan(1900);
    expect(overdue).toEqual([]);
    // The small budget did leave users for the next round, and nobody waited for it.
    expect(deferredRounds > 0).toBe(roundBudget !== undefined);
    // And most people wait far less than the limit.
    const sorted = [...waits].sort((a, b) => a - b);
    expect(sorted[Math.floor(sorted.length / 2)]).toBeLessThan(LIMIT / 2);
  });
});
