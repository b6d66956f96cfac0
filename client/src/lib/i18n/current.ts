import { createTranslator, type Locale, pickLocale } from './i18n.js';

/** The page's language: the browser's first language we have a translation for. */
export const locale: Locale = pickLocale(
  typeof navigator === 'undefined' ? [] : (navigator.languages ?? [navigator.language]),
);

/** Sentences in the page's language. */
export const t = createTranslator(locale);
