import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { SimulcastSettings } from './admin/SimulcastSettings.js';
import type { Config } from './config/config.js';
import { ExperienceTracker } from './experience/ExperienceTracker.js';
import { ObservingRequestHandler } from './experience/ObservingRequestHandler.js';
import { GeoIp } from './geo/GeoIp.js';
import { createHttpApp } from './http/app.js';
import { StatusHistory } from './http/history.js';
import { Metrics } from './http/metrics.js';
import { buildStatus } from './http/status.js';
import { AddressHasher, loadIdentityKey } from './identity/AddressHasher.js';
import type { Logger } from './logger.js';
import { Lobby } from './matchmaking/Lobby.js';
import { MatchStats } from './matchmaking/MatchStats.js';
import { defaultRelaxation } from './matchmaking/relaxation.js';
import { QualityMonitor } from './quality/QualityMonitor.js';
import { FloodLimits } from './safety/FloodLimits.js';
import { Safety } from './safety/Safety.js';
import { SessionService } from './session/SessionService.js';
import { SessionSync } from './session/SessionSync.js';
import { InstancePipes } from './sfu/InstancePipes.js';
import { LayerAdaptation } from './sfu/LayerAdaptation.js';
import { ProducerPipes } from './sfu/ProducerPipes.js';
import { WorkerPool } from './sfu/WorkerPool.js';
import { SignalingServer } from './signaling/SignalingServer.js';
import { openStores } from './store/openStores.js';
import { TurnCredentials } from './turn/TurnCredentials.js';

/** How long after a conversation its partner can still be reported or blocked. */
const REPORT_AFTER_MS = 5 * 60_000;

/** A running server and the parts tests and operators look at. */
export type RunningMeetopia = {
  readonly server: Server;
  /** The port actually bound (PORT=0 picks a free one). */
  readonly port: number;
  readonly pool: WorkerPool;
  readonly sessions: SessionService;
  readonly lobby: Lobby;
  readonly simulcast: SimulcastSettings;
  readonly adaptation: LayerAdaptation;
  readonly safety: Safety;
  /** Graceful shutdown: stop accepting, tell clients, close sockets and workers. */
  close(): Promise<void>;
};

