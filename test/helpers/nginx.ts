import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { killWithTestProcess, stopChild, waitForListening } from './childProcess.js';
import { freePortRun } from './ports.js';

/**
 * Debian's nginx on a loopback port of its own, running a config file from `deploy/` as it is,
 * except for its `listen` line and its upstream `server` lines, which point at the test's
 * instances. Stopped by PID.
 */
export class NginxServer {
  readonly port: number;
  readonly #dir: string;
  readonly #child: ChildProcess;

  private constructor(port: number, dir: string, child: ChildProcess) {
    this.port = port;
    this.#dir = dir;
    this.#child = child;
  }

  /**
   * `edit`: a change the test makes to the example on top (said where it is used);
   * `workerConnections`: nginx's limit of open connections (each proxied client holds two).
   */
  static async start(
    exampleFile: string,
    upstreamPorts: number[],
    edit: (site: string) => string = (site) => site,
    workerConnections = 512,
  ): Promise<NginxServer> {
    const port = await freePortRun(1);
    const dir = mkdtempSync(join(tmpdir(), 'meetopia-nginx-'));
    mkdirSync(join(dir, 'logs'));
    const example = readFileSync(exampleFile, 'utf8');
    const upstreamLine = /^(\s*)server 127\.0\.0\.1:\d+( .*;)$/m;
    const indent = upstreamLine.exec(example);
    if (!indent) throw new Error(`${exampleFile} has no "server 127.0.0.1:PORT ...;" upstream line`);
    const servers = upstreamPorts.map((upstream) => `${indent[1]}server 127.0.0.1:${upstream}${indent[2]}`).join('\n');
    const site = example
      .replace(new RegExp(upstreamLine.source, 'gm'), '')
      .replace(/^(\s*)keepalive /m, `${servers}\n$1keepalive `)
      .replace(/^\s*listen 80;$/m, `    listen 127.0.0.1:${port};`);
    if (!site.includes(`listen 127.0.0.1:${port};`)) throw new Error(`${exampleFile} has no "listen 80;" line`);
    writeFileSync(join(dir, 'site.conf'), edit(site));
    writeFileSync(
      join(dir, 'nginx.conf'),
      [
        `pid ${dir}/nginx.pid;`,
        `error_log ${dir}/logs/error.log info;`,
        'user root;',
        'worker_processes 1;',
        `events { worker_connections ${workerConnections}; }`,
        'http {',
        `  access_log ${dir}/logs/access.log;`,
        ...['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((kind) => `  ${kind}_temp_path ${dir}/${kind};`),
        `  include ${dir}/site.conf;`,
        '}',
      ].join('\n'),
    );
    const child = spawn('nginx', ['-p', dir, '-c', join(dir, 'nginx.conf'), '-g', 'daemon off;'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    killWithTestProcess(child);
    await waitForListening(child, port, 'nginx', () => output);
    return new NginxServer(port, dir, child);
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** nginx's error log so far (what it logged about upstreams it could not reach). */
  errorLog(): string {
    try {
      return readFileSync(join(this.#dir, 'logs/error.log'), 'utf8');
    } catch {
      return '';
    }
  }

  async stop(): Promise<void> {
    await stopChild(this.#child);
    rmSync(this.#dir, { recursive: true, force: true });
  }
}
