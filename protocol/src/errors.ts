/** Every error the server can report to a client, with the code the client sees. */
export const ErrorCode = {
  /** The frame was not valid JSON. */
  BadJson: 'bad-json',
  /** Valid JSON, but not a message of this protocol (unknown type, wrong field types, extra fields). */
  InvalidMessage: 'invalid-message',
  /** The frame was larger than the protocol allows. */
  MessageTooLarge: 'message-too-large',
  /** Too many messages from this connection or address. */
  RateLimited: 'rate-limited',
  /** A valid message that makes no sense in the current state (e.g. `produce` before `hello`). */
  OutOfOrder: 'out-of-order',
  /** A transport, producer or consumer id that this session does not own. */
  UnknownId: 'unknown-id',
  /** A message that needs a partner (chat) while the user has none. */
  NotPaired: 'not-paired',
  /** A resume token that is forged, expired, already used or belongs to another session. */
  InvalidToken: 'invalid-token',
  /** mediasoup refused the request (bad RTP or DTLS parameters, unsupported codec…). */
  MediaError: 'media-error',
  /** `start` before the visitor confirmed the site's rules and their age. */
  RulesNotAccepted: 'rules-not-accepted',
  /** This device or address is banned for a while; `retryAfterMs` says how long. */
  Banned: 'banned',
  /** A chat line refused as spam (the same line again and again, or too many links). */
  Spam: 'spam',
  /**
   * A check the server must make cannot be made for a moment (its shared store is unreachable);
   * `retryAfterMs` says when to try again. Nothing changed.
   */
  Unavailable: 'unavailable',
  /** The server is shutting down and takes no new work. */
  ShuttingDown: 'shutting-down',
  /** A bug on our side; the message changed nothing that the client can observe. */
  Internal: 'internal',
} as const;

export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** An error with a protocol code, thrown by the server's handlers and turned into an error reply. */
export class ProtocolError extends Error {
  /** The code sent to the client. */
  readonly code: ErrorCode;
  /** When trying again makes sense (rate limits, bans), how long to wait, ms. */
  readonly retryAfterMs: number | undefined;

  constructor(code: ErrorCode, message: string, options: { retryAfterMs?: number } = {}) {
    super(message);
    this.name = 'ProtocolError';
    this.code = code;
    this.retryAfterMs = options.retryAfterMs;
  }
}
