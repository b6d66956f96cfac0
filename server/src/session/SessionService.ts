import {
  ErrorCode,
  type HelloResult,
  headerExtensionUriSchema,
  ProtocolError,
  rtpCapabilitiesSchema,
  rtpParametersSchema,
  type SessionSnapshot,
} from '@meetopia/protocol';
import type { SimulcastSettings } from '../admin/SimulcastSettings.js';
import type { Config } from '../config/config.js';
import type { GeoIp } from '../geo/GeoIp.js';
import type { AddressHasher } from '../identity/AddressHasher.js';
import type { Logger } from '../logger.js';
import type { Lobby } from '../matchmaking/Lobby.js';
import type { Safety } from '../safety/Safety.js';
import { transportLimits } from '../sfu/transportLimits.js';
import { UserMedia } from '../sfu/UserMedia.js';
import type { MediaWorker, WorkerPool } from '../sfu/WorkerPool.js';
import type { InstanceRelay } from '../store/InstanceRelay.js';
import type { TurnCredentials } from '../turn/TurnCredentials.js';
import { ResumeTokens } from './ResumeTokens.js';
import { type Presence, Session, type SessionIdentity, type SessionSocket } from './Session.js';
import { restoreSession, type SessionSync } from './SessionSync.js';

export type SessionServiceOptions = {
  config: Config;
  pool: WorkerPool;
  lobby: Lobby;
  turn: TurnCredentials;
  simulcast: SimulcastSettings;
  safety: Safety;
  geo: GeoIp;
  /** Keys the hashes of device ids and client addresses. */
  addresses: AddressHasher;
  logger: Logger;
  now: () => number;
  /**
   * With a shared store: sessions written there, so that another instance can take one over,
   * and the messages that ask an instance to hand a session over.
   */
  cluster?: { sync: SessionSync; relay: InstanceRelay };
  /** Called for every successful resume (metrics). */
  onResumed?: () => void;
  /** Called when a session ends for good. */
  onEnded?: (session: Session) => void;
};

/** How long a resumed session may stay `reconnecting` while its transports get ICE back. */
const RECONNECTING_LIMIT_MS = 15_000;

/**
 * How long a live instance has to hand a session over to the instance its page came back to (it
 * answers within milliseconds; one that was killed still looks alive for up to 6 s, and this is
 * what a take-over then waits for). A late answer is harmless: that instance lets go when it reads
 * the request.
 */
const HANDOVER_TIMEOUT_MS = 500;

export type SessionCounts = Record<Presence, number> & { paired: number; waiting: number; total: number };

/**
 * Session lifecycle: hello and resume, standby when a socket drops, expiry after the standby
 * window, recovery when a media worker dies, TURN credential refresh, shutdown.
 */
export class SessionService {
  readonly #options: SessionServiceOptions;
  readonly #logger: Logger;
  readonly #sessions = new Map<string, Session>();
  readonly #tokens = new ResumeTokens();
  /** Per-session timers (TURN refresh, reconnecting limit), cleared when the session ends. */
  readonly #timers = new Map<Session, Map<string, NodeJS.Timeout>>();
  readonly #sweepTimer: NodeJS.Timeout;
  #closing = false;

