/**
 * Messages between the instances of one deployment (only with a shared store): what one
 * instance's user does that the partner on another instance must see, and the requests that
 * join their media. Each instance reads its own inbox in order; nothing sent is lost while a
 * connection to the store drops and comes back.
 */
export type RelayMessage = { readonly type: string } & Record<string, unknown>;

/** A request the other instance did not answer in time: it may be busy, or gone. */
export class RelayTimeoutError extends Error {
  override readonly name = 'RelayTimeoutError';
}

/** Answers a request from another instance (the reply goes back to it), or ignores the message. */
export type RelayHandler = (message: RelayMessage, from: string) => Promise<RelayMessage | undefined> | undefined;

export interface InstanceRelay {
  /** This instance's id. */
  readonly self: string;
  /** Sends a message to one instance's inbox. */
  send(instance: string, message: RelayMessage): Promise<void>;
  /**
   * Sends a request and waits for the handler there to answer (a `RelayTimeoutError` after
   * `timeoutMs`). `onLate` gets an answer that comes after that (to undo what it set up there).
   */
  request(
    instance: string,
    message: RelayMessage,
    timeoutMs: number,
    onLate?: (reply: RelayMessage) => void,
  ): Promise<RelayMessage>;
  /** Handlers see every message in the order it arrived; the first that answers a request replies. */
  onMessage(handler: RelayHandler): void;
  /** Which of these instances are alive (their heartbeat is recent); rejects when that is unknown. */
  alive(instances: Iterable<string>): Promise<Set<string>>;
}
