import type { SearchStage } from '@meetopia/protocol';
import type { MatchedPair } from '../matchmaking/Matcher.js';
import type { MatchTicket } from '../matchmaking/score.js';

/** What the queue tells its owner. */
export type MatchQueueEvents = {
  /**
   * Two waiting users were paired (both have left the queue). With a shared store the queue
   * names the conversation (`pairId`), so that the instances of its two users call it alike.
   */
  onPaired: (pair: MatchedPair, pairId?: string) => void;
  /** A waiting user's search widened (strong → wider → anyone). */
  onStage: (id: string, stage: SearchStage) => void;
  /** Matching stopped (the shared store is away) or resumed; a single process never stops. */
  onHeld?: (held: boolean) => void;
};

/**
 * The waiting users and their matching profiles: the part of matching's state that a shared
 * store holds when Meetopia runs on several machines. The in-process implementation is the
 * default; the scoring and the rules live in the pure `Matcher`, whichever store feeds it.
 * Calls resolve once the store has the change; pairs arrive through `onPaired`.
 */
export interface MatchQueue {
  /** Users waiting here: the whole queue in one process, this instance's users with a shared store. */
  readonly size: number;
  /** No pairs can be made now (see `onHeld`). */
  readonly held: boolean;
  /** Adds a waiting user or replaces their ticket (changed preferences); may pair them at once. */
  enqueue(ticket: MatchTicket): Promise<void>;
  /** Takes a user out of the queue (no-op when not waiting). */
  dequeue(id: string): Promise<void>;
  /** Two users (their `person` keys) just ended a conversation; `skipped`: one moved on (Next, report, block). */
  parted(a: string, b: string, options: { skipped: boolean }): Promise<void>;
  has(id: string): boolean;
  /** The stage of a waiting user's search. */
  stage(id: string): SearchStage | undefined;
  /** Waiting users by country (null: unknown). */
  countByCountry(): Map<string | null, number>;
  close(): void;
}
