import { describe, expect, it } from 'vitest';
import { Matcher } from './Matcher.js';

function matcher(cooldownMs = 10_000) {
  const clock = { now: 0 };
  return { clock, queue: new Matcher<string>({ cooldownMs, now: () => clock.now }) };
}

describe('Matcher', () => {
  describe('drain()', () => {
    it('pairs two waiting users', () => {
      const { queue } = matcher();
      queue.enqueue('a');
      queue.enqueue('b');
      expect(queue.drain()).toEqual([['a', 'b']]);
      expect(queue.size).toBe(0);
    });

    it('leaves a lone user waiting', () => {
      const { queue } = matcher();
      queue.enqueue('a');
      expect(queue.drain()).toEqual([]);
      expect(queue.has('a')).toBe(true);
    });

    it('never pairs a user with themselves, even when enqueued twice', () => {
      const { queue } = matcher();
      queue.enqueue('a');
      queue.enqueue('a');
      expect(queue.size).toBe(1);
      expect(queue.drain()).toEqual([]);
    });

    it('pairs in arrival order', () => {
      const { queue } = matcher();
      for (const id of ['a', 'b', 'c', 'd', 'e']) queue.enqueue(id);
      expect(queue.drain()).toEqual([
        ['a', 'b'],
        ['c', 'd'],
      ]);
      expect(queue.has('e')).toBe(true);
    });

    it('keeps a skipped pair apart while someone else waits', () => {
      const { queue } = matcher();
      queue.keepApart('a', 'b');
      queue.enqueue('c');
      queue.enqueue('a');
      queue.enqueue('b');
      expect(queue.drain()).toEqual([['c', 'a']]);
      expect(queue.has('b')).toBe(true);
    });

    it('does not re-pair a skipped pair before the cooldown ends', () => {
      const { clock, queue } = matcher(10_000);
      queue.keepApart('a', 'b');
      queue.enqueue('a');
      queue.enqueue('b');
      expect(queue.drain()).toEqual([]);
      clock.now = 9_999;
      expect(queue.drain()).toEqual([]);
      clock.now = 10_000;
      expect(queue.drain()).toEqual([['a', 'b']]);
    });

    it('with no cooldown, a skipped pair can meet again at once when nobody else waits', () => {
      const { queue } = matcher(0);
      queue.keepApart('a', 'b');
      queue.enqueue('a');
      queue.enqueue('b');
      expect(queue.drain()).toEqual([['a', 'b']]);
    });

    it('keeps an avoided pair apart for that drain only', () => {
      const { queue } = matcher(0);
      queue.enqueue('a');
      queue.enqueue('b');
      expect(queue.drain(['a', 'b'])).toEqual([]);
      expect(queue.drain()).toEqual([['a', 'b']]);
    });

    it('the user who pressed Next meets the waiting user, not their skipped partner, despite preferences', () => {
      const queue = new Matcher<string>({
        cooldownMs: 0,
        now: () => 0,
        prefers: (x, y) => x !== 'skipper' && y !== 'skipper',
      });
      queue.enqueue('waiting');
      queue.enqueue('skipper', { priority: true });
      queue.enqueue('skipped');
      expect(queue.drain(['skipper', 'skipped'])).toEqual([['skipper', 'waiting']]);
      expect(queue.has('skipped')).toBe(true);
    });
  });

  it('works with object ids (sessions), keeping only the skipped pair apart', () => {
    const queue = new Matcher<{ name: string }>({ cooldownMs: 10_000, now: () => 0 });
    const [a, b, c] = [{ name: 'a' }, { name: 'b' }, { name: 'c' }];
    queue.keepApart(a, b);
    queue.enqueue(c);
    queue.enqueue(a);
    queue.enqueue(b);
    expect(queue.drain()).toEqual([[c, a]]);
  });

  it('prefers a partner the longest waiter prefers, without making anyone wait', () => {
    const workers: Record<string, number> = { a: 0, b: 1, c: 0, d: 1 };
    const queue = new Matcher<string>({ cooldownMs: 0, now: () => 0, prefers: (x, y) => workers[x] === workers[y] });
    for (const id of ['a', 'b', 'c', 'd']) queue.enqueue(id);
    expect(queue.drain()).toEqual([
      ['a', 'c'],
      ['b', 'd'],
    ]);
    queue.enqueue('a');
    queue.enqueue('b');
    expect(queue.drain()).toEqual([['a', 'b']]);
  });

  describe('enqueue() with priority', () => {
    it('puts a re-queued user ahead of newcomers', () => {
      const { queue } = matcher();
      queue.enqueue('new1');
      queue.enqueue('old', { priority: true });
      queue.enqueue('new2');
      expect(queue.drain()).toEqual([['old', 'new1']]);
    });

    it('keeps priority users in the order they came back', () => {
      const { queue } = matcher();
      queue.enqueue('n');
      queue.enqueue('p1', { priority: true });
      queue.enqueue('p2', { priority: true });
      expect(queue.drain()).toEqual([['p1', 'p2']]);
      expect(queue.has('n')).toBe(true);
    });
  });

  describe('remove()', () => {
    it('takes a user out of the queue', () => {
      const { queue } = matcher();
      queue.enqueue('a');
      expect(queue.remove('a')).toBe(true);
      expect(queue.remove('a')).toBe(false);
      queue.enqueue('b');
      expect(queue.drain()).toEqual([]);
    });
  });

  describe('nextCooldownEnd()', () => {
    it('tells when the earliest cooldown ends', () => {
      const { clock, queue } = matcher(1000);
      expect(queue.nextCooldownEnd()).toBeNull();
      queue.keepApart('a', 'b');
      clock.now = 500;
      queue.keepApart('c', 'd');
      expect(queue.nextCooldownEnd()).toBe(1000);
    });
  });
});
