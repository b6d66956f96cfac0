import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createWriteStream, mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { type Status, statusSchema } from '@meetopia/protocol';

const repoRoot = new URL('../..', import.meta.url).pathname;

/** Environment for a test server: loopback only, free ports, short timers. */
export const testServerEnv: Record<string, string> = {
  PORT: '0',
  HOST: '127.0.0.1',
  MEDIA_LISTEN_IP: '127.0.0.1',
  ANNOUNCED_ADDRESS: '127.0.0.1',
  MEDIA_PORT: '0',
  WORKERS: '2',
  LOG_LEVEL: 'info',
  MAX_CONNECTIONS_PER_IP: '200',
  MESSAGES_PER_SECOND_PER_IP: '2000',
};

export type ServerProcess = {
  readonly url: string;
  readonly port: number;
  readonly child: ChildProcess;
  /** Log lines so far (JSON from pino). */
  readonly logs: string[];
  /** SIGTERM and wait for exit; resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
};

/**
 * Runs the built server (`server/bin/meetopia`, what `npm start` runs) as a child process and
 * waits for its "listening" line. Logs go to test-results/<name>.log as well.
 */
export async function startServerProcess(name: string, env: Record<string, string> = {}): Promise<ServerProcess> {
  const logDir = join(repoRoot, 'test-results');
  mkdirSync(logDir, { recursive: true });
  const logFile = createWriteStream(join(logDir, `${name}.log`));
  // The launcher execs node: the child's pid is the server's.
  const child = spawn(join(repoRoot, 'server/bin/meetopia'), [], {
    cwd: repoRoot,
    // A fresh data directory unless the test keeps one across restarts (admin settings persist there).
    env: { ...process.env, DATA_DIR: mkdtempSync(join(tmpdir(), `meetopia-${name}-`)), ...testServerEnv, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: string[] = [];
  // Never leave a server behind: not when start-up fails, not when this process exits.
  const killChild = () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  };
  process.once('exit', killChild);
  child.stderr?.pipe(logFile);
  const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => {
      killChild();
      reject(
        new Error(`server ${name} did not log "Meetopia listening" within 30 s (LOG_LEVEL must be info or lower)`),
      );
    }, 30_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`server ${name} exited with ${code} before listening; see test-results/${name}.log`));
    });
    lines.on('line', (line) => {
      logs.push(line);
      logFile.write(`${line}\n`);
      if (line.includes('"Meetopia listening"')) {
        clearTimeout(timer);
        resolve(JSON.parse(line).port);
      }
    });
  });
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    child,
    logs,
    async stop(signal = 'SIGTERM') {
      process.off('exit', killChild);
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      child.kill(signal);
      const [code] = await once(child, 'exit');
      logFile.end();
      return code as number | null;
    },
  };
}

/** GET a JSON document from the server. */
export async function getJson<T>(url: string): Promise<T> {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  return (await response.json()) as T;
}

/** The server's /status, checked against the shared schema. */
export async function getStatus(baseUrl: string): Promise<Status> {
  return statusSchema.parse(await getJson(`${baseUrl}/status`));
}
