import { defaultPreferences, type Preferences } from '@meetopia/protocol';
import { describe, expect, it } from 'vitest';
import { createTranslator } from '../i18n/i18n.js';
import type { KeyValueStore } from '../safety/deviceId.js';
import { loadPreferences, samePreferences, savePreferences } from './preferencesStore.js';
import { searchSentence } from './searchSentence.js';

const t = createTranslator('en');

function memoryStore(): KeyValueStore {
  const data = new Map<string, string>();
  return { getItem: (key) => data.get(key) ?? null, setItem: (key, value) => void data.set(key, value) };
}

describe('searchSentence()', () => {
  const jazz: Preferences = { ...defaultPreferences, interests: ['jazz', 'chess'] };

  it('names the interests while the search is strict', () => {
    expect(searchSentence('strong', jazz, t)).toBe('Looking for people who like jazz, chess…');
  });

  it('says the search widens, then that anyone will do', () => {
    expect(searchSentence('wider', jazz, t)).toBe('Widening the search…');
    expect(searchSentence('anyone', jazz, t)).toContain('Anyone is welcome now');
  });

  it('speaks of the country or text chat when those are what the user asked for', () => {
    expect(searchSentence('strong', { ...defaultPreferences, countryPreference: 'same' }, t)).toContain('country');
    expect(searchSentence('strong', { ...defaultPreferences, textOnly: true }, t)).toContain('text chat');
  });

  it('has a plain sentence before the server says anything', () => {
    expect(searchSentence(null, defaultPreferences, t)).toBe('Looking for someone to talk to…');
  });

  it('says matching is paused, and the place kept, while it is held, whatever the stage', () => {
    for (const stage of [null, 'strong', 'anyone'] as const) {
      expect(searchSentence(stage, jazz, t, true)).toBe(
        'Matching is paused for a moment while the service reconnects — you keep your place.',
      );
    }
  });
});

describe('loadPreferences()', () => {
  it("defaults to the browser's language", () => {
    expect(loadPreferences(memoryStore(), 'pt-BR')).toEqual({ ...defaultPreferences, language: 'pt' });
    expect(loadPreferences(null, 'xx')).toEqual(defaultPreferences);
  });

  it('returns what was saved, and ignores something broken', () => {
    const store = memoryStore();
    const saved: Preferences = { interests: ['jazz'], language: 'de', countryPreference: 'same', textOnly: true };
    savePreferences(store, saved);
    expect(loadPreferences(store, 'en')).toEqual(saved);
    store.setItem('meetopia.preferences', '{"interests": 5}');
    expect(loadPreferences(store, 'en').language).toBe('en');
  });
});

describe('samePreferences()', () => {
  it('compares every field, interests in order', () => {
    const a: Preferences = { interests: ['a', 'b'], language: 'en', countryPreference: 'any', textOnly: false };
    expect(samePreferences(a, { ...a, interests: ['a', 'b'] })).toBe(true);
    expect(samePreferences(a, { ...a, interests: ['b', 'a'] })).toBe(false);
    expect(samePreferences(a, { ...a, textOnly: true })).toBe(false);
  });
});
