/**
 * The match score: one pure function over two waiting users, with documented weights, so that
 * every pairing can be explained ("you both like jazz, same language"). 100 points or more is an
 * optimal match. The matcher pairs by score; what a waiting user accepts widens with time
 * (see `relaxation.ts`).
 */
import type { CountryPreference, MediaMode } from '@meetopia/protocol';

/** How a user's network looks to matching. */
export type NetworkClass = 'good' | 'fair' | 'poor' | 'unknown';

/** Everything matching knows about one waiting user. Plain data: the matcher does no I/O. */
export type MatchTicket = {
  /** The session id. */
  readonly id: string;
  /** Identity keys (device and address hashes): blocks follow these. */
  readonly keys: readonly string[];
  /**
   * Who this is for "recent partners": the device key, or the session when the client sent no
   * device id. Not the address: people behind one NAT are different people.
   */
  readonly person: string;
  /** Normalised interests (at most five). */
  readonly interests: readonly string[];
  readonly language: string | null;
  /** ISO country from GeoIP; null when unknown. */
  readonly country: string | null;
  readonly countryPreference: CountryPreference;
  /** Text only by choice (a preference), as opposed to `media: 'text'` for lack of a camera. */
  readonly textOnly: boolean;
  readonly media: MediaMode;
  readonly network: NetworkClass;
  /** Media relayed through TURN. */
  readonly relayed: boolean;
  /** When this search started (ms since the epoch): what relaxation counts from. */
  readonly since: number;
  /** Processed first within a round (a user whose partner just left or who pressed Next). */
  readonly priority: boolean;
  /** No match yet in this session: "newer connections get priority". */
  readonly newcomer: boolean;
  /** Identity keys this user must never meet (blocks; never relaxed). */
  readonly blocked: ReadonlySet<string>;
  /** Where the user's media lives: same worker (then same instance, same region) is cheaper. */
  readonly location: { readonly worker: string; readonly instance?: string; readonly region?: string };
};

/** The weights, in points. Documented in docs/matching.md; change them there too. */
export const WEIGHTS = {
  /** The first shared interest… */
  firstSharedInterest: 50,
  /** …and each further one, up to `maxInterestPoints` in all. */
  moreSharedInterest: 15,
  maxInterestPoints: 80,
  /** Same country when either asked for their own country first. */
  sameCountryAsked: 40,
  /** Same country when neither asked: a small bonus (shared time zone, shared references). */
  sameCountry: 10,
  /** Another (or unknown) country when either asked for their own first. */
  otherCountryAsked: -30,
  /** Same language. */
  sameLanguage: 20,
  /** Both on video, or both on text. */
  sameMedia: 15,
  /** One chose text only, the other is on video: they meet only once the search has widened. */
  textOnlyWithVideo: -25,
  /** Both chose text only: they find each other at once. */
  bothTextOnly: 25,
  /** Two good links. */
  bothGood: 10,
  /**
   * Two poor links together make a poor call: avoided while others wait. A link penalty ranks
   * the pair below others but never keeps apart two users who have nobody better.
   */
  bothPoor: -40,
  /** Two relayed users, both legs through TURN: a link penalty too. */
  bothRelayed: -10,
  /** Someone on their first match of the session. */
  newcomer: 10,
  /** Tie-breakers: same media worker (no pipe between routers), same instance, same region. */
  sameWorker: 1,
  sameInstance: 3,
  sameRegion: 2,
} as const;

const NONE: readonly string[] = Object.freeze([]);

/** An optimal match, as the product sheet counts it. */
export const OPTIMAL_SCORE = 100;

export type ScoredPair = {
  score: number;
  /**
   * The part of `score` from the two links (two poor, two relayed; 0 or less): it ranks the
   * pair among a user's candidates, but what a user accepts is judged without it.
   */
  linkPenalty: number;
  /** Interests both listed. */
  sharedInterests: readonly string[];
  /** Both from this country (null when not, or unknown). */
  sameCountry: string | null;
};

/** Scores a candidate pair. Pure, symmetric, cheap (called for many candidates per round). */
export function scorePair(a: MatchTicket, b: MatchTicket): ScoredPair {
  return scorePairInto(a, b, { score: 0, linkPenalty: 0, sharedInterests: NONE, sameCountry: null });
}

/**
 * `scorePair`, written into `out` (returned): the matcher judges thousands of candidates a round
 * and keeps only the best, so it scores them all into one object instead of allocating one
 * each (fewer garbage-collector pauses in its rounds).
 */
export function scorePairInto(a: MatchTicket, b: MatchTicket, out: ScoredPair): ScoredPair {
  let score = 0;

  // Most candidates share nothing: no array is allocated for them.
  let sharedInterests: readonly string[] = NONE;
  for (const interest of a.interests) {
    if (b.interests.includes(interest)) sharedInterests = [...sharedInterests, interest];
  }
  if (sharedInterests.length > 0) {
    score += Math.min(
      WEIGHTS.maxInterestPoints,
      WEIGHTS.firstSharedInterest + (sharedInterests.length - 1) * WEIGHTS.moreSharedInterest,
    );
  }

  const asked = a.countryPreference === 'same' || b.countryPreference === 'same';
  const sameCountry = a.country !== null && a.country === b.country ? a.country : null;
  if (sameCountry !== null) score += asked ? WEIGHTS.sameCountryAsked : WEIGHTS.sameCountry;
  else if (asked) score += WEIGHTS.otherCountryAsked;

  if (a.language !== null && a.language === b.language) score += WEIGHTS.sameLanguage;

  // Text only by choice is text, whatever the client has opened yet.
  if (mediaOf(a) === mediaOf(b)) score += WEIGHTS.sameMedia;
  else if (a.textOnly || b.textOnly) score += WEIGHTS.textOnlyWithVideo;
  if (a.textOnly && b.textOnly) score += WEIGHTS.bothTextOnly;

  let linkPenalty = 0;
  if (a.network === 'good' && b.network === 'good') score += WEIGHTS.bothGood;
  else if (a.network === 'poor' && b.network === 'poor') linkPenalty += WEIGHTS.bothPoor;
  if (a.relayed && b.relayed) linkPenalty += WEIGHTS.bothRelayed;
  score += linkPenalty;

  if (a.newcomer || b.newcomer) score += WEIGHTS.newcomer;

  if (a.location.worker === b.location.worker && a.location.instance === b.location.instance) {
    score += WEIGHTS.sameWorker;
  }
  if (a.location.instance !== undefined && a.location.instance === b.location.instance) score += WEIGHTS.sameInstance;
  if (a.location.region !== undefined && a.location.region === b.location.region) score += WEIGHTS.sameRegion;

  out.score = score;
  out.linkPenalty = linkPenalty;
  out.sharedInterests = sharedInterests;
  out.sameCountry = sameCountry;
  return out;
}

function mediaOf(ticket: MatchTicket): MediaMode {
  return ticket.textOnly ? 'text' : ticket.media;
}

/** Whether a user asked for anything that narrows whom they meet at first. */
export function isPicky(ticket: MatchTicket): boolean {
  return ticket.interests.length > 0 || ticket.countryPreference === 'same' || ticket.textOnly;
}
