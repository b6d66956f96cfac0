import { type ChildProcess, execFile, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { killWithTestProcess, stopChild } from './childProcess.js';

const repoRoot = new URL('../..', import.meta.url).pathname;
const execFileAsync = promisify(execFile);

export type CoturnOptions = {
  secret: string;
  /** The SFU's media address: the one peer coturn may relay to. */
  sfuIp: string;
  listenIps: string[];
  relayIps: string[];
  port: number;
  tlsPort: number;
  /** PEM files; without them TLS is off. */
  tls?: { cert: string; key: string };
  relayPorts: { min: number; max: number };
};

/**
 * The real coturn (`turnserver` from Debian) with the configuration production uses: rendered by
 * turn/render-config.sh from the same environment variables the container gets. Runs in its own
 * temporary directory and is stopped by PID.
 */
export class Coturn {
  readonly options: CoturnOptions;
  readonly config: string;
  readonly #dir: string;
  #child: ChildProcess | null = null;

  private constructor(options: CoturnOptions, dir: string, config: string) {
    this.options = options;
    this.#dir = dir;
    this.config = config;
  }

  static async start(options: CoturnOptions): Promise<Coturn> {
    const dir = mkdtempSync(join(tmpdir(), 'meetopia-coturn-'));
    const config = execFileSync(join(repoRoot, 'turn/render-config.sh'), {
      encoding: 'utf8',
      env: {
        PATH: process.env.PATH ?? '',
        TURN_SECRET: options.secret,
        TURN_SFU_IP: options.sfuIp,
        TURN_LISTEN_IP: options.listenIps.join(','),
        TURN_RELAY_IP: options.relayIps.join(','),
        TURN_PORT: String(options.port),
        TURN_TLS_PORT: String(options.tlsPort),
        TURN_MIN_PORT: String(options.relayPorts.min),
        TURN_MAX_PORT: String(options.relayPorts.max),
        ...(options.tls ? { TURN_TLS_CERT: options.tls.cert, TURN_TLS_KEY: options.tls.key } : {}),
      },
    });
    writeFileSync(join(dir, 'turnserver.conf'), config, { mode: 0o600 });
    const coturn = new Coturn(options, dir, config);
    await coturn.#spawn();
    return coturn;
  }

  get log(): string {
    try {
      return readFileSync(join(this.#dir, 'turn.log'), 'utf8');
    } catch {
      return '';
    }
  }

  /** Stops coturn (by PID) and waits for it to exit. */
  async stop(): Promise<void> {
    const child = this.#child;
    this.#child = null;
    await stopChild(child);
  }

  /** Starts it again with the same configuration (after `stop`). */
  async restart(): Promise<void> {
    await this.stop();
    await this.#spawn();
  }

  async destroy(): Promise<void> {
    await this.stop();
    rmSync(this.#dir, { recursive: true, force: true });
  }

  async #spawn(): Promise<void> {
    const log = join(this.#dir, 'turn.log');
    writeFileSync(log, '');
    const child = spawn(
      'turnserver',
      [
        '-c',
        join(this.#dir, 'turnserver.conf'),
        `--log-file=${log}`,
        '--simple-log',
        '--no-stdout-log',
        `--pidfile=${join(this.#dir, 'turnserver.pid')}`,
        `--userdb=${join(this.#dir, 'turndb')}`,
      ],
      { stdio: 'ignore' },
    );
    this.#child = child;
    killWithTestProcess(child);
    const deadline = Date.now() + 10_000;
    while (!this.log.includes('Total General servers')) {
      if (child.exitCode !== null) throw new Error(`turnserver exited with ${child.exitCode}:\n${this.log}`);
      if (Date.now() > deadline) throw new Error(`turnserver did not start within 10 s:\n${this.log}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

export type UclientResult = {
  /** turnutils_uclient's exit code: 0 when the messages went through the relay and came back. */
  code: number;
  output: string;
  /**
   * The last TURN error the client reported, e.g. `403 (Forbidden IP)`. (Earlier ones can be
   * retries of its own: a 437 after a retransmitted allocate on a loaded machine.)
   */
  error: string | null;
  /** Packets sent through the relay that came back from the peer. */
  received: number;
};

/**
 * Runs `turnutils_uclient` (coturn's test client): allocates a relay on `server` with the given
 * credentials and sends `messages` packets through it to `peer`.
 */
export async function uclient(options: {
  server: string;
  port: number;
  username?: string;
  password?: string;
  peer: string;
  peerPort: number;
  ipv6Relay?: boolean;
  tcp?: boolean;
  messages?: number;
}): Promise<UclientResult> {
  const args = [
    ...(options.username !== undefined ? ['-u', options.username] : []),
    ...(options.password !== undefined ? ['-w', options.password] : []),
    ...(options.ipv6Relay ? ['-x'] : []),
    ...(options.tcp ? ['-t'] : []),
    '-e',
    options.peer,
    '-r',
    String(options.peerPort),
    '-p',
    String(options.port),
    '-n',
    String(options.messages ?? 3),
    '-c',
    options.server,
  ];
  let code = 0;
  let output: string;
  try {
    const result = await execFileAsync('turnutils_uclient', args, { timeout: 15_000, encoding: 'utf8' });
    output = result.stdout + result.stderr;
  } catch (error) {
    const failed = error as { code?: number | string; stdout?: string; stderr?: string };
    code = typeof failed.code === 'number' ? failed.code : -1;
    output = (failed.stdout ?? '') + (failed.stderr ?? '');
  }
  const received = Number(/tot_recv_msgs=(\d+)/.exec(output.split('\n').reverse().join('\n'))?.[1] ?? 0);
  const errors = [...output.matchAll(/error (\d+ \([^)]*\))/g)].map((match) => match[1] ?? '');
  return { code, output, error: errors.at(-1) ?? null, received };
}

/** coturn's echo peer (`turnutils_peer`): answers every UDP packet it gets. Stopped by PID. */
export function startEchoPeer(addresses: string[], port: number): { stop(): void } {
  const child = spawn('turnutils_peer', [...addresses.flatMap((address) => ['-L', address]), '-p', String(port)], {
    stdio: 'ignore',
  });
  const kill = () => child.kill('SIGKILL');
  process.once('exit', kill);
  return {
    stop() {
      process.off('exit', kill);
      kill();
    },
  };
}
