import type { ParamsOf, RequestType, ResultOf, ServerMessage } from '@meetopia/protocol';
import type WebSocket from 'ws';

/** An error reply from the server. */
export class ErrorReply extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(`${code}: ${message}`);
  }
}

/** A `response` or `error` frame: what answers a request. */
export type Reply = Extract<ServerMessage, { type: 'response' | 'error' }>;

/**
 * The request side of the protocol, shared by the protocol clients of the tests and the load
 * benchmarks: numbers each request and settles it with the reply carrying its id.
 */
export class PendingRequests {
  #nextId = 1;
  readonly #pending = new Map<number, { resolve: (data: unknown) => void; reject: (error: Error) => void }>();

  /** Sends a request on `ws`: resolves with its response's data, rejects with an `ErrorReply`. */
  send<Type extends RequestType>(ws: WebSocket, type: Type, params: ParamsOf<Type>): Promise<ResultOf<Type>> {
    const id = this.#nextId++;
    ws.send(JSON.stringify({ ...params, id, type }));
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve: (data) => resolve(data as ResultOf<Type>), reject });
    });
  }

  /** Settles the request this reply answers; false when it answers none (e.g. an error about a bad frame). */
  settle(reply: Reply): boolean {
    const pending = reply.id === null ? undefined : this.#pending.get(reply.id);
    if (!pending || reply.id === null) return false;
    this.#pending.delete(reply.id);
    if (reply.type === 'response') pending.resolve(reply.data);
    else pending.reject(new ErrorReply(reply.error.code, reply.error.message));
    return true;
  }

  /** Rejects every request still waiting (the socket closed). */
  rejectAll(error: Error): void {
    for (const { reject } of this.#pending.values()) reject(error);
    this.#pending.clear();
  }
}
