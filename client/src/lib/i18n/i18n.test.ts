import { describe, expect, it } from 'vitest';
import { en } from './en.js';
import { catalogues, createTranslator, durationIn, interpolate, pickLocale, placeholdersOf } from './i18n.js';

describe('pickLocale()', () => {
  it('takes the first browser language we have a translation for', () => {
    expect(pickLocale(['fr-FR', 'de-AT', 'en'])).toBe('de');
    expect(pickLocale(['en-GB', 'de'])).toBe('en');
  });

  it('falls back to English', () => {
    expect(pickLocale(['ja-JP'])).toBe('en');
    expect(pickLocale([])).toBe('en');
  });

  it('reads underscores and upper case', () => {
    expect(pickLocale(['DE_ch'])).toBe('de');
  });
});

describe('interpolate()', () => {
  it('fills every placeholder, as often as it occurs', () => {
    expect(interpolate('{a} and {b}, {a}', { a: 1, b: 'two' })).toBe('1 and two, 1');
  });

  it('leaves a placeholder without a value visible', () => {
    expect(interpolate('Hello {name}', {})).toBe('Hello {name}');
  });

  it('does not read inherited properties as values', () => {
    expect(interpolate('{constructor}', {})).toBe('{constructor}');
  });
});

describe('createTranslator()', () => {
  it('looks sentences up in the chosen language', () => {
    expect(createTranslator('en')('controls.next')).toBe('Next');
    expect(createTranslator('de')('controls.next')).toBe('Weiter');
    expect(createTranslator('de')('shared.interests', { interests: 'jazz' })).toBe('Ihr mögt beide: jazz');
  });
});

describe('catalogues', () => {
  for (const [locale, catalogue] of Object.entries(catalogues)) {
    it(`${locale} is complete: every key, no extra ones, no empty sentence`, () => {
      expect(Object.keys(catalogue).sort()).toEqual(Object.keys(en).sort());
      for (const text of Object.values(catalogue)) expect(text.trim()).not.toBe('');
    });

    it(`${locale} keeps each sentence's placeholders`, () => {
      for (const [key, text] of Object.entries(en)) {
        expect(placeholdersOf(catalogue[key as keyof typeof en]), key).toEqual(placeholdersOf(text));
      }
    });
  }
});

describe('durationIn()', () => {
  it('writes time left with the language’s units', () => {
    expect(durationIn(createTranslator('en'), 86_399_000)).toBe('23 h 59 min');
    expect(durationIn(createTranslator('de'), 5_000)).toBe('5 Sek.');
  });
});
