import { formatDuration } from '../format/duration.js';
import { de } from './de.js';
import { type Catalogue, en, type MessageKey } from './en.js';

/** The languages the page ships, each complete. */
export const catalogues = { en, de } satisfies Record<string, Catalogue>;
export type Locale = keyof typeof catalogues;
export const DEFAULT_LOCALE: Locale = 'en';

export type MessageParams = Record<string, string | number>;
/** Looks up a sentence and fills in its `{placeholders}`. */
export type Translate = (key: MessageKey, params?: MessageParams) => string;

function isLocale(value: string): value is Locale {
  return Object.hasOwn(catalogues, value);
}

/** The first of the browser's languages (BCP 47 tags, most preferred first) that we have a translation for. */
export function pickLocale(languages: readonly string[]): Locale {
  for (const tag of languages) {
    const primary = tag.split(/[-_]/)[0]?.toLowerCase() ?? '';
    if (isLocale(primary)) return primary;
  }
  return DEFAULT_LOCALE;
}

/** `{name}` placeholders of a sentence, sorted (for checking that translations keep them). */
export function placeholdersOf(text: string): string[] {
  return [...text.matchAll(/\{(\w+)\}/g)].map((match) => match[1] ?? '').sort();
}

/** Fills `{name}` placeholders; one without a value stays visible rather than vanishing. */
export function interpolate(text: string, params: MessageParams = {}): string {
  return text.replace(/\{(\w+)\}/g, (whole, name: string) =>
    Object.hasOwn(params, name) ? String(params[name]) : whole,
  );
}

export function createTranslator(locale: Locale): Translate {
  const catalogue: Catalogue = catalogues[locale];
  return (key, params) => interpolate(catalogue[key] ?? en[key], params);
}

/** A time left in the page's language ("23 h 59 min"). */
export function durationIn(t: Translate, ms: number): string {
  return formatDuration(ms, {
    days: t('unit.days'),
    hours: t('unit.hours'),
    minutes: t('unit.minutes'),
    seconds: t('unit.seconds'),
  });
}
