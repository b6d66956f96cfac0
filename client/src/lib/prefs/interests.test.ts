import { MAX_INTERESTS } from '@meetopia/protocol';
import { describe, expect, it } from 'vitest';
import { addInterests, removeInterest, splitDraft } from './interests.js';

describe('addInterests()', () => {
  it('normalises like the server: trimmed, lower-cased, inner spaces collapsed', () => {
    expect(addInterests([], '  Jazz   Music ').interests).toEqual(['jazz music']);
  });

  it('adds several interests separated by commas, in order', () => {
    expect(addInterests(['chess'], 'jazz, Football ,c++').interests).toEqual(['chess', 'jazz', 'football', 'c++']);
  });

  it('does not add the same interest twice', () => {
    const result = addInterests(['jazz'], 'JAZZ, jazz');
    expect(result.interests).toEqual(['jazz']);
    expect(result.rejected).toEqual([]);
  });

  it(`stops at ${MAX_INTERESTS} and says the list is full`, () => {
    const result = addInterests(['a1', 'b2', 'c3', 'd4'], 'e5, f6');
    expect(result.interests).toEqual(['a1', 'b2', 'c3', 'd4', 'e5']);
    expect(result.full).toBe(true);
  });

  it('rejects what the server would refuse, as typed', () => {
    const result = addInterests([], `jazz, <script>, ${'x'.repeat(31)}`);
    expect(result.interests).toEqual(['jazz']);
    expect(result.rejected).toEqual(['<script>', 'x'.repeat(31)]);
  });

  it('ignores empty parts', () => {
    expect(addInterests([], ' , ,').interests).toEqual([]);
    expect(addInterests([], ' , ,').rejected).toEqual([]);
  });
});

describe('removeInterest()', () => {
  it('removes one chip and keeps the order of the others', () => {
    expect(removeInterest(['a', 'b', 'c'], 'b')).toEqual(['a', 'c']);
  });
});

describe('splitDraft()', () => {
  it('keeps typing without a comma in the field', () => {
    expect(splitDraft('jaz')).toEqual({ complete: null, rest: 'jaz' });
  });

  it('turns the text before the last comma into chips and keeps the rest', () => {
    expect(splitDraft('jazz, chess,foo')).toEqual({ complete: 'jazz, chess', rest: 'foo' });
    expect(splitDraft('jazz,')).toEqual({ complete: 'jazz', rest: '' });
  });
});
