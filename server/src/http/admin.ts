import {
  banRequestSchema,
  describeIssues,
  type SafetySettings,
  safetySettingsSchema,
  simulcastConfigSchema,
  unbanRequestSchema,
} from '@meetopia/protocol';
import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import { RateLimiterMemory } from 'rate-limiter-flexible';
import type { SimulcastSettings } from '../admin/SimulcastSettings.js';
import type { AddressHasher } from '../identity/AddressHasher.js';
import type { Logger } from '../logger.js';
import type { Safety } from '../safety/Safety.js';
import type { SessionService } from '../session/SessionService.js';
import type { SettingsChannel } from '../store/SettingsChannel.js';
import { bearerTokenMatches } from './bearerToken.js';
import type { StatusHistory } from './history.js';
import { collectMediaStats } from './mediaStats.js';

export type AdminApiOptions = {
  /** Bearer token; without one the admin API answers 503. */
  token: string | undefined;
  simulcast: SimulcastSettings;
  sessions: SessionService;
  safety: Safety;
  addresses: AddressHasher;
  logger: Logger;
  /** The last 15 minutes of /status, for the admin page's charts. */
  history?: StatusHistory;
  /** Tells the other instances (with a shared store) that a live setting changed. */
  settingsChannel: SettingsChannel;
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
      logger.warn(
        { clientHash: options.addresses.hash(ip), path: request.path },
        'admin request refused: bad or missing token',
      );
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
    await options.settingsChannel.announce('simulcast');
    await options.safety.recordAdminAction(adminIdentity(request, options.addresses), 'simulcast', {
      before,
      after: parsed.data,
    });
    logger.info(
      { who: adminIdentity(request, options.addresses), before, after: parsed.data },
      'simulcast layers changed',
    );
    response.json(parsed.data);
  });

  // The charts' data: /status samples, oldest first; `?since=<ms>` gives only the newer ones.
  router.get('/history', (request, response) => {
    if (!options.history) {
      response.status(503).json({ error: 'status history is not kept by this server' });
      return;
    }
    const since = Number(request.query.since);
    response.json(options.history.document(Number.isFinite(since) && since >= 0 ? since : undefined));
  });

  router.get('/media', async (_request, response) => {
    response.json(await collectMediaStats(options.sessions.sessions));
  });

  // Moderation (schemas in protocol/src/moderation.ts).
  router.get('/reports', async (request, response) => {
    response.json({ groups: await options.safety.reportGroups(limitOf(request, 500, 5000)) });
  });

  router.get('/bans', async (_request, response) => {
    response.json({ bans: await options.safety.activeBans() });
  });

  router.post('/bans', express.json({ limit: '4kb' }), async (request, response) => {
    const parsed = banRequestSchema.safeParse(request.body);
    if (!parsed.success) {
      response.status(400).json({ error: describeIssues(parsed.error), issues: parsed.error.issues });
      return;
    }
    response.status(201).json(await options.safety.ban(parsed.data, adminIdentity(request, options.addresses)));
  });

  router.delete('/bans/:id', express.json({ limit: '4kb' }), async (request, response) => {
    const parsed = unbanRequestSchema.safeParse(request.body);
    if (!parsed.success) {
      response.status(400).json({ error: describeIssues(parsed.error), issues: parsed.error.issues });
      return;
    }
    const id = String(request.params.id).slice(0, 64);
    const lifted = await options.safety.unban(id, parsed.data.reason, adminIdentity(request, options.addresses));
    if (!lifted) {
      response.status(404).json({ error: `no ban ${id} in force` });
      return;
    }
    response.json(lifted);
  });

  router.get('/safety', (_request, response) => {
    response.json(options.safety.settings);
  });

  router.put('/safety', express.json({ limit: '32kb' }), async (request, response) => {
    const parsed = safetySettingsSchema.safeParse(request.body);
    if (!parsed.success) {
      response.status(400).json({ error: describeIssues(parsed.error), issues: parsed.error.issues });
      return;
    }
    const settings: SafetySettings = parsed.data;
    await options.safety.updateSettings(settings, adminIdentity(request, options.addresses));
    await options.settingsChannel.announce('safety');
    response.json(settings);
  });

  router.get('/audit', async (request, response) => {
    response.json({ entries: await options.safety.audit(limitOf(request, 200, 2000)) });
  });

  return router;
}

/** `?limit=` as a bounded positive integer. */
function limitOf(request: Request, fallback: number, max: number): number {
  const value = Number(request.query.limit);
  return Number.isInteger(value) && value > 0 ? Math.min(value, max) : fallback;
}

/** Who made a change, for the audit log: the name they gave, if any, and their address's hash. */
function adminIdentity(request: Request, addresses: AddressHasher): string {
  const name = request
    .get('x-admin-name')
    ?.slice(0, 64)
    .replace(/[^\w .@-]/g, '');
  return `${name ? `${name} ` : ''}from ${addresses.hash(request.ip ?? 'unknown')}`;
}
