/**
 * The only reader of `process.env`. Every setting is validated once at start-up; a bad value
 * stops the server with a message naming the variable. Defaults are documented in README.md.
 */
import { randomBytes } from 'node:crypto';
import { availableParallelism, hostname, networkInterfaces } from 'node:os';
import { z } from 'zod';

const integer = (min: number, max: number) =>
  z.coerce
    .number({ error: `must be an integer from ${min} to ${max}` })
    .int({ error: `must be an integer from ${min} to ${max}` })
    .min(min, { error: `must be an integer from ${min} to ${max}` })
    .max(max, { error: `must be an integer from ${min} to ${max}` });

const boolean = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'], { error: 'must be true or false' })
  .transform((value) => value === 'true' || value === '1' || value === 'yes');

const commaList = z.string().transform((value) =>
  value
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item.length > 0),
);

const origin = z.string().refine((value) => {
  try {
    return new URL(value).origin === value;
  } catch {
    return false;
  }
}, 'must be an origin such as https://chat.example.com (scheme, host and optional port, no path)');

const ipAddress = z.union([z.ipv4(), z.ipv6()], { error: 'must be an IPv4 or IPv6 address' });
const hostOrIp = z
  .string()
  .min(1)
  .max(253)
  .regex(/^[A-Za-z0-9.:-]+$/, 'must be an IP address or a host name');

