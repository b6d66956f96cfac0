import { defaultPreferences, languageOf, type Preferences, preferencesSchema } from '@meetopia/protocol';
import type { KeyValueStore } from '../safety/deviceId.js';

const PREFERENCES_KEY = 'meetopia.preferences';

/** The preferences kept from the last visit, or the defaults with the browser's language. */
export function loadPreferences(store: KeyValueStore | null, browserLanguage: string | undefined): Preferences {
  try {
    const raw = store?.getItem(PREFERENCES_KEY);
    if (raw) {
      const parsed = preferencesSchema.safeParse(JSON.parse(raw));
      if (parsed.success) return parsed.data;
    }
  } catch {
    // Unreadable or refused: start from the defaults.
  }
  return { ...defaultPreferences, language: languageOf(browserLanguage) };
}

export function savePreferences(store: KeyValueStore | null, preferences: Preferences): void {
  try {
    store?.setItem(PREFERENCES_KEY, JSON.stringify(preferences));
  } catch {
    // Not kept for the next visit.
  }
}

/** Whether the server's profile already says what the user chose (the detected country aside). */
export function samePreferences(a: Preferences, b: Preferences): boolean {
  return (
    a.language === b.language &&
    a.countryPreference === b.countryPreference &&
    a.textOnly === b.textOnly &&
    a.interests.length === b.interests.length &&
    a.interests.every((interest, index) => b.interests[index] === interest)
  );
}
