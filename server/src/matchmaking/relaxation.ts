/**
 * What a waiting user accepts, widening with time: a pure schedule. A user who asked for
 * something (interests, their own country first, text only) first accepts only strong matches
 * (a high score that also gives them something they asked for: a shared interest, their own
 * country, another text-only user), then good ones from half the limit, then anyone allowed at the limit. A user who asked for
 * nothing accepts any reasonable match at once (as before smart matching) and anyone at the limit.
 */
import type { SearchStage } from '@meetopia/protocol';
import { isPicky, type MatchTicket, type ScoredPair } from './score.js';

export type RelaxationOptions = {
  /** After this long any allowed partner will do (MATCH_WAIT_LIMIT_MS, default 8 s). */
  limitMs: number;
  /** Minimum score of the strong stage. */
  strongScore: number;
  /** Minimum score once the search has widened. */
  widerScore: number;
  /** Minimum score of a user who asked for nothing. */
  openScore: number;
};

export const defaultRelaxation: Omit<RelaxationOptions, 'limitMs'> = { strongScore: 60, widerScore: 30, openScore: 0 };

/** The stage of a ticket's search at `now`. */
export function searchStage(ticket: MatchTicket, now: number, options: RelaxationOptions): SearchStage {
  const waited = now - ticket.since;
  if (waited >= options.limitMs) return 'anyone';
  if (!isPicky(ticket)) return 'wider';
  return waited >= options.limitMs / 2 ? 'wider' : 'strong';
}

/** The lowest score this ticket accepts in a stage (`-Infinity`: anyone allowed). */
export function minScore(ticket: MatchTicket, stage: SearchStage, options: RelaxationOptions): number {
  switch (stage) {
    case 'strong':
      return options.strongScore;
    case 'wider':
      return isPicky(ticket) ? options.widerScore : options.openScore;
    case 'anyone':
      return Number.NEGATIVE_INFINITY;
  }
}

/** When the ticket's stage next changes (null: it is already at `anyone`). */
export function nextStageAt(ticket: MatchTicket, now: number, options: RelaxationOptions): number | null {
  const stage = searchStage(ticket, now, options);
  if (stage === 'anyone') return null;
  if (stage === 'strong') return ticket.since + options.limitMs / 2;
  return ticket.since + options.limitMs;
}

/**
 * Whether a strong-stage user got something they asked for: a score alone is not enough (two
 * strangers from one country who speak one language score high, but a jazz fan asked for jazz).
 */
export function meetsAsk(ticket: MatchTicket, other: MatchTicket, scored: ScoredPair): boolean {
  if (ticket.interests.length > 0 && scored.sharedInterests.length > 0) return true;
  if (ticket.countryPreference === 'same' && scored.sameCountry !== null) return true;
  return ticket.textOnly && other.textOnly;
}

/**
 * Whether two waiting users may be paired at these stages: the score meets what both accept
 * (and a strong-stage user gets something they asked for), or one of them has waited past the
 * limit (then anyone allowed will do, whoever the other is: nobody who could be paired waits
 * longer than the limit plus one round). The link penalty does not count here: two poor links
 * are kept apart only by ranking, when either has a better candidate ("while others wait").
 */
export function acceptable(
  scored: ScoredPair,
  a: { ticket: MatchTicket; stage: SearchStage },
  b: { ticket: MatchTicket; stage: SearchStage },
  options: RelaxationOptions,
): boolean {
  if (a.stage === 'anyone' || b.stage === 'anyone') return true;
  if (a.stage === 'strong' && !meetsAsk(a.ticket, b.ticket, scored)) return false;
  if (b.stage === 'strong' && !meetsAsk(b.ticket, a.ticket, scored)) return false;
  const judged = scored.score - scored.linkPenalty;
  return judged >= Math.max(minScore(a.ticket, a.stage, options), minScore(b.ticket, b.stage, options));
}
