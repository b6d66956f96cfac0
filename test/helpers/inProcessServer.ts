import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../server/src/config/config.js';
import { createLogger } from '../../server/src/logger.js';
import { type RunningMeetopia, startMeetopia } from '../../server/src/Meetopia.js';
import { testServerEnv } from './serverProcess.js';

export type TestServer = RunningMeetopia & { readonly httpUrl: string; readonly wsUrl: string };

/** The real server (real mediasoup workers) in this process, on free loopback ports. */
export async function startTestServer(env: Record<string, string> = {}): Promise<TestServer> {
  const config = loadConfig({
    ...testServerEnv,
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    DATA_DIR: mkdtempSync(join(tmpdir(), 'meetopia-test-')),
    ...env,
  });
  const running = await startMeetopia(config, createLogger(config.logLevel));
  return Object.assign(running, {
    httpUrl: `http://127.0.0.1:${running.port}`,
    wsUrl: `ws://127.0.0.1:${running.port}/ws`,
  });
}
