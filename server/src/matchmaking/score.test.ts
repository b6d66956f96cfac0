import { describe, expect, it } from 'vitest';
import { acceptable, defaultRelaxation, minScore, nextStageAt, searchStage } from './relaxation.js';
import { isPicky, type MatchTicket, OPTIMAL_SCORE, scorePair, WEIGHTS } from './score.js';

const base: MatchTicket = {
  id: 'x',
  keys: ['d:x'],
  person: 'd:x',
  interests: [],
  language: null,
  country: null,
  countryPreference: 'any',
  textOnly: false,
  media: 'video',
  network: 'unknown',
  relayed: false,
  since: 0,
  priority: false,
  newcomer: false,
  blocked: new Set(),
  location: { worker: '0' },
};
const user = (over: Partial<MatchTicket>): MatchTicket => ({ ...base, ...over });
const options = { ...defaultRelaxation, limitMs: 8000 };

describe('scorePair()', () => {
  it('gives two users who said nothing only the shared-media points and the same-worker tie-breaker', () => {
    expect(scorePair(user({}), user({})).score).toBe(WEIGHTS.sameMedia + WEIGHTS.sameWorker);
  });

  it('counts shared interests, capped, and names them', () => {
    const one = scorePair(user({ interests: ['jazz', 'chess'] }), user({ interests: ['jazz'] }));
    expect(one.sharedInterests).toEqual(['jazz']);
    const many = scorePair(
      user({ interests: ['a', 'b', 'c', 'd', 'e'] }),
      user({ interests: ['a', 'b', 'c', 'd', 'e'] }),
    );
    expect(many.score - one.score).toBe(WEIGHTS.maxInterestPoints - WEIGHTS.firstSharedInterest);
  });

  it('rewards the same country much more when either asked for it, and penalises another country then', () => {
    const asked = scorePair(user({ country: 'DE', countryPreference: 'same' }), user({ country: 'DE' }));
    const notAsked = scorePair(user({ country: 'DE' }), user({ country: 'DE' }));
    const other = scorePair(user({ country: 'DE', countryPreference: 'same' }), user({ country: 'FR' }));
    expect(asked.score - notAsked.score).toBe(WEIGHTS.sameCountryAsked - WEIGHTS.sameCountry);
    expect(asked.sameCountry).toBe('DE');
    expect(other.score).toBeLessThan(scorePair(user({}), user({})).score);
  });

  it('is symmetric', () => {
    const a = user({ interests: ['jazz'], country: 'DE', countryPreference: 'same', network: 'poor', newcomer: true });
    const b = user({ interests: ['jazz', 'cats'], country: 'DE', language: 'de', textOnly: true, media: 'text' });
    expect(scorePair(a, b).score).toBe(scorePair(b, a).score);
  });

  it('scores an optimal match at 100 or more: two shared interests, same country asked, same language', () => {
    const a = user({ interests: ['jazz', 'chess'], country: 'DE', countryPreference: 'same', language: 'de' });
    const b = user({ interests: ['chess', 'jazz'], country: 'DE', language: 'de' });
    expect(scorePair(a, b).score).toBeGreaterThanOrEqual(OPTIMAL_SCORE);
  });

  it('avoids two poor links and two relayed users, prefers two good links', () => {
    const plain = scorePair(user({}), user({})).score;
    expect(scorePair(user({ network: 'poor' }), user({ network: 'poor' })).score).toBeLessThan(plain);
    expect(scorePair(user({ relayed: true }), user({ relayed: true })).score).toBeLessThan(plain);
    expect(scorePair(user({ network: 'good' }), user({ network: 'good' })).score).toBeGreaterThan(plain);
  });

  it('gives a newcomer a bonus', () => {
    expect(scorePair(user({ newcomer: true }), user({})).score).toBe(
      scorePair(user({}), user({})).score + WEIGHTS.newcomer,
    );
  });
});

describe('relaxation', () => {
  it('treats a user with interests, own country first or text only as picky, and nobody else', () => {
    expect(isPicky(user({}))).toBe(false);
    expect(isPicky(user({ language: 'de', country: 'DE' }))).toBe(false);
    expect(isPicky(user({ interests: ['jazz'] }))).toBe(true);
    expect(isPicky(user({ countryPreference: 'same' }))).toBe(true);
    expect(isPicky(user({ textOnly: true }))).toBe(true);
  });

  it('widens a picky search at half the limit and opens it at the limit', () => {
    const picky = user({ interests: ['jazz'], since: 1000 });
    expect(searchStage(picky, 1000, options)).toBe('strong');
    expect(searchStage(picky, 4999, options)).toBe('strong');
    expect(searchStage(picky, 5000, options)).toBe('wider');
    expect(searchStage(picky, 9000, options)).toBe('anyone');
    expect(nextStageAt(picky, 1000, options)).toBe(5000);
    expect(nextStageAt(picky, 5000, options)).toBe(9000);
    expect(nextStageAt(picky, 9000, options)).toBeNull();
    expect(minScore(picky, 'strong', options)).toBeGreaterThan(minScore(picky, 'wider', options));
  });

  it('accepts a pair when the score meets both users, or when either has waited past the limit', () => {
    const picky = { ticket: user({ interests: ['jazz'] }), stage: 'strong' as const };
    const open = { ticket: user({}), stage: 'wider' as const };
    const jazz = { sharedInterests: ['jazz'], sameCountry: null, linkPenalty: 0 };
    expect(acceptable({ ...jazz, score: options.strongScore - 1 }, picky, open, options)).toBe(false);
    expect(acceptable({ ...jazz, score: options.strongScore }, picky, open, options)).toBe(true);
    expect(acceptable({ ...jazz, score: -100 }, { ...open, stage: 'anyone' }, picky, options)).toBe(true);
  });

  it('judges what a user accepts without the link penalty, which only ranks candidates', () => {
    const open = { ticket: user({ network: 'poor' }), stage: 'wider' as const };
    const scored = scorePair(open.ticket, open.ticket);
    expect(scored.linkPenalty).toBe(WEIGHTS.bothPoor);
    expect(scored.score).toBeLessThan(options.openScore);
    expect(acceptable(scored, open, open, options)).toBe(true);
    // Without the penalty the same score is refused: the penalty is what is set aside.
    expect(acceptable({ ...scored, linkPenalty: 0 }, open, open, options)).toBe(false);
  });

  it('gives a strong-stage user only a match with something they asked for, whatever the score', () => {
    const picky = {
      ticket: user({ interests: ['jazz'], countryPreference: 'same' as const }),
      stage: 'strong' as const,
    };
    const open = { ticket: user({}), stage: 'wider' as const };
    const high = options.strongScore + 40;
    expect(
      acceptable({ score: high, linkPenalty: 0, sharedInterests: [], sameCountry: null }, picky, open, options),
    ).toBe(false);
    expect(
      acceptable({ score: high, linkPenalty: 0, sharedInterests: [], sameCountry: 'DE' }, picky, open, options),
    ).toBe(true);
    expect(
      acceptable({ score: high, linkPenalty: 0, sharedInterests: ['jazz'], sameCountry: null }, open, picky, options),
    ).toBe(true);
    expect(
      acceptable(
        { score: high, linkPenalty: 0, sharedInterests: [], sameCountry: null },
        { ...picky, stage: 'wider' },
        open,
        options,
      ),
    ).toBe(true);
  });
});
