import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { killWithTestProcess, stopChild, waitForListening } from './childProcess.js';
import { freePortRun } from './ports.js';

/**
 * The real Redis (Debian's `redis-server`) on a loopback port of its own, nothing persisted:
 * each test file starts one and stops it by PID. `stop` and `start` again on the same port
 * stand for an outage.
 */
export class RedisServer {
  readonly port: number;
  readonly #dir: string;
  #child: ChildProcess | null = null;
  #output = '';

  private constructor(port: number, dir: string) {
    this.port = port;
    this.#dir = dir;
  }

  static async start(): Promise<RedisServer> {
    const server = new RedisServer(await freePortRun(1), mkdtempSync(join(tmpdir(), 'meetopia-redis-')));
    await server.start();
    return server;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /**
   * What an instance sharing this Redis is started with: its URL, a key prefix of the test's
   * own, and the identity key every instance of a deployment shares.
   */
  env(prefix: string): { REDIS_URL: string; REDIS_PREFIX: string; IDENTITY_SECRET: string } {
    return { REDIS_URL: this.url, REDIS_PREFIX: prefix, IDENTITY_SECRET: 'test-identity-key-of-the-cluster' };
  }

  get running(): boolean {
    return this.#child !== null;
  }

  async start(): Promise<void> {
    if (this.#child) return;
    this.#output = '';
    const child = spawn(
      'redis-server',
      ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', this.#dir],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    this.#child = child;
    child.stdout?.on('data', (chunk: Buffer) => (this.#output += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (this.#output += chunk.toString()));
    killWithTestProcess(child);
    await waitForListening(child, this.port, 'redis-server', () => this.#output);
  }

  /** Stops it (by PID) and waits for the exit. */
  async stop(): Promise<void> {
    const child = this.#child;
    this.#child = null;
    await stopChild(child);
  }

  async destroy(): Promise<void> {
    await this.stop();
    rmSync(this.#dir, { recursive: true, force: true });
  }
}
