import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { repoRoot } from './support.js';

const SECRETS = ['TURN_SECRET', 'ADMIN_TOKEN', 'METRICS_TOKEN', 'IDENTITY_SECRET', 'GRAFANA_ADMIN_PASSWORD'];

/** Runs scripts/configure.sh with standard input that is not a terminal (as CI and scripts do). */
function configure(args: string[]) {
  return spawnSync(join(repoRoot, 'scripts/configure.sh'), args, {
    encoding: 'utf8',
    input: '',
    env: { PATH: process.env.PATH ?? '' },
  });
}

function readEnv(file: string): Record<string, string> {
  return Object.fromEntries(
    readFileSync(file, 'utf8')
      .split('\n')
      .filter((line) => /^[A-Z][A-Z0-9_]*=/.test(line))
      .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
  );
}

describe('scripts/configure.sh', () => {
  let dir: string;
  let envFile: string;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'meetopia-configure-'));
    envFile = join(dir, '.env');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('a fresh run writes a complete, private .env that docker-compose accepts', () => {
    const result = configure([
      '--domain',
      'chat.example.com',
      '--email',
      'ops@example.com',
      '--public-ip',
      '203.0.113.10',
      '--output',
      envFile,
    ]);
    expect(result.status, result.stderr).toBe(0);
    expect(statSync(envFile).mode & 0o777).toBe(0o600);
    const env = readEnv(envFile);
    expect(env).toMatchObject({
      DOMAIN: 'chat.example.com',
      EMAIL: 'ops@example.com',
      PUBLIC_IP: '203.0.113.10',
      TURN_URLS:
        'turn:chat.example.com:3478?transport=udp,turn:chat.example.com:3478?transport=tcp,turns:chat.example.com:5349?transport=tcp',
    });
    for (const key of SECRETS) expect(env[key], key).toMatch(/^[0-9a-f]{64}$/);
    expect(new Set(SECRETS.map((key) => env[key])).size).toBe(SECRETS.length);
    // Secrets go to the file, never to the terminal.
    for (const key of SECRETS) expect(result.stdout + result.stderr).not.toContain(env[key]);

    const compose = spawnSync(
      'docker-compose',
      ['-f', join(repoRoot, 'docker-compose.yml'), '--env-file', envFile, '--profile', 'monitoring', 'config'],
      { cwd: dir, encoding: 'utf8', env: { PATH: process.env.PATH ?? '' } },
    );
    expect(compose.status, compose.stderr).toBe(0);
    for (const service of ['caddy', 'meetopia', 'coturn', 'prometheus', 'grafana']) {
      expect(compose.stdout).toMatch(new RegExp(`^ {2}${service}:`, 'm'));
    }
    expect(compose.stdout).toContain(`TURN_SECRET: ${env.TURN_SECRET}`);
    expect(compose.stdout).toContain('TURN_TLS_DOMAIN: chat.example.com');
    expect(compose.stdout).toContain('GF_SERVER_ROOT_URL: https://chat.example.com/grafana/');
  });

  it('prints the DNS record and every port to open', () => {
    writeFileSync(envFile, 'MEDIA_PORT=41000\nWORKERS=3\n');
    const result = configure([
      '--domain',
      'chat.example.com',
      '--email',
      'ops@example.com',
      '--public-ip',
      '203.0.113.10',
      '--output',
      envFile,
    ]);
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/chat\.example\.com\.\s+A\s+203\.0\.113\.10/);
    for (const port of [
      '80/tcp',
      '443/tcp',
      '3478/udp',
      '3478/tcp',
      '5349/tcp',
      '41000-41002/udp',
      '49160-49999/udp',
    ]) {
      expect(result.stdout).toContain(port);
    }
    // Settings added by hand survive.
    expect(readEnv(envFile)).toMatchObject({ MEDIA_PORT: '41000', WORKERS: '3' });
  });

  it('a second run keeps every secret, and --force replaces them all', () => {
    const base = ['--email', 'ops@example.com', '--public-ip', '203.0.113.10', '--output', envFile];
    expect(configure(['--domain', 'chat.example.com', ...base]).status).toBe(0);
    const first = readEnv(envFile);

    // Nothing given at all: everything comes from the file.
    const again = configure(['--output', envFile]);
    expect(again.status, again.stderr).toBe(0);
    expect(readEnv(envFile)).toEqual(first);

    // A new domain: new TURN URLs, same secrets.
    expect(configure(['--domain', 'talk.example.org', '--output', envFile]).status).toBe(0);
    const moved = readEnv(envFile);
    expect(moved.DOMAIN).toBe('talk.example.org');
    expect(moved.TURN_URLS).toContain('turns:talk.example.org:5349?transport=tcp');
    for (const key of SECRETS) expect(moved[key], key).toBe(first[key]);

    expect(configure(['--force', '--output', envFile]).status).toBe(0);
    const rotated = readEnv(envFile);
    for (const key of SECRETS) {
      expect(rotated[key], key).toMatch(/^[0-9a-f]{64}$/);
      expect(rotated[key], key).not.toBe(first[key]);
    }
  });

  it('DOMAIN=localhost needs no address and says strangers need a real domain', () => {
    const result = configure(['--domain', 'localhost', '--email', 'me@example.com', '--output', envFile]);
    expect(result.status, result.stderr).toBe(0);
    expect(readEnv(envFile)).toMatchObject({ DOMAIN: 'localhost', PUBLIC_IP: '127.0.0.1' });
    expect(result.stdout).toContain('Strangers need a real domain');
  });

  it('--cluster turns on the cluster profile: Redis, three instances on their own ports, Caddy in front of all', () => {
    const args = ['--domain', 'chat.example.com', '--email', 'ops@example.com', '--public-ip', '203.0.113.10'];
    writeFileSync(envFile, 'WORKERS=4\nCOMPOSE_PROFILES=monitoring\n');
    const result = configure([...args, '--cluster', '--output', envFile]);
    expect(result.status, result.stderr).toBe(0);
    const env = readEnv(envFile);
    expect(env).toMatchObject({
      COMPOSE_PROFILES: 'monitoring,cluster',
      REDIS_URL: 'redis://127.0.0.1:6379/0',
      CLUSTER_UPSTREAMS: '127.0.0.1:3004 127.0.0.1:3005',
    });
    for (const ports of ['40100-40103/udp', '40200-40203/udp']) expect(result.stdout).toContain(ports);
    // A later run without the flag keeps the profile (and the keys once only).
    expect(configure([...args, '--output', envFile]).status).toBe(0);
    expect(readEnv(envFile)).toMatchObject({ COMPOSE_PROFILES: 'monitoring,cluster', REDIS_URL: env.REDIS_URL });
    expect(readFileSync(envFile, 'utf8').match(/^REDIS_URL=/gm)).toHaveLength(1);

    const compose = spawnSync(
      'docker-compose',
      ['-f', join(repoRoot, 'docker-compose.yml'), '--env-file', envFile, 'config'],
      {
        cwd: dir,
        encoding: 'utf8',
        env: { PATH: process.env.PATH ?? '' },
      },
    );
    expect(compose.status, compose.stderr).toBe(0);
    for (const service of ['redis', 'meetopia', 'meetopia-2', 'meetopia-3']) {
      expect(compose.stdout).toMatch(new RegExp(`^ {2}${service}:`, 'm'));
    }
    // Every instance gets the shared Redis and the identity key, and a name and ports of its own.
    expect(compose.stdout.match(/REDIS_URL: redis:\/\/127\.0\.0\.1:6379\/0/g)).toHaveLength(3);
    expect(compose.stdout.match(new RegExp(`IDENTITY_SECRET: ${env.IDENTITY_SECRET}`, 'g'))).toHaveLength(3);
    for (const name of ['meetopia-1', 'meetopia-2', 'meetopia-3'])
      expect(compose.stdout).toContain(`INSTANCE_ID: ${name}`);
    for (const port of ["PORT: '3003'", "PORT: '3004'", "PORT: '3005'", "MEDIA_PORT: '40100'", "MEDIA_PORT: '40200'"]) {
      expect(compose.stdout).toContain(port);
    }
    expect(compose.stdout).toContain('MORE_APP_UPSTREAMS: 127.0.0.1:3004 127.0.0.1:3005');
  });

  it('--cluster refuses media ports of one instance that run into the next one, and writes nothing', () => {
    writeFileSync(envFile, 'WORKERS=200\n');
    const before = readFileSync(envFile, 'utf8');
    const result = configure([
      '--domain',
      'chat.example.com',
      '--email',
      'ops@example.com',
      '--cluster',
      '--output',
      envFile,
    ]);
    expect(result.status).not.toBe(0);
    expect(result.stderr).toContain('media ports overlap');
    expect(readFileSync(envFile, 'utf8')).toBe(before);
  });

  const bad: Array<[string, string[], string]> = [
    ['a domain with a scheme', ['--domain', 'https://chat.example.com'], 'https://chat.example.com'],
    ['a domain with a path', ['--domain', 'chat.example.com/meetopia'], 'chat.example.com/meetopia'],
    ['a domain with a port', ['--domain', 'chat.example.com:8443'], 'chat.example.com:8443'],
    ['an e-mail without @', ['--email', 'ops.example.com'], 'ops.example.com'],
    ['an address that is not an IP', ['--public-ip', '203.0.113.300'], '203.0.113.300'],
    ['a name where an IP belongs', ['--public-ip', 'chat.example.com'], 'chat.example.com'],
  ];
  const good = { '--domain': 'chat.example.com', '--email': 'ops@example.com', '--public-ip': '203.0.113.10' };

  for (const [what, override, value] of bad) {
    it(`refuses ${what}, naming the value, and writes nothing`, () => {
      const options = { ...good, [override[0] as string]: override[1] as string };
      const args = [...Object.entries(options).flat(), '--output', envFile];

      // On a fresh machine: no file appears.
      const fresh = configure(args);
      expect(fresh.status).not.toBe(0);
      expect(fresh.stderr).toContain(`'${value}'`);
      expect(readdirSync(dir)).toEqual([]);

      // Over an existing .env: it is left exactly as it was.
      expect(configure([...Object.entries(good).flat(), '--output', envFile]).status).toBe(0);
      const before = readFileSync(envFile, 'utf8');
      const again = configure(args);
      expect(again.status).not.toBe(0);
      expect(again.stderr).toContain(`'${value}'`);
      expect(readFileSync(envFile, 'utf8')).toBe(before);
      expect(readdirSync(dir)).toEqual(['.env']);
    });
  }

  it('refuses to run without a domain when nobody can be asked', () => {
    const result = configure(['--email', 'ops@example.com', '--output', envFile]);
    expect(result.status).not.toBe(0);
    expect(result.stderr).toContain('--domain is required');
    expect(readdirSync(dir)).toEqual([]);
  });
});
