import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SimulcastSettings } from './admin/SimulcastSettings.js';
import type { Config } from './config/config.js';
import { createHttpApp } from './http/app.js';
import { Metrics } from './http/metrics.js';
import type { Logger } from './logger.js';
import { Lobby } from './matchmaking/Lobby.js';
import { QualityMonitor } from './quality/QualityMonitor.js';
import { SessionService } from './session/SessionService.js';
import { LayerAdaptation } from './sfu/LayerAdaptation.js';
import { ProducerPipes } from './sfu/ProducerPipes.js';
import { WorkerPool } from './sfu/WorkerPool.js';
import { RequestHandler } from './signaling/RequestHandler.js';
import { SignalingServer } from './signaling/SignalingServer.js';
import { TurnCredentials } from './turn/TurnCredentials.js';

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
  /** Graceful shutdown: stop accepting, tell clients, close sockets and workers. */
  close(): Promise<void>;
};

/** Wiring: workers → sessions and matching → HTTP and WebSocket. */
export async function startMeetopia(config: Config, logger: Logger): Promise<RunningMeetopia> {
  const now = () => Date.now();
  const startedAt = now();
  const pool = await WorkerPool.create(config.media, logger.child({ component: 'sfu' }));
  const simulcast = await SimulcastSettings.load(join(config.dataDir, 'simulcast.json'), logger);
  const turn = new TurnCredentials(config.turn, now);
  const quality = new QualityMonitor();
  const metrics = new Metrics();
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
  const lobby = new Lobby({
    cooldownMs: config.rematchCooldownMs,
    now,
    pipes,
    logger: logger.child({ component: 'lobby' }),
    onVideoConsumer: (consumer, receiver, producer) => adaptation.track(consumer, receiver, producer),
    onMatched: (_pair, waitedMs) => metrics.recordMatch(waitedMs),
  });
  const sessions = new SessionService({
    config,
    pool,
    lobby,
    turn,
    simulcast,
    logger,
    now,
    onResumed: () => metrics.recordResume(),
  });
  const handler = new RequestHandler({ sessions, lobby, quality, now });

  const staticDir = config.staticDir ?? fileURLToPath(new URL('../../client/dist', import.meta.url));
  const app = createHttpApp({
    sessions,
    lobby,
    pool,
    quality,
    startedAt,
    staticDir,
    trustProxy: config.trustProxy,
    adminToken: config.adminToken,
    metricsToken: config.metricsToken,
    metrics,
    simulcast,
    logger,
  });
  const server = createServer(app);
  const signaling = new SignalingServer({ config, logger, handler, sessions });
  signaling.attach(server);

  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(config.port, config.host, resolve);
    });
  } catch (error) {
    adaptation.close();
    await pool.close();
    throw error;
  }
  const port = (server.address() as AddressInfo).port;

  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= (async () => {
      signaling.stopAccepting();
      adaptation.close();
      server.close();
      await sessions.shutdown(config.shutdownGraceMs);
      pipes.close();
      server.closeAllConnections();
      await pool.close();
    })();
    return closing;
  };
  return { server, port, pool, sessions, lobby, simulcast, adaptation, close };
}
