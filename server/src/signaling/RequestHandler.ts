import { type ClientMessage, ErrorCode, ProtocolError, type ResultOf } from '@meetopia/protocol';
import type { Lobby } from '../matchmaking/Lobby.js';
import type { QualityMonitor } from '../quality/QualityMonitor.js';
import type { SessionService } from '../session/SessionService.js';
import type { Connection } from './Connection.js';

export type RequestHandlerOptions = {
  sessions: SessionService;
  lobby: Lobby;
  quality: QualityMonitor;
  now: () => number;
};

/** Routes each validated request to the part of the server that owns it. */
export class RequestHandler {
  readonly #options: RequestHandlerOptions;

  constructor(options: RequestHandlerOptions) {
    this.#options = options;
  }

  async handle(connection: Connection, message: ClientMessage): Promise<ResultOf<ClientMessage['type']>> {
    const { sessions, lobby, quality, now } = this.#options;
    if (message.type === 'hello') {
      if (connection.session)
        throw new ProtocolError(ErrorCode.OutOfOrder, 'hello was already sent on this connection');
      const { session, result } = await sessions.hello(connection, message.resumeToken);
      connection.session = session;
      return result;
    }
    const session = connection.session;
    if (!session) throw new ProtocolError(ErrorCode.OutOfOrder, 'send hello first');
    const media = session.media;
    switch (message.type) {
      case 'setRtpCapabilities':
        media.setRtpCapabilities(message.rtpCapabilities);
        return {};
      case 'createTransport':
        return media.createTransport(message.direction);
      case 'connectTransport':
        await media.connectTransport(message.transportId, message.dtlsParameters);
        return {};
      case 'restartIce':
        return { iceParameters: await media.restartIce(message.transportId) };
      case 'produce': {
        const producer = await media.produce(message.transportId, message.kind, message.rtpParameters);
        return { producerId: producer.id };
      }
      case 'closeProducer':
        media.closeProducer(message.producerId);
        return {};
      case 'resumeConsumer':
        await media.resumeConsumer(message.consumerId);
        return {};
      case 'start':
        lobby.start(session);
        return {};
      case 'next':
        lobby.next(session);
        return {};
      case 'stop':
        lobby.stop(session);
        return {};
      case 'chat':
        return { message: lobby.chat(session, message.pairId, message.text, message.clientMessageId, now()) };
      case 'setMediaMode':
        lobby.setMediaMode(session, message.mode, message.reason);
        return {};
      case 'qualityReport':
        quality.report(session, message.report, now());
        return {};
      case 'ping':
        return { ts: now() };
      default:
        return assertUnreachable(message);
    }
  }
}

function assertUnreachable(value: never): never {
  throw new Error(`unhandled message ${JSON.stringify(value)}`);
}
