import { type ChildProcess, execFile, execFileSync, spawn } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { once } from 'node:events';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePortRun } from '../helpers/ports.js';

export const repoRoot = new URL('../..', import.meta.url).pathname;
const execFileAsync = promisify(execFile);

/** A long-running program started by a test: its output is kept, and it is stopped by PID. */
export class Daemon {
  readonly name: string;
  readonly child: ChildProcess;
  #output = '';
  readonly #kill: () => void;

  constructor(name: string, command: string, args: string[], env: Record<string, string>) {
    this.name = name;
    this.child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    for (const stream of [this.child.stdout, this.child.stderr]) {
      stream?.on('data', (chunk: Buffer) => {
        this.#output += chunk.toString('utf8');
      });
    }
    this.#kill = () => this.child.kill('SIGKILL');
    process.once('exit', this.#kill);
  }

  get output(): string {
    return this.#output;
  }

  get pid(): number {
    if (this.child.pid === undefined) throw new Error(`${this.name} has no PID`);
    return this.child.pid;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Resolves once `text` appears in the output; rejects if the program exits or time runs out. */
  async waitForOutput(text: string | RegExp, timeoutMs = 20_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    const seen = () => (typeof text === 'string' ? this.#output.includes(text) : text.test(this.#output));
    while (!seen()) {
      if (!this.running)
        throw new Error(`${this.name} exited (${this.child.exitCode}) before "${text}":\n${this.#output}`);
      if (Date.now() > deadline) throw new Error(`${this.name}: no "${text}" within ${timeoutMs} ms:\n${this.#output}`);
      await sleep(100);
    }
  }

  /** SIGTERM (then SIGKILL after 5 s) and wait for the exit. */
  async stop(): Promise<void> {
    process.off('exit', this.#kill);
    if (!this.running) return;
    const exited = once(this.child, 'exit');
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  }
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Polls `read` until it returns something other than undefined. */
export async function poll<T>(what: string, read: () => T | undefined | Promise<T | undefined>, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(250);
  }
}

/** A self-signed certificate for 127.0.0.1/localhost (Pebble's own ACME endpoint). */
export function selfSignedCertificate(dir: string): { cert: string; key: string } {
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-days',
      '2',
      '-subj',
      '/CN=meetopia-test-pebble',
      '-addext',
      'subjectAltName=IP:127.0.0.1,DNS:localhost',
      '-keyout',
      key,
      '-out',
      cert,
    ],
    { stdio: 'ignore' },
  );
  return { cert, key };
}

/**
 * Debian's Pebble, Let's Encrypt's test ACME server, on loopback. It marks every challenge valid
 * (the test names resolve nowhere) and issues certificates valid for `validitySeconds`.
 */
export class Pebble {
  readonly directory: string;
  readonly tlsCert: string;
  readonly #daemon: Daemon;
  readonly #managementPort: number;

  private constructor(daemon: Daemon, directory: string, tlsCert: string, managementPort: number) {
    this.#daemon = daemon;
    this.directory = directory;
    this.tlsCert = tlsCert;
    this.#managementPort = managementPort;
  }

  static async start(dir: string, validitySeconds: number): Promise<Pebble> {
    mkdirSync(dir, { recursive: true });
    const { cert, key } = selfSignedCertificate(dir);
    const port = await freePortRun(5);
    const config = {
      pebble: {
        listenAddress: `127.0.0.1:${port}`,
        managementListenAddress: `127.0.0.1:${port + 1}`,
        certificate: cert,
        privateKey: key,
        httpPort: port + 2,
        tlsPort: port + 3,
        ocspResponderURL: '',
        externalAccountBindingRequired: false,
        certificateValidityPeriod: validitySeconds,
      },
    };
    writeFileSync(join(dir, 'pebble.json'), JSON.stringify(config));
    const daemon = new Daemon(
      'pebble',
      'pebble',
      // Any DNS lookup it might make goes to a loopback port where nothing answers.
      ['-config', join(dir, 'pebble.json'), '-dnsserver', `127.0.0.1:${port + 4}`],
      {
        PATH: process.env.PATH ?? '',
        PEBBLE_VA_ALWAYS_VALID: '1',
        PEBBLE_VA_NOSLEEP: '1',
        PEBBLE_WFE_NONCEREJECT: '0',
      },
    );
    await daemon.waitForOutput('ACME directory available');
    return new Pebble(daemon, `https://127.0.0.1:${port}/dir`, cert, port + 1);
  }

  /** The root Pebble issues under (a new one at every start), PEM. */
  async root(): Promise<string> {
    const { stdout } = await execFileAsync('curl', [
      '--silent',
      '--fail',
      '--cacert',
      this.tlsCert,
      `https://127.0.0.1:${this.#managementPort}/roots/0`,
    ]);
    return stdout;
  }

  stop(): Promise<void> {
    return this.#daemon.stop();
  }
}

export type CaddyOptions = {
  domain: string;
  dataDir: string;
  appPort: number;
  httpPort: number;
  httpsPort: number;
  /** Extra global options, e.g. Pebble as the ACME server. */
  extraOptions?: string;
};

/** Debian's Caddy running the project's own deploy/caddy/Caddyfile, with the environment compose gives it. */
export async function startCaddy(options: CaddyOptions): Promise<Daemon> {
  mkdirSync(options.dataDir, { recursive: true });
  const extra = join(options.dataDir, 'extra-options.caddy');
  writeFileSync(extra, options.extraOptions ?? '');
  const caddy = new Daemon(
    'caddy',
    'caddy',
    ['run', '--config', join(repoRoot, 'deploy/caddy/Caddyfile'), '--adapter', 'caddyfile'],
    {
      PATH: process.env.PATH ?? '',
      HOME: options.dataDir,
      XDG_DATA_HOME: join(options.dataDir, 'data'),
      XDG_CONFIG_HOME: join(options.dataDir, 'config'),
      DOMAIN: options.domain,
      EMAIL: `ops@${options.domain}`,
      HTTP_PORT: String(options.httpPort),
      HTTPS_PORT: String(options.httpsPort),
      APP_PORT: String(options.appPort),
      CADDY_ADMIN: `127.0.0.1:${await freePortRun(1)}`,
      CADDY_EXTRA_OPTIONS: extra,
    },
  );
  await caddy.waitForOutput('serving initial configuration');
  return caddy;
}

/** Where Caddy keeps the certificate it obtained for `domain` from `issuerDir`. */
export function caddyCertificate(dataDir: string, issuerDir: string, domain: string): string {
  return join(dataDir, 'data/caddy/certificates', issuerDir, domain, `${domain}.crt`);
}

/** Serial number of a PEM certificate file (its first certificate). */
export function fileSerial(file: string): string {
  return execFileSync('openssl', ['x509', '-noout', '-serial', '-in', file], { encoding: 'utf8' }).trim();
}

/**
 * Opens a new TLS connection with openssl, verifying the peer against `caFile` and `name`;
 * returns the serial of the certificate presented, or undefined when the handshake or the
 * verification failed.
 */
export async function presentedSerial(address: string, port: number, name: string, caFile: string) {
  try {
    const { stdout } = await execFileAsync(
      'sh',
      [
        '-c',
        'echo | openssl s_client -connect "$1" -servername "$2" -verify_hostname "$2" -CAfile "$3" -verify_return_error 2>/dev/null | openssl x509 -noout -serial',
        'sh',
        `${address}:${port}`,
        name,
        caFile,
      ],
      { timeout: 10_000, encoding: 'utf8' },
    );
    return stdout.trim() || undefined;
  } catch {
    return undefined;
  }
}

/**
 * A Chromium executable (a wrapper script) whose NSS database trusts `rootPems`, as a person's
 * browser trusts a public authority: no certificate-error flags. With `netns`, it runs inside
 * that network namespace.
 */
export function trustingChromium(dir: string, rootPems: string[], netns?: string): string {
  const home = join(dir, 'home');
  const nssdb = join(home, '.pki/nssdb');
  mkdirSync(nssdb, { recursive: true });
  execFileSync('certutil', ['-d', `sql:${nssdb}`, '-N', '--empty-password']);
  rootPems.forEach((pem, index) => {
    const file = join(dir, `root-${index}.pem`);
    writeFileSync(file, pem);
    execFileSync('certutil', [
      '-d',
      `sql:${nssdb}`,
      '-A',
      '-t',
      'C,,',
      '-n',
      `meetopia-test-root-${index}`,
      '-i',
      file,
    ]);
  });
  const wrapper = join(dir, 'chromium.sh');
  const prefix = netns ? `ip netns exec ${netns} ` : '';
  writeFileSync(wrapper, `#!/bin/sh\nHOME='${home}' exec ${prefix}/usr/bin/chromium "$@"\n`);
  chmodSync(wrapper, 0o755);
  return wrapper;
}

/** How the server names a client in its logs (server/src/identity/AddressHasher.ts). */
export function addressHash(secret: string, address: string): string {
  return createHmac('sha256', Buffer.from(secret, 'utf8')).update(address).digest('base64url').slice(0, 22);
}

/** `clientHash` of every "connection opened" line in pino JSON logs. */
export function openedConnectionHashes(lines: readonly string[]): string[] {
  const hashes: string[] = [];
  for (const line of lines) {
    if (!line.includes('"connection opened"')) continue;
    const entry = JSON.parse(line) as { clientHash?: string };
    if (entry.clientHash) hashes.push(entry.clientHash);
  }
  return hashes;
}

/** Children of `pid` running `command` (by /proc, not by name across the system). */
export function childPids(pid: number, command: string): number[] {
  const children = join('/proc', String(pid), 'task', String(pid), 'children');
  if (!existsSync(children)) return [];
  return readFileSync(children, 'utf8')
    .trim()
    .split(/\s+/)
    .filter(Boolean)
    .map(Number)
    .filter((child) => {
      try {
        return readFileSync(`/proc/${child}/comm`, 'utf8').trim() === command;
      } catch {
        return false;
      }
    });
}
