import { execFileSync, spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = new URL('../..', import.meta.url).pathname;

function compose(env: Record<string, string>) {
  return spawnSync('docker-compose', ['-f', join(root, 'docker-compose.yml'), 'config'], {
    cwd: root,
    env: { PATH: process.env.PATH ?? '', ...env },
    encoding: 'utf8',
  });
}

function envFile(): Record<string, string> {
  const lines = readFileSync(join(root, 'deploy/env.example'), 'utf8').split('\n');
  return Object.fromEntries(
    lines
      .filter((line) => /^[A-Z_]+=/.test(line))
      .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
  );
}

describe('docker-compose.yml', () => {
  it('is valid with the example environment and runs the app and coturn', () => {
    const result = compose(envFile());
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/^ {2}meetopia:/m);
    expect(result.stdout).toMatch(/^ {2}coturn:/m);
    expect(result.stdout).toContain('dockerfile: deploy/Dockerfile');
    expect(result.stdout).toContain('ANNOUNCED_ADDRESS: 203.0.113.10');
    expect(result.stdout).toContain('TURN_SFU_IP: 203.0.113.10');
    // The coturn image is pinned to a release with the mapped-address bypass fixed.
    const image = /image: coturn\/coturn:(\d+)\.(\d+)\.(\d+)/.exec(result.stdout);
    expect(image).not.toBeNull();
    const [major, minor] = [Number(image?.[1]), Number(image?.[2])];
    expect(major * 100 + minor).toBeGreaterThanOrEqual(409);
  });

  it('refuses to start without the public address or the TURN secret, naming them', () => {
    const { PUBLIC_IP: _ip, ...withoutIp } = envFile();
    const noIp = compose(withoutIp);
    expect(noIp.status).not.toBe(0);
    expect(noIp.stderr).toContain('PUBLIC_IP');
    const { TURN_SECRET: _secret, ...withoutSecret } = envFile();
    const noSecret = compose(withoutSecret);
    expect(noSecret.status).not.toBe(0);
    expect(noSecret.stderr).toContain('TURN_SECRET');
  });

  it('mounts an executable coturn entry point that renders a valid configuration', () => {
    for (const file of ['turn/entrypoint.sh', 'turn/render-config.sh']) accessSync(join(root, file), constants.X_OK);
    const rendered = execFileSync(join(root, 'turn/render-config.sh'), {
      env: { PATH: process.env.PATH ?? '', TURN_SECRET: 'abcdefghijklmnop', TURN_SFU_IP: '203.0.113.10' },
      encoding: 'utf8',
    });
    expect(rendered).toContain('allowed-peer-ip=203.0.113.10');
    expect(rendered).toContain('use-auth-secret');
    expect(rendered).not.toMatch(/^user=/m);
  });
});

describe('deploy/Dockerfile', () => {
  const dockerfile = readFileSync(join(root, 'deploy/Dockerfile'), 'utf8');
  const instructions = dockerfile
    .replace(/\\\n/g, ' ')
    .split('\n')
    .filter((line) => /^[A-Z]+\s/.test(line));

  it('builds in one stage and runs on Node 24 LTS in another, as a non-root user', () => {
    const stages = instructions.filter((line) => line.startsWith('FROM '));
    expect(stages).toHaveLength(2);
    for (const stage of stages) expect(stage).toMatch(/^FROM node:24-/);
    const runtime = instructions.slice(instructions.indexOf(stages[1] ?? ''));
    const users = runtime.filter((line) => line.startsWith('USER '));
    expect(users.at(-1)).toBe('USER node');
  });

  it('copies only files that exist, and starts what the build produces', () => {
    for (const line of instructions.filter((l) => l.startsWith('COPY ') && !l.includes('--from='))) {
      const sources = line.split(/\s+/).slice(1, -1);
      for (const source of sources) expect(existsSync(join(root, source)), source).toBe(true);
    }
    expect(instructions.at(-1)).toBe('CMD ["server/bin/meetopia"]');
    expect(readFileSync(join(root, 'server/bin/meetopia'), 'utf8')).toContain('dist/main.js');
    const serverTsconfig = JSON.parse(readFileSync(join(root, 'server/tsconfig.json'), 'utf8'));
    expect(serverTsconfig.compilerOptions.outDir).toBe('dist');
    expect(existsSync(join(root, 'server/src/main.ts'))).toBe(true);
  });
});
