import { type ClientMessage, ErrorCode, ProtocolError, type ResultOf } from '@meetopia/protocol';
import type { Connection } from '../signaling/Connection.js';
import { RequestHandler, type RequestHandlerOptions } from '../signaling/RequestHandler.js';
import type { ExperienceTracker } from './ExperienceTracker.js';

/**
 * The request handler, with every request it handled successfully shown to the experience
 * tracker: resumes, refused resumes and ICE restarts are the reconnections clients may report,
 * quality reports carry the media path. Observing never changes the reply.
 */
export class ObservingRequestHandler extends RequestHandler {
  readonly #experience: ExperienceTracker;
  /** Connections whose resume was refused (the session had expired): their next hello starts over. */
  readonly #refusedResume = new WeakSet<Connection>();

  constructor(options: RequestHandlerOptions & { experience: ExperienceTracker }) {
    super(options);
    this.#experience = options.experience;
  }

  override async handle(connection: Connection, message: ClientMessage): Promise<ResultOf<ClientMessage['type']>> {
    let result: ResultOf<ClientMessage['type']>;
    try {
      result = await super.handle(connection, message);
    } catch (error) {
      if (message.type === 'hello' && error instanceof ProtocolError && error.code === ErrorCode.InvalidToken) {
        this.#refusedResume.add(connection);
      }
      throw error;
    }
    const session = connection.session;
    if (session) {
      this.#experience.observe(session, message, { afterRefusedResume: this.#refusedResume.has(connection) });
    }
    return result;
  }
}
