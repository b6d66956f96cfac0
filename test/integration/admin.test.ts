import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { defaultSimulcastConfig, type SimulcastConfig, type Status } from '@meetopia/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer } from '../helpers/inProcessServer.js';
import { getStatus, type ServerProcess, startServerProcess } from '../helpers/serverProcess.js';
import { TestClient } from '../helpers/wsClient.js';

const ADMIN_TOKEN = 'integration-admin-token-0123';
const repoRoot = new URL('../..', import.meta.url).pathname;

function admin(server: { url: string }, path: string, init: RequestInit & { token?: string | null } = {}) {
  const { token = ADMIN_TOKEN, ...rest } = init;
  const headers = new Headers(rest.headers);
  if (token !== null) headers.set('authorization', `Bearer ${token}`);
  if (rest.body) headers.set('content-type', 'application/json');
  return fetch(`${server.url}/api/admin${path}`, { ...rest, headers });
}

function put(server: { url: string }, config: unknown, options: { token?: string; name?: string } = {}) {
  const headers: Record<string, string> = options.name ? { 'x-admin-name': options.name } : {};
  return admin(server, '/simulcast', { method: 'PUT', body: JSON.stringify(config), headers, token: options.token });
}

/** The default table with the top layer changed. */
function withTopLayer(change: Partial<SimulcastConfig['layers'][number]>): SimulcastConfig {
  const [low, mid, high] = defaultSimulcastConfig.layers;
  return { ...defaultSimulcastConfig, layers: [low, mid, { ...high, ...change }] };
}

