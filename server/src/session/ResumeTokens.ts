import { createHash, randomBytes } from 'node:crypto';

/**
 * Resume tokens: 32 random bytes, stored only as SHA-256 hashes. A token names exactly one
 * session, is single-use (each resume issues a new one) and dies with its session.
 */
export class ResumeTokens {
  /** Session id by token hash. */
  readonly #sessionByHash = new Map<string, string>();
  /** Current token hash by session id. */
  readonly #hashBySession = new Map<string, string>();

  /** Issues a fresh token for a session, revoking its previous one. */
  issue(sessionId: string): string {
    this.revoke(sessionId);
    const token = randomBytes(32).toString('base64url');
    const hash = hashToken(token);
    this.#sessionByHash.set(hash, sessionId);
    this.#hashBySession.set(sessionId, hash);
    return token;
  }

  /** Spends a token: returns its session id once, then never again. */
  redeem(token: string): string | null {
    const hash = hashToken(token);
    const sessionId = this.#sessionByHash.get(hash);
    if (sessionId === undefined) return null;
    this.#sessionByHash.delete(hash);
    this.#hashBySession.delete(sessionId);
    return sessionId;
  }

  revoke(sessionId: string): void {
    const hash = this.#hashBySession.get(sessionId);
    if (hash === undefined) return;
    this.#hashBySession.delete(sessionId);
    this.#sessionByHash.delete(hash);
  }

  get size(): number {
    return this.#hashBySession.size;
  }
}

/** How a token is kept (here and in a shared store): its SHA-256 hash. */
export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('base64url');
}
