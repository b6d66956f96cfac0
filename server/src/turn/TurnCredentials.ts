import { createHmac } from 'node:crypto';
import type { IceServer } from '@meetopia/protocol';
import type { Config } from '../config/config.js';

export type MintedIceServers = {
  iceServers: IceServer[];
  /** When the credentials stop working, ms since the epoch. */
  expiresAt: number;
};

/**
 * Short-lived TURN credentials in the TURN REST API scheme that coturn checks with
 * `use-auth-secret`: username `<expiry unix seconds>:<session id>`, password the base64
 * HMAC-SHA1 of the username keyed with the shared secret. The secret never leaves the server.
 */
export class TurnCredentials {
  readonly #config: Config['turn'];
  readonly #now: () => number;

  constructor(config: Config['turn'], now: () => number) {
    this.#config = config;
    this.#now = now;
  }

  /** Whether TURN is configured at all. */
  get enabled(): boolean {
    return this.#config.secret !== undefined && this.#config.urls.length > 0;
  }

  /** How long minted credentials live, ms. */
  get ttlMs(): number {
    return this.#config.ttlSeconds * 1000;
  }

  mint(sessionId: string): MintedIceServers {
    const secret = this.#config.secret;
    const expiresAt = this.#now() + this.ttlMs;
    if (secret === undefined || this.#config.urls.length === 0) return { iceServers: [], expiresAt };
    const username = `${Math.floor(expiresAt / 1000)}:${sessionId}`;
    const credential = turnPassword(secret, username);
    return { iceServers: [{ urls: [...this.#config.urls], username, credential }], expiresAt };
  }
}

/** The TURN REST API password for a username. */
export function turnPassword(secret: string, username: string): string {
  return createHmac('sha1', secret).update(username).digest('base64');
}
