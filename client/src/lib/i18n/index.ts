export { locale, t } from './current.js';
export type { Catalogue, MessageKey } from './en.js';
export {
  catalogues,
  createTranslator,
  durationIn,
  interpolate,
  type Locale,
  pickLocale,
  placeholdersOf,
  type Translate,
} from './i18n.js';
