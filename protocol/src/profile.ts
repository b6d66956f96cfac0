/**
 * What a user may say about whom they would like to meet, and what a match tells both sides.
 * Shared by server and client so that both normalise interests the same way and the page can
 * show exactly what the server will use.
 */
import { z } from 'zod';

/** Interests a user may list. */
export const MAX_INTERESTS = 5;
/** Longest interest after normalisation, in characters. */
export const MAX_INTEREST_LENGTH = 30;
/** Longest raw interest the server reads at all (before trimming and collapsing spaces). */
const MAX_RAW_INTEREST_LENGTH = 64;

/** Letters and digits of any script, with single spaces and a few joiners inside ("c++", "rock & roll"). */
const INTEREST_PATTERN = /^[\p{L}\p{N}](?:[\p{L}\p{N}\p{M} '&+#.-]*[\p{L}\p{N}\p{M}+#])?$/u;

/**
 * One interest as matching uses it: NFKC, trimmed, inner spaces collapsed, lower-cased. Null
 * when nothing usable is left or it breaks the length or character rules.
 */
export function normaliseInterest(raw: string): string | null {
  const value = raw.normalize('NFKC').trim().replace(/\s+/g, ' ').toLocaleLowerCase('en-US');
  if (value.length === 0 || value.length > MAX_INTEREST_LENGTH || !INTEREST_PATTERN.test(value)) return null;
  return value;
}

/** Normalised, de-duplicated interests in the order given (unusable ones are left out; the schema refuses them first). */
export function normaliseInterests(raw: readonly string[]): string[] {
  const seen = new Set<string>();
  for (const item of raw) {
    const value = normaliseInterest(item);
    if (value !== null) seen.add(value);
  }
  return [...seen];
}

/** ISO 639-1 codes: the languages a user may say they speak. */
export const LANGUAGES = [
  'aa',
  'ab',
  'af',
  'ak',
  'am',
  'an',
  'ar',
  'as',
  'av',
  'ay',
  'az',
  'ba',
  'be',
  'bg',
  'bi',
  'bm',
  'bn',
  'bo',
  'br',
  'bs',
  'ca',
  'ce',
  'ch',
  'co',
  'cr',
  'cs',
  'cv',
  'cy',
  'da',
  'de',
  'dv',
  'dz',
  'ee',
  'el',
  'en',
  'eo',
  'es',
  'et',
  'eu',
  'fa',
  'ff',
  'fi',
  'fj',
  'fo',
  'fr',
  'fy',
  'ga',
  'gd',
  'gl',
  'gn',
  'gu',
  'gv',
  'ha',
  'he',
  'hi',
  'ho',
  'hr',
  'ht',
  'hu',
  'hy',
  'hz',
  'id',
  'ig',
  'ii',
  'ik',
  'is',
  'it',
  'iu',
  'ja',
  'jv',
  'ka',
  'kg',
  'ki',
  'kj',
  'kk',
  'kl',
  'km',
  'kn',
  'ko',
  'kr',
  'ks',
  'ku',
  'kv',
  'kw',
  'ky',
  'la',
  'lb',
  'lg',
  'li',
  'ln',
  'lo',
  'lt',
  'lu',
  'lv',
  'mg',
  'mh',
  'mi',
  'mk',
  'ml',
  'mn',
  'mr',
  'ms',
  'mt',
  'my',
  'na',
  'nb',
  'nd',
  'ne',
  'ng',
  'nl',
  'nn',
  'no',
  'nr',
  'nv',
  'ny',
  'oc',
  'oj',
  'om',
  'or',
  'os',
  'pa',
  'pl',
  'ps',
  'pt',
  'qu',
  'rm',
  'rn',
  'ro',
  'ru',
  'rw',
  'sa',
  'sc',
  'sd',
  'se',
  'sg',
  'si',
  'sk',
  'sl',
  'sm',
  'sn',
  'so',
  'sq',
  'sr',
  'ss',
  'st',
  'su',
  'sv',
  'sw',
  'ta',
  'te',
  'tg',
  'th',
  'ti',
  'tk',
  'tl',
  'tn',
  'to',
  'tr',
  'ts',
  'tt',
  'tw',
  'ty',
  'ug',
  'uk',
  'ur',
  'uz',
  've',
  'vi',
  'wa',
  'wo',
  'xh',
  'yi',
  'yo',
  'za',
  'zh',
  'zu',
] as const;
export type Language = (typeof LANGUAGES)[number];
export const languageSchema = z.enum(LANGUAGES, { error: 'must be a two-letter ISO 639-1 language code' });

/** The primary language of a BCP 47 tag ("pt-BR" → "pt"), or null when it is not one we know. */
export function languageOf(tag: string | undefined | null): Language | null {
  const primary = tag?.split(/[-_]/)[0]?.toLowerCase();
  const parsed = languageSchema.safeParse(primary);
  return parsed.success ? parsed.data : null;
}

/** Anywhere (the default), or people from the user's own country first. */
export const countryPreferenceSchema = z.enum(['any', 'same']);
export type CountryPreference = z.infer<typeof countryPreferenceSchema>;

const interestSchema = z
  .string()
  .max(MAX_RAW_INTEREST_LENGTH)
  .refine((value) => normaliseInterest(value) !== null, {
    error: `each interest: 1 to ${MAX_INTEREST_LENGTH} letters, digits, spaces or ' & + # . -`,
  });

/** A user's matching preferences, as sent before Start (and between conversations). */
export const preferencesSchema = z.strictObject({
  /** Up to five interests, normalised by the server (see `normaliseInterest`). */
  interests: z.array(interestSchema).max(MAX_INTERESTS, { error: `at most ${MAX_INTERESTS} interests` }),
  /** The language the user speaks; null: not said. */
  language: languageSchema.nullable(),
  countryPreference: countryPreferenceSchema,
  /** Text chat only, by choice: such users meet each other first. */
  textOnly: z.boolean(),
});
export type Preferences = z.infer<typeof preferencesSchema>;

export const defaultPreferences: Preferences = {
  interests: [],
  language: null,
  countryPreference: 'any',
  textOnly: false,
};

/** ISO 3166-1 alpha-2 country code, upper case. */
export const countryCodeSchema = z.string().regex(/^[A-Z]{2}$/);

/** What the server holds for the user: their (normalised) preferences and the country it found for them. */
export const matchProfileSchema = preferencesSchema.extend({
  /** From the client address in an offline GeoIP database; null when unknown. */
  country: countryCodeSchema.nullable(),
});
export type MatchProfile = z.infer<typeof matchProfileSchema>;

/** What two matched users have in common, shown to both. */
export const sharedSchema = z.strictObject({
  interests: z.array(z.string().max(MAX_INTEREST_LENGTH)).max(MAX_INTERESTS),
  /** The country both are from, when both asked for their own country first. */
  country: countryCodeSchema.nullable(),
});
export type Shared = z.infer<typeof sharedSchema>;

/**
 * How wide a waiting user's search is: strong matches only (shared interests, own country when
 * asked, text-only with text-only), then good ones, then anyone allowed.
 */
export const searchStageSchema = z.enum(['strong', 'wider', 'anyone']);
export type SearchStage = z.infer<typeof searchStageSchema>;