/** Environment variables and their defaults. Empty strings count as unset. */
const envSchema = z.object({
  /** 0 binds a free port (tests). */
  PORT: integer(0, 65535).default(3003),
  HOST: hostOrIp.default('0.0.0.0'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** Address put in ICE candidates: the public IP or host name browsers reach the SFU at. */
  ANNOUNCED_ADDRESS: hostOrIp.optional(),
  MEDIA_LISTEN_IP: ipAddress.default('0.0.0.0'),
  /** First media port; worker i listens on MEDIA_PORT + i, UDP and TCP. 0: free ports (tests). */
  MEDIA_PORT: integer(0, 65535)
    .refine((port) => port === 0 || port >= 1024, 'must be 0 or an integer from 1024 to 65535')
    .default(40000),
  /** Ports for the pipe transports that join routers of different workers (loopback only). */
  PIPE_MIN_PORT: integer(1024, 65535).default(41000),
  PIPE_MAX_PORT: integer(1024, 65535).default(41999),
  WORKERS: integer(1, 64).optional(),
  /** How long a producer piped to another worker stays piped after its last use. */
  PIPE_IDLE_MS: integer(0, 3_600_000).default(120_000),
  /**
   * With REDIS_URL: where the pipe transports that carry media between instances listen (same
   * port range), and the address other instances reach them on (needed when listening on all).
   */
  INSTANCE_PIPE_LISTEN_IP: ipAddress.default('127.0.0.1'),
  INSTANCE_PIPE_ADDRESS: hostOrIp.optional(),
  MEDIASOUP_LOG_LEVEL: z.enum(['debug', 'warn', 'error', 'none']).default('warn'),
  MEDIASOUP_WORKER_BIN: z.string().optional(),
  MAX_CONNECTIONS_PER_IP: integer(1, 100_000).default(20),
  MESSAGES_PER_SECOND_PER_IP: integer(1, 1_000_000).default(100),
  PING_INTERVAL: integer(1000, 600_000).default(10_000),
  PING_TIMEOUT: integer(500, 600_000).default(5000),
  /** Origins allowed to open the WebSocket; empty means the page's own origin only. */
  ALLOWED_ORIGINS: commaList.pipe(z.array(origin)).default([]),
  MAX_STANDBY_MS: integer(1000, 3_600_000).default(120_000),
  STANDBY_SWEEP_MS: integer(100, 600_000).default(5000),
  /** After a skip (Next, report, block) the two are kept apart this long, whatever the queue looks like. */
  REMATCH_COOLDOWN_MS: integer(0, 600_000).default(10_000),
  /** After this long in the queue any allowed partner will do (searches widen until then). */
  MATCH_WAIT_LIMIT_MS: integer(1000, 120_000).default(8000),
  /** Recent partners a user does not meet again while others are there… */
  RECENT_PARTNERS: integer(0, 50).default(3),
  /** …within this window. */
  RECENT_PARTNER_WINDOW_MS: integer(0, 86_400_000).default(600_000),
  /** Start and Next presses allowed per session in 10 seconds (more: a "slow down" error). */
  SKIPS_PER_10_SECONDS: integer(1, 1000).default(8),
  QUALITY_REPORT_INTERVAL_MS: integer(1000, 600_000).default(5000),
  /** How often the server reconsiders every receiver's simulcast layer. */
  LAYER_ADAPTATION_INTERVAL_MS: integer(100, 60_000).default(1000),
  /** Shared secret with coturn (`static-auth-secret`); without it no TURN servers are offered. */
  TURN_SECRET: z.string().min(16, 'must be at least 16 characters').optional(),
  TURN_URLS: commaList
    .pipe(z.array(z.string().regex(/^turns?:[^\s]+$/, 'each entry must start with turn: or turns:')))
    .default([]),
  TURN_TTL_SECONDS: integer(10, 86_400).default(600),
  ICE_TRANSPORT_POLICY: z.enum(['all', 'relay']).default('all'),
  /** Bearer token for the admin API; without it the admin API answers 503. */
  ADMIN_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
  /** Bearer token for /metrics; without it /metrics is public, like /status. */
  METRICS_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
  /** Key for hashing client addresses in logs and safety records; without it one is generated in DATA_DIR. */
  IDENTITY_SECRET: z.string().min(16, 'must be at least 16 characters').optional(),
  DATA_DIR: z.string().default('data'),
  STATIC_DIR: z.string().optional(),
  TRUST_PROXY: boolean.default(false),
  SHUTDOWN_GRACE_MS: integer(0, 60_000).default(1000),
  /** Shared state for several instances (redis:// or rediss://); without it one process holds everything. */
  REDIS_URL: z
    .string()
    .refine((value) => redisUrl(value) !== null, 'must be a redis:// or rediss:// URL such as redis://redis:6379/0')
    .optional(),
  /** Prefix of every key Meetopia writes, so that several deployments can share one Redis. */
  REDIS_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9:_.-]{1,64}$/, 'must be 1 to 64 letters, digits or : _ . -')
    .default('meetopia:'),
  /** This instance's name in the cluster (with REDIS_URL); default: host name and a random suffix. */
  INSTANCE_ID: z
    .string()
    .regex(/^[A-Za-z0-9._-]{1,64}$/, 'must be 1 to 64 letters, digits or . _ -')
    .optional(),
  /** Where this instance runs (with REDIS_URL): matching prefers partners in the same region. */
  REGION: z
    .string()
    .regex(/^[A-Za-z0-9._-]{1,32}$/, 'must be 1 to 32 letters, digits or . _ -')
    .optional(),
});

/** Variables whose values are never echoed in an error (they are, or may hold, secrets). */
const SECRETS = new Set(['TURN_SECRET', 'ADMIN_TOKEN', 'METRICS_TOKEN', 'IDENTITY_SECRET', 'REDIS_URL']);

export type Config = Readonly<{
  port: number;
  host: string;
  logLevel: z.infer<typeof envSchema>['LOG_LEVEL'];
  media: Readonly<{
    listenIp: string;
    announcedAddress: string;
    basePort: number;
    pipePortRange: Readonly<{ min: number; max: number }>;
    pipeIdleMs: number;
    /** Pipes between instances: where they listen and the address the others use. */
    instancePipe: Readonly<{ listenIp: string; announcedAddress: string | undefined }>;
    workers: number;
    logLevel: z.infer<typeof envSchema>['MEDIASOUP_LOG_LEVEL'];
    workerBin: string | undefined;
  }>;
  limits: Readonly<{ maxConnectionsPerIp: number; messagesPerSecondPerIp: number }>;
  heartbeat: Readonly<{ intervalMs: number; timeoutMs: number }>;
  allowedOrigins: readonly string[];
  session: Readonly<{ maxStandbyMs: number; sweepMs: number }>;
  rematchCooldownMs: number;
  matching: Readonly<{ waitLimitMs: number; recentPartners: number; recentPartnerWindowMs: number }>;
  skipsPer10Seconds: number;
  qualityReportIntervalMs: number;
  layerAdaptationIntervalMs: number;
  turn: Readonly<{
    secret: string | undefined;
    urls: readonly string[];
    ttlSeconds: number;
    iceTransportPolicy: 'all' | 'relay';
  }>;
  adminToken: string | undefined;
  metricsToken: string | undefined;
  identitySecret: string | undefined;
  dataDir: string;
  staticDir: string | undefined;
  trustProxy: boolean;
  shutdownGraceMs: number;
  /** null: one process, state in memory and DATA_DIR (the default). */
  redis: Readonly<{ url: string; prefix: string; instanceId: string; region: string | null }> | null;
}>;