describe('admin API', () => {
  let server: ServerProcess;
  const dataDir = join(repoRoot, 'test-results', 'admin-api-data');

  beforeAll(async () => {
    rmSync(dataDir, { recursive: true, force: true });
    server = await startServerProcess('admin-api', { ADMIN_TOKEN, DATA_DIR: dataDir });
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('refuses a missing or wrong token, and says which header it wants', async () => {
    for (const token of [null, 'wrong-token-wrong-token', '']) {
      const response = await admin(server, '/simulcast', { token });
      expect(response.status).toBe(401);
      expect(response.headers.get('www-authenticate')).toBe('Bearer');
    }
    const refused = await put(server, withTopLayer({ maxBitrate: 500_000 }), { token: 'nope-nope-nope-nope' });
    expect(refused.status).toBe(401);
    expect(await (await admin(server, '/simulcast')).json()).toEqual(defaultSimulcastConfig);
  });

  it('refuses invalid tables with a 400 that names the problem, and changes nothing', async () => {
    const [low, mid, high] = defaultSimulcastConfig.layers;
    const client = await TestClient.join(`ws://127.0.0.1:${server.port}/ws`);
    const invalid: Array<[unknown, RegExp]> = [
      [withTopLayer({ maxBitrate: 200_000 }), /layers\.2\.maxBitrate: layer 2 maxBitrate must be greater/],
      [withTopLayer({ maxBitrate: 50_000_000 }), /layers\.2\.maxBitrate/],
      [withTopLayer({ maxFramerate: 0 }), /layers\.2\.maxFramerate/],
      [withTopLayer({ scaleResolutionDownBy: 8 }), /must not be smaller than layer 1/],
      [
        { ...defaultSimulcastConfig, layers: [low, mid, high].map((layer) => ({ ...layer, active: false })) },
        /at least one layer must be active/,
      ],
      [
        {
          ...defaultSimulcastConfig,
          transport: { ...defaultSimulcastConfig.transport, maxIncomingBitrate: 1_000_000 },
        },
        /maxIncomingBitrate must be at least/,
      ],
      [{ layers: [low, mid] }, /layers/],
      [{ ...defaultSimulcastConfig, extra: true }, /extra/i],
      [withTopLayer({ maxBitrate: '1200000' as unknown as number }), /layers\.2\.maxBitrate/],
    ];
    for (const [body, message] of invalid) {
      const response = await put(server, body);
      expect(response.status, JSON.stringify(body)).toBe(400);
      expect((await response.json()).error).toMatch(message);
    }
    const notJson = await admin(server, '/simulcast', { method: 'PUT', body: '{oops', headers: {} });
    expect(notJson.status).toBe(400);
    expect(await (await admin(server, '/simulcast')).json()).toEqual(defaultSimulcastConfig);
    // Nothing was persisted and no client was told anything.
    expect(() => readFileSync(join(dataDir, 'simulcast.json'))).toThrow();
    expect(client.received('simulcast')).toEqual([]);
    await client.close();
  });

  it('applies a valid table live, logs who changed what, and keeps it across a restart', async () => {
    const listener = await TestClient.join(`ws://127.0.0.1:${server.port}/ws`);
    const lowered = withTopLayer({ maxBitrate: 400_000 });
    const response = await put(server, lowered, { name: 'Ada <ops>' });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual(lowered);
    // Connected clients are told at once; new sessions start with it.
    expect((await listener.next('simulcast')).simulcast).toEqual(lowered);
    const newcomer = await TestClient.join(`ws://127.0.0.1:${server.port}/ws`);
    expect(newcomer.hello?.simulcast).toEqual(lowered);
    const entry = server.logs.map((line) => JSON.parse(line)).find((log) => log.msg === 'simulcast layers changed');
    expect(entry?.who).toMatch(/^Ada ops from /);
    expect(entry?.after.layers[2].maxBitrate).toBe(400_000);
    expect(entry?.before.layers[2].maxBitrate).toBe(1_200_000);
    await listener.close();
    await newcomer.close();

    await server.stop();
    server = await startServerProcess('admin-api-restarted', { ADMIN_TOKEN, DATA_DIR: dataDir });
    expect(await (await admin(server, '/simulcast')).json()).toEqual(lowered);
  });

  it('refuses after ten failed attempts from one address, even with the right token', async () => {
    for (let i = 0; i < 10; i += 1) expect((await admin(server, '/media', { token: `guess-${i}` })).status).toBe(401);
    expect((await admin(server, '/media')).status).toBe(429);
  });
});

describe('admin API disabled', () => {
  it('answers 503 when no ADMIN_TOKEN is configured', async () => {
    const server = await startTestServer();
    try {
      const response = await fetch(`${server.httpUrl}/api/admin/simulcast`, {
        headers: { authorization: 'Bearer anything-at-all-1234' },
      });
      expect(response.status).toBe(503);
    } finally {
      await server.close();
    }
  });
});

describe('/status and /metrics', () => {
  it('report the same live counts; /metrics can require its own token', async () => {
    const server = await startTestServer({ METRICS_TOKEN: 'metrics-token-0123456789' });
    const clients = await Promise.all([1, 2, 3].map(() => TestClient.join(server.wsUrl)));
    try {
      const [a, b] = clients;
      await a?.request('start', {});
      await b?.request('start', {});
      await a?.next('matched');
      const status: Status = await getStatus(server.httpUrl);
      expect(status).toMatchObject({ connections: { active: 3, paired: 2 }, pairs: 1, waiting: 0 });
      expect(status.consumerLayers).toEqual({ spatial: [0, 0, 0], none: 0 });

      expect((await fetch(`${server.httpUrl}/metrics`)).status).toBe(401);
      const response = await fetch(`${server.httpUrl}/metrics`, {
        headers: { authorization: 'Bearer metrics-token-0123456789' },
      });
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toMatch(/^text\/plain/);
      const text = await response.text();
      expect(text).toMatch(/^meetopia_connections\{state="active"\} 3$/m);
      expect(text).toMatch(/^meetopia_paired_users 2$/m);
      expect(text).toMatch(/^meetopia_pairs 1$/m);
      expect(text).toMatch(/^meetopia_matches_total 1$/m);
      expect(text).toMatch(/^meetopia_match_wait_seconds_count 2$/m);
      expect(text).toMatch(/^meetopia_worker_sessions\{worker="0"\} \d+$/m);
      expect(text).toMatch(/^meetopia_video_consumers\{layer="2"\} 0$/m);
      expect(text).toMatch(/^process_resident_memory_bytes \d+/m);
    } finally {
      await Promise.all(clients.map((client) => client.close()));
      await server.close();
    }
  });
});
