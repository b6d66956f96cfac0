import { ErrorCode, ProtocolError } from '@meetopia/protocol';
import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';

export type FloodLimitOptions = {
  /** Start and Next presses allowed per session in `skipWindowMs`. */
  skipsPerWindow: number;
  skipWindowMs: number;
};

/** How many times the same line may be sent within `REPEAT_WINDOW_MS`. */
const MAX_REPEATS = 2;
const REPEAT_WINDOW_MS = 60_000;
/** Lines with a link allowed per session within `LINK_WINDOW_MS`. */
const MAX_LINKS = 3;
const LINK_WINDOW_MS = 60_000;
/** http(s)://, www., or a bare domain with a common top-level domain. */
const LINK_PATTERN =
  /\b(?:https?:\/\/|www\.)\S+|\b[a-z0-9-]+\.(?:com|net|org|io|ly|gg|me|co|xyz|info|ru|tk|app|link|site|online|top)\b/i;

type ChatHistory = { lines: Array<{ text: string; at: number }>; links: number[] };

/**
 * Skip and flood limits per session: Start and Next at a human pace (a clear "slow down" error,
 * never a disconnect), and no repeating the same chat line or spraying links. The chat check is
 * pure over the session's recent lines; the skip limit is rate-limiter-flexible's memory limiter.
 */
export class FloodLimits {
  readonly #skips: RateLimiterMemory;
  readonly #chat = new Map<string, ChatHistory>();

  constructor(options: FloodLimitOptions) {
    this.#skips = new RateLimiterMemory({
      points: options.skipsPerWindow,
      duration: Math.max(1, Math.round(options.skipWindowMs / 1000)),
    });
  }

  /** Throws rate-limited (with the time to wait) when this session presses Start/Next too fast. */
  async skip(sessionId: string): Promise<void> {
    try {
      await this.#skips.consume(sessionId);
    } catch (result) {
      const wait = result instanceof RateLimiterRes ? result.msBeforeNext : 1000;
      throw new ProtocolError(ErrorCode.RateLimited, 'slow down: too many Start/Next in a row', { retryAfterMs: wait });
    }
  }

  /** Throws spam when the line repeats a recent one too often or carries one link too many. */
  chat(sessionId: string, text: string, now: number): void {
    const history = this.#chat.get(sessionId) ?? { lines: [], links: [] };
    const normalised = text.trim().toLowerCase().replace(/\s+/g, ' ');
    history.lines = history.lines.filter((line) => now - line.at < REPEAT_WINDOW_MS);
    history.links = history.links.filter((at) => now - at < LINK_WINDOW_MS);
    if (history.lines.filter((line) => line.text === normalised).length >= MAX_REPEATS) {
      throw new ProtocolError(ErrorCode.Spam, 'you already sent that; say something else');
    }
    const hasLink = LINK_PATTERN.test(text);
    if (hasLink && history.links.length >= MAX_LINKS) {
      throw new ProtocolError(ErrorCode.Spam, 'too many links; wait a minute before sending another');
    }
    history.lines.push({ text: normalised, at: now });
    history.lines = history.lines.slice(-20);
    if (hasLink) history.links.push(now);
    this.#chat.set(sessionId, history);
  }

  /** Forgets a session that ended. */
  forget(sessionId: string): void {
    this.#chat.delete(sessionId);
    void this.#skips.delete(sessionId);
  }
}
