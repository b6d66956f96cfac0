import {
  type ClientMessage,
  ErrorCode,
  type ExperienceReport,
  normaliseInterests,
  ProtocolError,
  type ResultOf,
} from '@meetopia/protocol';
import type { Lobby } from '../matchmaking/Lobby.js';
import type { QualityMonitor } from '../quality/QualityMonitor.js';
import type { FloodLimits } from '../safety/FloodLimits.js';
import type { Safety } from '../safety/Safety.js';
import type { Session } from '../session/Session.js';
import type { SessionService } from '../session/SessionService.js';
import type { Connection } from './Connection.js';

/** Where clients' service-level reports go (validated and bounded there). */
export type ExperienceSink = { report(session: Session, report: ExperienceReport, now: number): void };

export type RequestHandlerOptions = {
  sessions: SessionService;
  lobby: Lobby;
  quality: QualityMonitor;
  safety: Safety;
  flood: FloodLimits;
  experience?: ExperienceSink;
  now: () => number;
};

/** Requests that change what a session's record holds (written to a shared store, if any). */
const RECORDED = new Set<ClientMessage['type']>([
  'acceptRules',
  'setPreferences',
  'setTrackEnabled',
  'start',
  'stop',
  'setMediaMode',
  'report',
  'block',
]);

/** Routes each validated request to the part of the server that owns it. */
export class RequestHandler {
  readonly #options: RequestHandlerOptions;

  constructor(options: RequestHandlerOptions) {
    this.#options = options;
  }

  async handle(connection: Connection, message: ClientMessage): Promise<ResultOf<ClientMessage['type']>> {
    const { sessions } = this.#options;
    if (message.type === 'hello') {
      if (connection.session)
        throw new ProtocolError(ErrorCode.OutOfOrder, 'hello was already sent on this connection');
      const { session, result } = await sessions.hello(connection, message.resumeToken, message.deviceId);
      connection.session = session;
      return result;
    }
    const session = connection.session;
    if (!session) throw new ProtocolError(ErrorCode.OutOfOrder, 'send hello first');
    const result = await this.#route(session, message);
    if (RECORDED.has(message.type)) sessions.changed(session);
    return result;
  }

  async #route(
    session: Session,
    message: Exclude<ClientMessage, { type: 'hello' }>,
  ): Promise<ResultOf<ClientMessage['type']>> {
    const { lobby, quality, safety, flood, now } = this.#options;
    const media = session.media;
    switch (message.type) {
      case 'acceptRules':
        if (message.version !== safety.rules.version) {
          throw new ProtocolError(ErrorCode.OutOfOrder, 'the rules have changed: read and accept the new ones');
        }
        session.rulesAccepted = true;
        return {};
      case 'setPreferences': {
        const { preferences } = message;
        session.preferences = { ...preferences, interests: normaliseInterests(preferences.interests) };
        await lobby.preferencesChanged(session);
        return { profile: { ...session.preferences, country: session.country } };
      }
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
      case 'setTrackEnabled':
        await lobby.setTrackEnabled(session, message.kind, message.enabled);
        return {};
      case 'resumeConsumer':
        await media.resumeConsumer(message.consumerId);
        return {};
      case 'start':
        await flood.skip(session.id);
        await lobby.start(session);
        return {};
      case 'next':
        await flood.skip(session.id);
        await lobby.next(session);
        return {};
      case 'stop':
        await lobby.stop(session);
        return {};
      case 'chat': {
        const pair = session.pair;
        // A line re-sent after a resume is not a repeat; anything new passes the flood check.
        if (pair?.id === message.pairId && !pair.hasChat(session, message.clientMessageId)) {
          flood.chat(session.id, message.text, now());
        }
        return { message: lobby.chat(session, message.pairId, message.text, message.clientMessageId, now()) };
      }
      case 'setMediaMode':
        lobby.setMediaMode(session, message.mode, message.reason);
        return {};
      case 'qualityReport':
        quality.report(session, message.report, now());
        return {};
      case 'report':
        await lobby.report(session, message.reason, message.text);
        return {};
      case 'block':
        await lobby.block(session);
        return {};
      case 'experience':
        this.#options.experience?.report(session, message.report, now());
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