/** Wiring: workers → sessions and matching → HTTP and WebSocket. */
export async function startMeetopia(config: Config, logger: Logger): Promise<RunningMeetopia> {
  const now = () => Date.now();
  const startedAt = now();
  const addresses = new AddressHasher(await loadIdentityKey(config.dataDir, config.identitySecret));
  // The stores first: a corrupt or unwritable store, or a Redis that cannot be reached, stops
  // start-up before anything runs.
  // The lobby finds live sessions (to apply a ban) through the session service created after it.
  const registry: { sessions?: SessionService; pool?: WorkerPool } = {};
  let lobby: Lobby | undefined;
  const stores = await openStores(config, logger, () => {
    const counts = registry.sessions?.counts();
    const mediaWorkers = registry.pool?.workers.length ?? 0;
    return { sessions: counts?.total ?? 0, waiting: counts?.waiting ?? 0, mediaWorkers };
  });
  const safety = await Safety.open({
    store: stores.safety,
    now,
    logger: logger.child({ component: 'safety' }),
    onBan: (keys, ban) => {
      lobby?.applyBan(keys, ban).catch((error: unknown) => logger.error({ err: error }, 'applying a ban failed'));
    },
  });
  const geo = await GeoIp.open();
  let pool: WorkerPool;
  try {
    pool = await WorkerPool.create(config.media, logger.child({ component: 'sfu' }));
  } catch (error) {
    await safety.close();
    await stores.close();
    throw error;
  }
  registry.pool = pool;
  const simulcast = await SimulcastSettings.load(stores.simulcast, logger);
  // Live settings another instance changed: re-read from the shared store and apply here.
  stores.settingsChannel.onChange((name) => {
    const reload = name === 'simulcast' ? simulcast.reload() : safety.reloadSettings();
    reload.catch((error: unknown) => logger.warn({ err: error, setting: name }, 'reloading a shared setting failed'));
  });
  const turn = new TurnCredentials(config.turn, now);
  // A partner on another instance hears of a new quality class through the lobby.
  const quality = new QualityMonitor({ onChanged: (session) => lobby?.relayState(session) });
  const metrics = new Metrics();
  const experience = new ExperienceTracker({ now, registry: metrics.registry });
  pool.on('workerDied', () => metrics.recordWorkerDeath());
  const adaptation = new LayerAdaptation({
    intervalMs: config.layerAdaptationIntervalMs,
    // A report is due every interval: two missed ones make the last one stale.
    reportMaxAgeMs: 2 * config.qualityReportIntervalMs + 1000,
    simulcast: () => simulcast.current,
    logger: logger.child({ component: 'layers' }),
    onChange: (change) => metrics.recordLayerChange(change),
  });
  const pipes = new ProducerPipes({ portRange: config.media.pipePortRange, idleMs: config.media.pipeIdleMs });
  // With a shared store, a pair's two users may sit on different instances: media is piped between them.
  const instancePipes = stores.relay
    ? new InstancePipes({
        relay: stores.relay,
        pipes,
        listen: {
          ip: config.media.instancePipe.listenIp,
          announcedAddress: config.media.instancePipe.announcedAddress,
          portRange: config.media.pipePortRange,
        },
        findProducer: (id) => {
          for (const session of registry.sessions?.sessions ?? []) {
            const producer = session.media.producers.find((candidate) => candidate.id === id);
            if (producer) return { producer, router: session.media.router };
          }
          return undefined;
        },
        logger: logger.child({ component: 'pipes' }),
      })
    : undefined;
  const matchStats = new MatchStats({ now });
  // With a shared store, sessions are written there for another instance to take over.
  const sync =
    stores.sessions && stores.relay
      ? new SessionSync({
          store: stores.sessions,
          instance: stores.relay.self,
          // The standby window, and a minute for an instance that died to be noticed.
          ttlMs: config.session.maxStandbyMs + 60_000,
          logger: logger.child({ component: 'sessions' }),
          sessions: () => registry.sessions?.sessions ?? [],
        })
      : undefined;
  const flood = new FloodLimits({ skipsPerWindow: config.skipsPer10Seconds, skipWindowMs: 10_000 });
  lobby = new Lobby({
    now,
    pipes,
    safety,
    logger: logger.child({ component: 'lobby' }),
    ...(stores.place ? { place: stores.place } : {}),
    ...(stores.relay && instancePipes && stores.sessions
      ? {
          cluster: {
            relay: stores.relay,
            pipes: instancePipes,
            sessions: stores.sessions,
            holdMs: config.session.maxStandbyMs,
          },
        }
      : {}),
    onChanged: (session) => sync?.changed(session),
    createQueue: (events) =>
      stores.createQueue({
        ...events,
        now,
        limitMs: config.matching.waitLimitMs,
        ...defaultRelaxation,
        recentPartners: config.matching.recentPartners,
        recentWindowMs: config.matching.recentPartnerWindowMs,
        skipCooldownMs: config.rematchCooldownMs,
        onRound: (ms) => metrics.recordMatchRound(ms),
      }),
    sessionsById: (id) => registry.sessions?.byId(id),
    sessionsOf: (keys) =>
      [...(registry.sessions?.sessions ?? [])].filter((session) =>
        session.identity.keys.some((key) => keys.includes(key)),
      ),
    reportAfterMs: REPORT_AFTER_MS,
    onVideoConsumer: (consumer, receiver, producer) => adaptation.track(consumer, receiver, producer),
    onMatched: (pair, waitedMs, match, sides) => {
      experience.matched(
        pair.id,
        sides.local.map((session) => session.id),
        sides.counted,
      );
      if (!sides.counted) return;
      const summary = {
        score: match.scored.score,
        sharedInterest: match.scored.sharedInterests.length > 0,
        sameCountry: match.scored.sameCountry !== null,
      };
      metrics.recordMatch(waitedMs, summary);
      matchStats.record({ ...summary, waitedMs: [...waitedMs] });
    },
    onTextFallback: (reason) => {
      metrics.recordTextFallback(reason);
      experience.textFallback(reason);
    },
  });
  const sessions = new SessionService({
    ...(sync && stores.relay ? { cluster: { sync, relay: stores.relay } } : {}),
    config,
    pool,
    lobby,
    turn,
    simulcast,
    safety,
    geo,
    addresses,
    logger,
    now,
    onResumed: () => metrics.recordResume(),
    onEnded: (session) => {
      flood.forget(session.id);
      experience.ended(session);
    },
  });
  registry.sessions = sessions;
  const handler = new ObservingRequestHandler({ sessions, lobby, quality, safety, flood, experience, now });

  const staticDir = config.staticDir ?? fileURLToPath(new URL('../../client/dist', import.meta.url));
  const statusSources = {
    sessions,
    lobby,
    pool,
    quality,
    matchStats,
    experience,
    cluster: () => stores.cluster(),
    startedAt,
  };
  const history = new StatusHistory({
    read: () => buildStatus(statusSources),
    now,
    logger: logger.child({ component: 'history' }),
  });
  const app = createHttpApp({
    ...statusSources,
    history,
    settingsChannel: stores.settingsChannel,
    staticDir,
    trustProxy: config.trustProxy,
    adminToken: config.adminToken,
    metricsToken: config.metricsToken,
    metrics,
    simulcast,
    safety,
    addresses,
    logger,
  });
  const server = createServer(app);
  const signaling = new SignalingServer({ config, logger, handler, sessions, addresses });
  signaling.attach(server);

  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(config.port, config.host, resolve);
    });
  } catch (error) {
    adaptation.close();
    await pool.close();
    await safety.close();
    await stores.close();
    throw error;
  }
  const port = (server.address() as AddressInfo).port;
  history.start();

  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= (async () => {
      signaling.stopAccepting();
      history.close();
      adaptation.close();
      server.close();
      await sessions.shutdown(config.shutdownGraceMs);
      instancePipes?.close();
      pipes.close();
      server.closeAllConnections();
      await pool.close();
      await safety.close();
      await stores.close();
    })();
    return closing;
  };
  return { server, port, pool, sessions, lobby, simulcast, adaptation, safety, close };
}
