import type { KeyValueStore } from './deviceId.js';

const RULES_KEY = 'meetopia.rulesAccepted';

/**
 * Which version of the site's rules this browser accepted (with the 18+ confirmation). A new
 * version of the rules (the admin changed the text) asks again.
 */
export class RulesConsent {
  readonly #store: KeyValueStore | null;

  constructor(store: KeyValueStore | null) {
    this.#store = store;
  }

  /** True when this browser accepted exactly this version. */
  accepted(version: string): boolean {
    try {
      return this.#store?.getItem(RULES_KEY) === version;
    } catch {
      return false;
    }
  }

  remember(version: string): void {
    try {
      this.#store?.setItem(RULES_KEY, version);
    } catch {
      // Storage refused: the gate shows again on the next visit.
    }
  }
}
