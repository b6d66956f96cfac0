import type { Preferences, SearchStage } from '@meetopia/protocol';
import type { Translate } from '../i18n/i18n.js';

/**
 * What a waiting user is told about the search: whom it looks for now, and how it widens; or,
 * while matching is held, that it is paused and their place kept.
 */
export function searchSentence(
  stage: SearchStage | null,
  preferences: Preferences,
  t: Translate,
  held = false,
): string {
  if (held) return t('waiting.held');
  switch (stage) {
    case 'strong':
      if (preferences.interests.length > 0) {
        return t('waiting.strongInterests', { interests: preferences.interests.join(', ') });
      }
      if (preferences.countryPreference === 'same') return t('waiting.strongCountry');
      if (preferences.textOnly) return t('waiting.strongTextOnly');
      return t('waiting.strong');
    case 'wider':
      return t('waiting.wider');
    case 'anyone':
      return t('waiting.anyone');
    default:
      return t('waiting.default');
  }
}
