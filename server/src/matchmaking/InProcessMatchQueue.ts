import type { SearchStage } from '@meetopia/protocol';
import type { MatchQueue, MatchQueueEvents } from '../store/MatchQueue.js';
import { Matcher, type MatcherOptions } from './Matcher.js';
import type { MatchTicket } from './score.js';

export type InProcessMatchQueueOptions = MatcherOptions &
  MatchQueueEvents & {
    /** Called with the duration of every round, ms (metrics). */
    onRound?: (ms: number, waiting: number) => void;
  };

/**
 * The single-process queue: the Matcher in memory, a round whenever someone joins, and a timer
 * for the next moment a search widens.
 */
export class InProcessMatchQueue implements MatchQueue {
  /** One process never waits for a store. */
  readonly held = false;
  readonly #matcher: Matcher;
  readonly #options: InProcessMatchQueueOptions;
  #timer: NodeJS.Timeout | undefined;
  #timerAt: number | null = null;
  #closed = false;

  constructor(options: InProcessMatchQueueOptions) {
    this.#options = options;
    this.#matcher = new Matcher(options);
  }

  get size(): number {
    return this.#matcher.size;
  }

  has(id: string): boolean {
    return this.#matcher.has(id);
  }

  stage(id: string): SearchStage | undefined {
    return this.#matcher.stage(id);
  }

  countByCountry(): Map<string | null, number> {
    return this.#matcher.countByCountry();
  }

  async enqueue(ticket: MatchTicket): Promise<void> {
    this.#matcher.enqueue(ticket);
    this.#round();
  }

  async dequeue(id: string): Promise<void> {
    if (this.#matcher.remove(id)) this.#schedule();
  }

  async parted(a: string, b: string, options: { skipped: boolean }): Promise<void> {
    this.#matcher.parted(a, b, options);
  }

  close(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
  }

  #round(): void {
    if (this.#closed) return;
    const started = performance.now();
    const { pairs, widened } = this.#matcher.round();
    this.#options.onRound?.(performance.now() - started, this.#matcher.size);
    for (const pair of pairs) this.#options.onPaired(pair);
    for (const { id, stage } of widened) this.#options.onStage(id, stage);
    this.#schedule();
  }

  /** Arms the timer for the next time a round could pair someone who cannot be paired now. */
  #schedule(): void {
    const at = this.#matcher.nextEventAt();
    if (at === this.#timerAt) return;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#timerAt = at;
    if (at === null || this.#closed) return;
    this.#timer = setTimeout(
      () => {
        this.#timerAt = null;
        this.#round();
      },
      Math.max(0, at - this.#options.now()) + 1,
    );
    this.#timer.unref();
  }
}
