import { describeIssues, simulcastConfigSchema } from '@meetopia/protocol';
import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import { RateLimiterMemory } from 'rate-limiter-flexible';
import type { SimulcastSettings } from '../admin/SimulcastSettings.js';
import type { Logger } from '../logger.js';
import type { SessionService } from '../session/SessionService.js';
import { bearerTokenMatches } from './bearerToken.js';
import { collectMediaStats } from './mediaStats.js';

export type AdminApiOptions = {
  /** Bearer token; without one the admin API answers 503. */
  token: string | undefined;
  simulcast: SimulcastSettings;
  sessions: SessionService;
  logger: Logger;
};

/** Failed authentications allowed per address per minute before 429. */
const AUTH_FAILURES_PER_MINUTE = 10;

/**
 * The admin API under /api/admin: the simulcast layer table (read, validated write, applied
 * live) and per-session media statistics. Every request needs `Authorization: Bearer <ADMIN_TOKEN>`.
 */
export function createAdminApi(options: AdminApiOptions): Router {
  const router = express.Router();
  const logger = options.logger.child({ component: 'admin' });
  const failures = new RateLimiterMemory({ points: AUTH_FAILURES_PER_MINUTE, duration: 60 });

  router.use(async (request: Request, response: Response, next: NextFunction) => {
    response.set('Cache-Control', 'no-store');
    if (!options.token) {
      response.status(503).json({ error: 'admin API disabled: set ADMIN_TOKEN' });
      return;
    }
    const ip = request.ip ?? 'unknown';
    const blocked = await failures.get(ip);
    if (blocked && blocked.remainingPoints <= 0) {
      response.status(429).json({ error: 'too many failed attempts; try again later' });
      return;
    }
    if (!bearerTokenMatches(request.get('authorization'), options.token)) {
      await failures.consume(ip).catch(() => {});
      logger.warn({ ip, path: request.path }, 'admin request refused: bad or missing token');
      response.status(401).set('WWW-Authenticate', 'Bearer').json({ error: 'missing or wrong admin token' });
      return;
    }
    next();
  });

  router.get('/simulcast', (_request, response) => {
    response.json(options.simulcast.current);
  });

  router.put('/simulcast', express.json({ limit: '16kb' }), async (request, response) => {
    const parsed = simulcastConfigSchema.safeParse(request.body);
    if (!parsed.success) {
      response.status(400).json({ error: describeIssues(parsed.error), issues: parsed.error.issues });
      return;
    }
    const before = options.simulcast.current;
    await options.simulcast.update(parsed.data);
    logger.info({ who: adminIdentity(request), before, after: parsed.data }, 'simulcast layers changed');
    response.json(parsed.data);
  });

  router.get('/media', async (_request, response) => {
    response.json(await collectMediaStats(options.sessions.sessions));
  });

  return router;
}

/** Who made a change, for the audit log: the caller's address and the name they gave, if any. */
function adminIdentity(request: Request): string {
  const name = request
    .get('x-admin-name')
    ?.slice(0, 64)
    .replace(/[^\w .@-]/g, '');
  return `${name ? `${name} ` : ''}from ${request.ip ?? 'unknown'}`;
}