/** Thrown when the environment is invalid; the message names every bad variable. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

/** Parses and validates the environment. Pure: takes the env object, returns frozen config or throws ConfigError. */
export function loadConfig(env: Record<string, string | undefined>): Config {
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== undefined && value !== ''));
  const parsed = envSchema.safeParse(cleaned);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => {
      const name = String(issue.path[0] ?? '');
      const value = cleaned[name];
      const shown = value === undefined || SECRETS.has(name) ? '' : ` (got ${JSON.stringify(value)})`;
      return `  ${name}: ${issue.message}${shown}`;
    });
    throw new ConfigError(`Invalid configuration:\n${lines.join('\n')}`);
  }
  const e = parsed.data;
  const problems: string[] = [];
  if (e.PIPE_MIN_PORT > e.PIPE_MAX_PORT) problems.push('  PIPE_MIN_PORT: must not be greater than PIPE_MAX_PORT');
  if ((e.INSTANCE_PIPE_LISTEN_IP === '0.0.0.0' || e.INSTANCE_PIPE_LISTEN_IP === '::') && !e.INSTANCE_PIPE_ADDRESS) {
    problems.push('  INSTANCE_PIPE_ADDRESS: required when INSTANCE_PIPE_LISTEN_IP listens on every address');
  }
  if (e.REDIS_URL !== undefined && e.IDENTITY_SECRET === undefined) {
    // A key generated per instance would give one address a different hash on each instance:
    // a ban or block made through one would not be found by another.
    problems.push('  IDENTITY_SECRET: must be set when REDIS_URL is set (the same on every instance)');
  }
  if (e.PING_TIMEOUT >= e.PING_INTERVAL) problems.push('  PING_TIMEOUT: must be shorter than PING_INTERVAL');
  if (e.TURN_URLS.length > 0 && e.TURN_SECRET === undefined) {
    problems.push('  TURN_SECRET: must be set when TURN_URLS is set (credentials are minted from it)');
  }
  if (e.ICE_TRANSPORT_POLICY === 'relay' && e.TURN_URLS.length === 0) {
    problems.push('  ICE_TRANSPORT_POLICY: relay needs TURN_URLS (no relay server configured)');
  }
  const workers = e.WORKERS ?? availableParallelism();
  const mediaTop = e.MEDIA_PORT + workers - 1;
  if (mediaTop > 65535) problems.push(`  MEDIA_PORT: MEDIA_PORT + WORKERS - 1 (${mediaTop}) exceeds 65535`);
  if (e.MEDIA_PORT !== 0 && e.MEDIA_PORT <= e.PIPE_MAX_PORT && mediaTop >= e.PIPE_MIN_PORT) {
    problems.push('  MEDIA_PORT: the media ports overlap PIPE_MIN_PORT..PIPE_MAX_PORT');
  }
  if (problems.length > 0) throw new ConfigError(`Invalid configuration:\n${problems.join('\n')}`);

  return Object.freeze({
    port: e.PORT,
    host: e.HOST,
    logLevel: e.LOG_LEVEL,
    media: Object.freeze({
      listenIp: e.MEDIA_LISTEN_IP,
      announcedAddress: e.ANNOUNCED_ADDRESS ?? guessAnnouncedAddress(e.MEDIA_LISTEN_IP),
      basePort: e.MEDIA_PORT,
      pipePortRange: Object.freeze({ min: e.PIPE_MIN_PORT, max: e.PIPE_MAX_PORT }),
      pipeIdleMs: e.PIPE_IDLE_MS,
      instancePipe: Object.freeze({ listenIp: e.INSTANCE_PIPE_LISTEN_IP, announcedAddress: e.INSTANCE_PIPE_ADDRESS }),
      workers,
      logLevel: e.MEDIASOUP_LOG_LEVEL,
      workerBin: e.MEDIASOUP_WORKER_BIN,
    }),
    limits: Object.freeze({
      maxConnectionsPerIp: e.MAX_CONNECTIONS_PER_IP,
      messagesPerSecondPerIp: e.MESSAGES_PER_SECOND_PER_IP,
    }),
    heartbeat: Object.freeze({ intervalMs: e.PING_INTERVAL, timeoutMs: e.PING_TIMEOUT }),
    allowedOrigins: Object.freeze([...e.ALLOWED_ORIGINS]),
    session: Object.freeze({ maxStandbyMs: e.MAX_STANDBY_MS, sweepMs: e.STANDBY_SWEEP_MS }),
    rematchCooldownMs: e.REMATCH_COOLDOWN_MS,
    matching: Object.freeze({
      waitLimitMs: e.MATCH_WAIT_LIMIT_MS,
      recentPartners: e.RECENT_PARTNERS,
      recentPartnerWindowMs: e.RECENT_PARTNER_WINDOW_MS,
    }),
    skipsPer10Seconds: e.SKIPS_PER_10_SECONDS,
    qualityReportIntervalMs: e.QUALITY_REPORT_INTERVAL_MS,
    layerAdaptationIntervalMs: e.LAYER_ADAPTATION_INTERVAL_MS,
    turn: Object.freeze({
      secret: e.TURN_SECRET,
      urls: Object.freeze([...e.TURN_URLS]),
      ttlSeconds: e.TURN_TTL_SECONDS,
      iceTransportPolicy: e.ICE_TRANSPORT_POLICY,
    }),
    adminToken: e.ADMIN_TOKEN,
    metricsToken: e.METRICS_TOKEN,
    identitySecret: e.IDENTITY_SECRET,
    dataDir: e.DATA_DIR,
    staticDir: e.STATIC_DIR,
    trustProxy: e.TRUST_PROXY,
    shutdownGraceMs: e.SHUTDOWN_GRACE_MS,
    redis:
      e.REDIS_URL === undefined
        ? null
        : Object.freeze({
            url: e.REDIS_URL,
            prefix: e.REDIS_PREFIX,
            instanceId:
              e.INSTANCE_ID ??
              `${
                hostname()
                  .replace(/[^A-Za-z0-9._-]/g, '')
                  .slice(0, 40) || 'meetopia'
              }-${randomBytes(3).toString('hex')}`,
            region: e.REGION ?? null,
          }),
  });
}

/** The URL when it is one Redis accepts (redis:// or rediss:// with a host), else null. */
export function redisUrl(value: string): URL | null {
  try {
    const url = new URL(value);
    return (url.protocol === 'redis:' || url.protocol === 'rediss:') && url.hostname !== '' ? url : null;
  } catch {
    return null;
  }
}

/** A Redis URL fit for logs and error messages: the password never appears. */
export function redactedRedisUrl(value: string): string {
  const url = redisUrl(value);
  if (url === null) return '(invalid URL)';
  if (url.password !== '') url.password = '***';
  return url.toString();
}

/**
 * Without ANNOUNCED_ADDRESS, candidates carry the listen IP when it is a concrete address, or
 * else this machine's first non-internal IPv4 (fine on a LAN, wrong behind NAT: set it there).
 */
function guessAnnouncedAddress(listenIp: string): string {
  if (listenIp !== '0.0.0.0' && listenIp !== '::') return listenIp;
  for (const addresses of Object.values(networkInterfaces())) {
    for (const address of addresses ?? []) {
      if (address.family === 'IPv4' && !address.internal) return address.address;
    }
  }
  return '127.0.0.1';
}
