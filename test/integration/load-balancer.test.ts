import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { NginxServer } from '../helpers/nginx.js';
import { RedisServer } from '../helpers/redisServer.js';
import { getStatus, type ServerProcess, startServerProcess } from '../helpers/serverProcess.js';
import { TestClient } from '../helpers/wsClient.js';

const example = join(import.meta.dirname, '../../deploy/nginx/meetopia-cluster.conf');

/**
 * Debian's nginx running deploy/nginx/meetopia-cluster.conf in front of two instances sharing
 * Redis: users spread over both, a returning page reaches the instance holding its session, and
 * when an instance dies new visitors are served by the other.
 */
describe('nginx in front of two instances (the deploy/nginx example)', () => {
  let redis: RedisServer;
  let instances: [ServerProcess, ServerProcess];
  let nginx: NginxServer;
  const clients: TestClient[] = [];

  const sessionsOf = async (server: ServerProcess): Promise<number> => (await getStatus(server.url)).connections.active;
  /** A user whose connections come from `address` (a loopback address of their own), through nginx. */
  async function user(address: string, resumeToken?: string): Promise<TestClient> {
    const client = await TestClient.join(`${nginx.url.replace('http', 'ws')}/ws`, resumeToken, {
      localAddress: address,
    });
    clients.push(client);
    return client;
  }

  beforeAll(async () => {
    redis = await RedisServer.start();
    const env = { ...redis.env(`lb-${process.pid}:`), TRUST_PROXY: 'true' };
    instances = [
      await startServerProcess('lb-one', { ...env, INSTANCE_ID: 'one' }),
      await startServerProcess('lb-two', { ...env, INSTANCE_ID: 'two' }),
    ];
    nginx = await NginxServer.start(
      example,
      instances.map((instance) => instance.port),
    );
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((client) => client.close()));
  });
  afterAll(async () => {
    await nginx?.stop();
    for (const instance of instances ?? []) await instance.stop('SIGKILL');
    await redis?.destroy();
  });

  it('spreads users by address over both instances; each returning page resumes its session', async () => {
    // 20 addresses: all on one instance would happen once in 500,000 runs with two instances.
    const addresses = Array.from({ length: 20 }, (_, i) => `127.0.0.${10 + i}`);
    const users = await Promise.all(addresses.map((address) => user(address)));
    const counts = await Promise.all(instances.map(sessionsOf));
    expect(counts.reduce((sum, count) => sum + count, 0)).toBe(20);
    for (const count of counts) expect(count).toBeGreaterThan(0);

    // Every page loses its socket and comes back from the same address with its token, in
    // another order (with plain round robin, the same order would land each on its old instance).
    const tokens = users.map((client) => client.hello?.resumeToken ?? '');
    for (const client of users) client.drop();
    const back: TestClient[] = [];
    for (let i = addresses.length - 1; i >= 0; i -= 1) back.unshift(await user(addresses[i] ?? '', tokens[i]));
    expect(back.map((client) => client.hello?.resumed)).toEqual(addresses.map(() => true));
    expect(back.map((client) => client.hello?.sessionId)).toEqual(users.map((client) => client.hello?.sessionId));
  });

  it('two users from one address meet and chat through nginx', async () => {
    const a = await user('127.0.0.40');
    const b = await user('127.0.0.40');
    await a.request('start', {});
    await b.request('start', {});
    const [matchedA] = await Promise.all([a.next('matched', 5000), b.next('matched', 5000)]);
    await a.request('chat', { pairId: matchedA.pairId, text: 'through the balancer', clientMessageId: 'c1' });
    expect((await b.next('chat')).message.text).toBe('through the balancer');
  });

  it('when an instance is killed (-9), every new visitor is served by the other one', async () => {
    const [dead, alive] = instances;
    await dead.stop('SIGKILL');
    const before = await sessionsOf(alive);
    // Addresses that hashed to either instance: nginx retries the dead one's on the other.
    const addresses = Array.from({ length: 10 }, (_, i) => `127.0.0.${50 + i}`);
    const users = await Promise.all(addresses.map((address) => user(address)));
    for (const client of users) expect(client.hello?.sessionId).toEqual(expect.any(String));
    expect((await sessionsOf(alive)) - before).toBe(10);
    expect(nginx.errorLog()).toMatch(/connect\(\) failed \(111: Connection refused\)/);
  });
});
