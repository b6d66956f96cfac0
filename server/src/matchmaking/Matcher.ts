/**
 * The queue of users waiting for a partner. Pure logic: no I/O, time comes from the injected
 * clock, and pairs are only formed when `drain()` is called.
 *
 * Rules:
 * - first come, first served; `enqueue(id, { priority: true })` jumps ahead of newcomers (a user
 *   whose partner vanished has already waited);
 * - a user is never paired with themselves (an id is in the queue at most once);
 * - two users who just parted (a skip) are not paired again until `cooldownMs` has passed, so
 *   that Next really brings someone new whenever someone else is waiting;
 * - among the users a waiter may be paired with, a preferred one is taken first.
 */
export type MatcherOptions<Id> = {
  /** How long two users who just parted are kept apart. */
  cooldownMs: number;
  now: () => number;
  /**
   * Partners this user would rather have (e.g. on the same media worker). The longest waiter is
   * still matched at once; the preference only chooses among those waiting.
   */
  prefers?: (a: Id, b: Id) => boolean;
};

export class Matcher<Id> {
  /** Waiting users in pairing order. */
  #queue: Id[] = [];
  /** Ids that were re-queued with priority and are still waiting (always a prefix of the queue). */
  #priority = new Set<Id>();
  /** For each user, the users they are kept apart from and when that ends (stored both ways). */
  #apart = new Map<Id, Map<Id, number>>();
  readonly #options: MatcherOptions<Id>;

  constructor(options: MatcherOptions<Id>) {
    this.#options = options;
  }

  /** Number of users waiting. */
  get size(): number {
    return this.#queue.length;
  }

  has(id: Id): boolean {
    return this.#queue.includes(id);
  }

  /** Adds a user to the queue (no-op when already waiting). */
  enqueue(id: Id, options: { priority?: boolean } = {}): void {
    if (this.has(id)) return;
    if (options.priority) {
      // Ahead of newcomers, behind other priority users who were there first.
      this.#queue.splice(this.#priorityCount(), 0, id);
      this.#priority.add(id);
    } else {
      this.#queue.push(id);
    }
  }

  /** Removes a user from the queue; returns whether they were waiting. */
  remove(id: Id): boolean {
    const index = this.#queue.indexOf(id);
    if (index === -1) return false;
    this.#queue.splice(index, 1);
    this.#priority.delete(id);
    return true;
  }

  /** Keeps two users from being paired again until the cooldown ends. */
  keepApart(a: Id, b: Id): void {
    if (this.#options.cooldownMs <= 0) return;
    const until = this.#options.now() + this.#options.cooldownMs;
    for (const [x, y] of [
      [a, b],
      [b, a],
    ] as const) {
      let bans = this.#apart.get(x);
      if (!bans) {
        bans = new Map();
        this.#apart.set(x, bans);
      }
      bans.set(y, until);
    }
  }

  /** Earliest time a cooldown ends, so the caller knows when to drain again (null: none pending). */
  nextCooldownEnd(): number | null {
    let earliest: number | null = null;
    for (const bans of this.#apart.values()) {
      for (const until of bans.values()) {
        if (earliest === null || until < earliest) earliest = until;
      }
    }
    return earliest;
  }

  /**
   * Forms as many pairs as the rules allow, removing them from the queue, oldest waiters first.
   * `avoid` keeps one more pair apart for this drain only (two users who parted this instant,
   * even with no cooldown configured).
   */
  drain(avoid?: readonly [Id, Id]): Array<[Id, Id]> {
    this.#expireCooldowns();
    const pairs: Array<[Id, Id]> = [];
    let i = 0;
    for (let first = this.#queue[i]; first !== undefined; first = this.#queue[i]) {
      const avoided = (other: Id) =>
        avoid !== undefined &&
        ((avoid[0] === first && avoid[1] === other) || (avoid[1] === first && avoid[0] === other));
      const allowed = (other: Id, j: number) => j > i && !this.#isApart(first, other) && !avoided(other);
      const prefers = this.#options.prefers;
      let partnerIndex = prefers ? this.#queue.findIndex((other, j) => allowed(other, j) && prefers(first, other)) : -1;
      if (partnerIndex === -1) partnerIndex = this.#queue.findIndex(allowed);
      const partner = this.#queue[partnerIndex];
      if (partner === undefined) {
        i += 1;
        continue;
      }
      this.#queue.splice(partnerIndex, 1);
      this.#queue.splice(i, 1);
      this.#priority.delete(first);
      this.#priority.delete(partner);
      pairs.push([first, partner]);
    }
    return pairs;
  }

  #priorityCount(): number {
    const index = this.#queue.findIndex((id) => !this.#priority.has(id));
    return index === -1 ? this.#queue.length : index;
  }

  #isApart(a: Id, b: Id): boolean {
    const until = this.#apart.get(a)?.get(b);
    return until !== undefined && until > this.#options.now();
  }

  #expireCooldowns(): void {
    const now = this.#options.now();
    for (const [id, bans] of this.#apart) {
      for (const [other, until] of bans) {
        if (until <= now) bans.delete(other);
      }
      if (bans.size === 0) this.#apart.delete(id);
    }
  }
}