  constructor(options: SessionServiceOptions) {
    this.#options = options;
    this.#logger = options.logger;
    options.pool.on('workerDied', (worker) => {
      this.#onWorkerDied(worker).catch((error: unknown) => {
        this.#logger.error({ err: error }, 'recovery from worker death failed');
      });
    });
    options.simulcast.on('changed', (simulcast) => {
      const limits = transportLimits(simulcast);
      for (const session of this.#sessions.values()) {
        void session.media.setLimits(limits).catch(() => {});
        session.notify({ type: 'simulcast', simulcast });
      }
    });
    this.#sweepTimer = setInterval(() => this.sweep(), options.config.session.sweepMs);
    this.#sweepTimer.unref();
    options.cluster?.relay.onMessage((message, from) => {
      if (message.type !== 'handover' || typeof message.sessionId !== 'string') return undefined;
      return this.#handOver(message.sessionId, from).then(() => ({ type: 'handedOver' }));
    });
  }

  /** The session's record changed (written to the shared store, if any). */
  changed(session: Session): void {
    this.#options.cluster?.sync.changed(session);
  }

  get sessions(): IterableIterator<Session> {
    return this.#sessions.values();
  }

  byId(id: string): Session | undefined {
    return this.#sessions.get(id);
  }

  get closing(): boolean {
    return this.#closing;
  }

  counts(): SessionCounts {
    const counts: SessionCounts = { active: 0, standby: 0, reconnecting: 0, paired: 0, waiting: 0, total: 0 };
    for (const session of this.#sessions.values()) {
      counts[session.presence] += 1;
      if (session.pair) counts.paired += 1;
      counts.total += 1;
    }
    counts.waiting = this.#options.lobby.waiting;
    return counts;
  }

  /** Opens a new session on this socket, or resumes the one the token names. */
  async hello(
    socket: SessionSocket,
    resumeToken: string | undefined,
    deviceId: string | undefined,
  ): Promise<{ session: Session; result: HelloResult }> {
    if (this.#closing) throw new ProtocolError(ErrorCode.ShuttingDown, 'the server is shutting down');
    if (resumeToken !== undefined) return this.#resume(socket, resumeToken);
    const identity = this.#identityOf(socket.ip, deviceId);
    const { safety, geo } = this.#options;
    // Known before the first Start: where the user is, and whom they never meet again.
    const [country, blockedKeys] = await Promise.all([geo.countryOf(socket.ip), safety.blockedKeys(identity)]);
    if (this.#closing) throw new ProtocolError(ErrorCode.ShuttingDown, 'the server is shutting down');
    const worker = await this.#options.pool.acquire();
    const session = new Session(this.#logger, identity);
    session.country = country;
    session.blockedKeys = blockedKeys;
    session.media = this.#createMedia(session, worker);
    session.socket = socket;
    this.#sessions.set(session.id, session);
    this.#scheduleTurnRefresh(session);
    // Written before the page has its token: a token is of use only with the record it names.
    await this.#options.cluster?.sync.flush(session);
    session.logger.info({ worker: worker.index, country, device: identity.device }, 'session opened');
    return { session, result: await this.#helloResult(session, false) };
  }

  /**
   * The socket is gone. A clean close (the page left) ends the session at once; anything else
   * (network loss, ping timeout) holds it in standby for MAX_STANDBY_MS.
   */
  socketClosed(session: Session, socket: SessionSocket, clean: boolean): void {
    if (session.socket !== socket) return;
    session.socket = null;
    if (clean || this.#closing) {
      this.#end(session, 'peer-left');
      return;
    }
    session.presence = 'standby';
    session.standbySince = this.#options.now();
    this.#clearTimer(session, 'reconnecting');
    void this.#options.lobby.hold(session).catch(() => {});
    session.partner?.notify({ type: 'peerConnection', connected: false });
    this.#options.lobby.relayState(session);
    session.logger.info('session in standby');
  }

  /** Ends sessions whose standby window has passed; their partners are re-queued first. */
  sweep(): void {
    const deadline = this.#options.now() - this.#options.config.session.maxStandbyMs;
    for (const session of [...this.#sessions.values()]) {
      if (session.presence === 'standby' && session.standbySince !== null && session.standbySince <= deadline) {
        session.logger.info('standby window ended');
        this.#end(session, 'peer-timeout');
      }
    }
  }

  /**
   * Tells every client to come back later and closes sockets, then the media workers. Alone,
   * the sessions end. With a shared store they are handed over: written there as they are, their
   * partners elsewhere see them reconnecting, and each page resumes on another instance.
   */
  async shutdown(reconnectInMs: number): Promise<void> {
    if (this.#closing) return;
    this.#closing = true;
    clearInterval(this.#sweepTimer);
    const { cluster, lobby } = this.#options;
    for (const session of [...this.#sessions.values()]) {
      session.notify({ type: 'shutdown', reconnectInMs });
      const socket = session.socket;
      session.socket = null;
      socket?.close(1012, 'server restarting');
      if (!cluster) {
        this.#end(session, 'peer-left');
        continue;
      }
      // Out of the queue here; the instance that takes it over puts it back.
      await lobby.hold(session).catch(() => {});
      lobby.relayState(session);
      cluster.sync.changed(session);
    }
    if (cluster) {
      await cluster.sync.flush();
      cluster.sync.close();
      for (const session of [...this.#sessions.values()]) this.#release(session);
    }
    lobby.close();
  }

  /** The session's current media state as the client should see it after a (re)connect. */
  snapshot(session: Session): SessionSnapshot {
    const pair = session.pair;
    const partner = session.partner;
    const media = session.media;
    return {
      phase: pair ? 'paired' : session.wantsMatch ? 'waiting' : 'idle',
      pairId: pair?.id ?? null,
      peer: partner
        ? {
            media: partner.mediaMode,
            ...(partner.textReason ? { textReason: partner.textReason } : {}),
            connected: partner.connected,
            micMuted: partner.tracks.micMuted,
            cameraOff: partner.tracks.cameraOff,
          }
        : null,
      chat: pair ? pair.chatFor(session) : [],
      transports: { send: media.transport('send')?.id ?? null, recv: media.transport('recv')?.id ?? null },
      producers: media.producers.map((producer) => ({ producerId: producer.id, kind: producer.kind })),
      consumers: (pair?.media.consumersFor(session) ?? []).map(({ consumer, producerId }) => ({
        type: 'newConsumer' as const,
        consumerId: consumer.id,
        producerId,
        kind: consumer.kind,
        rtpParameters: rtpParametersSchema.parse(consumer.rtpParameters),
      })),
    };
  }

  async #resume(socket: SessionSocket, token: string): Promise<{ session: Session; result: HelloResult }> {
    const sessionId = this.#tokens.redeem(token);
    const session = sessionId === null ? undefined : this.#sessions.get(sessionId);
    if (session && !session.closed) this.#options.cluster?.sync.spent(token);
    else if (this.#options.cluster) return this.#takeOver(socket, token, this.#options.cluster);
    if (!session || session.closed) {
      throw new ProtocolError(ErrorCode.InvalidToken, 'resume token is unknown, expired or already used');
    }
    const previous = session.socket;
    session.socket = socket;
    // A half-dead old socket may not have noticed yet: it loses the session to the new one.
    previous?.close(4001, 'session resumed on another connection');
    const wasAway = session.presence === 'standby';
    session.standbySince = null;
    this.#setPresence(session, session.media.iceConnected ? 'active' : 'reconnecting');
    if (wasAway) {
      session.partner?.notify({ type: 'peerConnection', connected: true });
      this.#options.lobby.relayState(session);
    }
    // Back in the queue only after the client has its snapshot: a match must not overtake it.
    socket.afterReply(() => {
      this.#options.lobby.restore(session).catch((error: unknown) => {
        session.logger.error({ err: error }, 'going back to the queue failed');
      });
    });
    this.#scheduleTurnRefresh(session);
    void session.pair?.media.sync();
    session.logger.info({ presence: session.presence }, 'session resumed');
    this.#options.onResumed?.();
    return { session, result: await this.#helloResult(session, true) };
  }

  /**
   * A page came back here with a token another instance issued (its instance died, shut down, or
   * the load balancer sent it elsewhere): the session is rebuilt from its record, with new media
   * on this instance's worker (the page makes new transports), its conversation and its place in
   * the queue. A live instance that still holds it hands it over first.
   */
  async #takeOver(
    socket: SessionSocket,
    token: string,
    cluster: NonNullable<SessionServiceOptions['cluster']>,
  ): Promise<{ session: Session; result: HelloResult }> {
    const invalid = () => new ProtocolError(ErrorCode.InvalidToken, 'resume token is unknown, expired or already used');
    const sessionId = await cluster.sync.take(token).catch(() => null);
    if (sessionId === null) throw invalid();
    let record = await cluster.sync.store.load(sessionId);
    if (!record) throw invalid();
    const from = record.instance;
    let handedOver = false;
    if (from !== cluster.relay.self && (await cluster.relay.alive([from]).catch(() => new Set())).has(from)) {
      try {
        await cluster.relay.request(from, { type: 'handover', sessionId }, HANDOVER_TIMEOUT_MS);
        record = (await cluster.sync.store.load(sessionId)) ?? record;
        handedOver = true;
      } catch (error) {
        this.#logger.warn({ err: error, instance: from }, 'session taken over without its instance handing it over');
      }
    }
    if (this.#closing) throw new ProtocolError(ErrorCode.ShuttingDown, 'the server is shutting down');
    const worker = await this.#options.pool.acquire();
    const session = new Session(this.#logger, record.identity, record.id);
    restoreSession(session, record);
    session.media = this.#createMedia(session, worker);
    session.socket = socket;
    this.#sessions.set(session.id, session);
    // Its page makes new transports here: until they connect, a partner sees it reconnecting.
    if (record.producing) this.#setRebuildingMedia(session, true);
    if (record.pair) await this.#options.lobby.adoptPair(session, record.pair, { instance: from, handedOver });
    // Written at once: a partner taken over meanwhile must find this user here (and, if it was
    // taken over at the same moment and read the old record, is found here in turn).
    await cluster.sync.flush(session);
    await this.#options.lobby.confirmPartner(session);
    socket.afterReply(() => {
      this.#options.lobby.restore(session).catch((error: unknown) => {
        session.logger.error({ err: error }, 'going back to the queue failed');
      });
    });
    this.#scheduleTurnRefresh(session);
    session.logger.info({ from, worker: worker.index, paired: session.pair !== null }, 'session taken over');
    this.#options.onResumed?.();
    return { session, result: await this.#helloResult(session, true) };
  }

  /** Another instance took this session over (its page came back there): it leaves quietly. */
  async #handOver(sessionId: string, to: string): Promise<void> {
    const session = this.#sessions.get(sessionId);
    if (!session) return;
    const socket = session.socket;
    session.socket = null;
    socket?.close(4001, 'session resumed on another connection');
    await this.#options.lobby.detach(session, to);
    await this.#options.cluster?.sync.flush(session);
    this.#release(session);
    session.logger.info({ to }, 'session handed over to another instance');
  }

  /** Forgets a session here without ending it (another instance carries it on). */
  #release(session: Session): void {
    this.#sessions.delete(session.id);
    this.#tokens.revoke(session.id);
    for (const timer of this.#timers.get(session)?.values() ?? []) clearTimeout(timer);
    this.#timers.delete(session);
    this.#releaseMedia(session);
    session.close();
  }

  /** Keyed hashes of the device id and the address: what identifies a visitor without an account. */
  #identityOf(address: string, deviceId: string | undefined): SessionIdentity {
    const { addresses } = this.#options;
    const device = deviceId === undefined ? null : addresses.hash(`device:${deviceId}`);
    const addressHash = addresses.hash(address);
    return { device, address: addressHash, keys: [...(device ? [`d:${device}`] : []), `a:${addressHash}`] };
  }

  async #helloResult(session: Session, resumed: boolean): Promise<HelloResult> {
    const { config, turn, simulcast, safety } = this.#options;
    session.knownBan = await safety.activeBan(session.identity, session.knownBan);
    const ban = session.knownBan;
    const capabilities = session.media.router.rtpCapabilities;
    const resumeToken = this.#tokens.issue(session.id);
    await this.#options.cluster?.sync.issued(session.id, resumeToken);
    return {
      sessionId: session.id,
      resumeToken,
      resumed,
      routerRtpCapabilities: rtpCapabilitiesSchema.parse({
        codecs: capabilities.codecs,
        headerExtensions: (capabilities.headerExtensions ?? []).filter(
          (extension) => headerExtensionUriSchema.safeParse(extension.uri).success,
        ),
      }),
      iceServers: turn.mint(session.id).iceServers,
      iceTransportPolicy: config.turn.iceTransportPolicy,
      simulcast: simulcast.current,
      qualityReportIntervalMs: config.qualityReportIntervalMs,
      snapshot: this.snapshot(session),
      rules: safety.rules,
      rulesAccepted: session.rulesAccepted,
      ban,
      profile: { ...session.preferences, country: session.country },
    };
  }

  #createMedia(session: Session, worker: MediaWorker): UserMedia {
    const media = new UserMedia(worker, transportLimits(this.#options.simulcast.current), session.logger);
    worker.sessions += 1;
    const sync = () => void session.pair?.media.sync();
    media.on('producer', sync);
    media.on('readyToConsume', sync);
    media.on('iceState', ({ allConnected }) => {
      if (session.presence === 'reconnecting' && allConnected) this.#setPresence(session, 'active');
      if (session.rebuildingMedia && allConnected) this.#setRebuildingMedia(session, false);
    });
    return media;
  }

  #releaseMedia(session: Session): void {
    if (session.media.closed) return;
    session.media.close();
    session.media.worker.sessions -= 1;
  }

  #setPresence(session: Session, presence: Presence): void {
    session.presence = presence;
    this.#clearTimer(session, 'reconnecting');
    if (presence === 'reconnecting') {
      // Media may never come back (then the client falls back to text): don't count it as reconnecting forever.
      this.#setTimer(session, 'reconnecting', RECONNECTING_LIMIT_MS, () => {
        if (session.presence === 'reconnecting') session.presence = 'active';
      });
    }
  }

  /**
   * A session taken over has its media made anew on this instance: its partner sees it
   * reconnecting until its transports connect (or, if they never do, for RECONNECTING_LIMIT_MS).
   */
  #setRebuildingMedia(session: Session, rebuilding: boolean): void {
    if (session.rebuildingMedia === rebuilding) return;
    session.rebuildingMedia = rebuilding;
    this.#clearTimer(session, 'rebuilding');
    if (rebuilding) {
      this.#setTimer(session, 'rebuilding', RECONNECTING_LIMIT_MS, () => this.#setRebuildingMedia(session, false));
    }
    this.#options.lobby.relayState(session);
  }

  /** Ends a session for good: partner told, media closed, token revoked. */
  #end(session: Session, partnerReason: 'peer-left' | 'peer-timeout'): void {
    if (!this.#sessions.has(session.id)) return;
    this.#options.lobby.remove(session, partnerReason).catch((error: unknown) => {
      session.logger.error({ err: error }, 'leaving the lobby failed');
    });
    this.#release(session);
    this.#options.cluster?.sync.forget(session);
    this.#options.onEnded?.(session);
    session.logger.info({ partnerReason }, 'session ended');
  }

  /** Sessions on a dead worker lose their transports: pairs touching them end, and each gets new media. */
  async #onWorkerDied(worker: MediaWorker): Promise<void> {
    const affected = [...this.#sessions.values()].filter((session) => session.media.worker === worker);
    for (const session of affected) {
      if (session.pair) await this.#options.lobby.breakPair(session.pair);
      this.#releaseMedia(session);
    }
    for (const session of affected) {
      const replacement = await this.#options.pool.acquire();
      if (session.closed) continue;
      session.media = this.#createMedia(session, replacement);
      session.notify({ type: 'mediaReset' });
    }
    this.#logger.warn({ worker: worker.index, sessions: affected.length }, 'sessions moved off a dead worker');
  }

  #scheduleTurnRefresh(session: Session): void {
    const { turn } = this.#options;
    if (!turn.enabled) return;
    // Refresh at 80% of the lifetime, and only while the session has a live socket.
    this.#setTimer(session, 'turn', turn.ttlMs * 0.8, () => {
      if (session.socket) session.notify({ type: 'iceServers', iceServers: turn.mint(session.id).iceServers });
      this.#scheduleTurnRefresh(session);
    });
  }

  #setTimer(session: Session, name: string, delayMs: number, run: () => void): void {
    this.#clearTimer(session, name);
    let timers = this.#timers.get(session);
    if (!timers) {
      timers = new Map();
      this.#timers.set(session, timers);
    }
    const timer = setTimeout(() => {
      timers.delete(name);
      run();
    }, delayMs);
    timer.unref();
    timers.set(name, timer);
  }

  #clearTimer(session: Session, name: string): void {
    const timers = this.#timers.get(session);
    clearTimeout(timers?.get(name));
    timers?.delete(name);
  }
}
