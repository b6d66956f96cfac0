import { existsSync } from 'node:fs';
import { join } from 'node:path';
import express, { type Express } from 'express';
import helmet from 'helmet';
import type { SimulcastSettings } from '../admin/SimulcastSettings.js';
import type { AddressHasher } from '../identity/AddressHasher.js';
import type { Logger } from '../logger.js';
import type { Safety } from '../safety/Safety.js';
import type { SettingsChannel } from '../store/SettingsChannel.js';
import { createAdminApi } from './admin.js';
import { bearerTokenMatches } from './bearerToken.js';
import type { StatusHistory } from './history.js';
import type { Metrics } from './metrics.js';
import { buildStatus, type StatusSources } from './status.js';

export type HttpAppOptions = StatusSources & {
  /** Built client (Vite output); served with an index.html fallback for client routes such as /admin. */
  staticDir: string;
  trustProxy: boolean;
  adminToken: string | undefined;
  /** Without a token, /metrics is public like /status. */
  metricsToken: string | undefined;
  metrics: Metrics;
  simulcast: SimulcastSettings;
  safety: Safety;
  addresses: AddressHasher;
  logger: Logger;
  /** /status samples for the admin charts. */
  history?: StatusHistory;
  settingsChannel: SettingsChannel;
};

/** Express app: health, status, admin API and the static client. */
export function createHttpApp(options: HttpAppOptions): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', options.trustProxy ? 1 : false);
  app.use(
    helmet({
      contentSecurityPolicy: {
        directives: {
          'default-src': ["'self'"],
          'connect-src': ["'self'"],
          'img-src': ["'self'", 'data:'],
          'media-src': ["'self'", 'blob:', 'mediastream:'],
          'style-src': ["'self'", "'unsafe-inline'"],
          // Plain-HTTP deployments (a LAN, a test box) must keep working: never rewrite to https.
          'upgrade-insecure-requests': null,
        },
      },
    }),
  );

  app.get('/healthz', (_request, response) => {
    const healthy = !options.sessions.closing && options.pool.workers.length > 0;
    response.status(healthy ? 200 : 503).json({ ok: healthy });
  });

  app.get('/status', async (_request, response) => {
    response.set('Cache-Control', 'no-store').json(await buildStatus(options));
  });

  app.get('/metrics', async (request, response) => {
    if (options.metricsToken && !bearerTokenMatches(request.get('authorization'), options.metricsToken)) {
      response.status(401).set('WWW-Authenticate', 'Bearer').json({ error: 'missing or wrong metrics token' });
      return;
    }
    const text = await options.metrics.render(await buildStatus(options));
    response.set('Cache-Control', 'no-store').type(options.metrics.registry.contentType).send(text);
  });

  app.use(
    '/api/admin',
    createAdminApi({
      token: options.adminToken,
      simulcast: options.simulcast,
      sessions: options.sessions,
      safety: options.safety,
      addresses: options.addresses,
      logger: options.logger,
      history: options.history,
      settingsChannel: options.settingsChannel,
    }),
  );

  if (existsSync(options.staticDir)) {
    app.use(express.static(options.staticDir, { index: 'index.html', maxAge: '1h' }));
    const index = join(options.staticDir, 'index.html');
    app.get(['/', '/admin'], (_request, response) => response.sendFile(index));
  } else {
    options.logger.warn({ staticDir: options.staticDir }, 'client build not found: only the API is served');
  }
  return app;
}
