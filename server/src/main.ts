import { ConfigError, loadConfig } from './config/config.js';
import { createLogger } from './logger.js';
import { startMeetopia } from './Meetopia.js';

/** Entry point: validated config, logger, server, and shutdown on SIGTERM/SIGINT. */
async function main(): Promise<void> {
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig(process.env);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }
  const logger = createLogger(config.logLevel);
  const meetopia = await startMeetopia(config, logger);
  logger.info(
    {
      port: meetopia.port,
      workers: meetopia.pool.workers.map((worker) => ({
        index: worker.index,
        pid: worker.pid,
        mediaPort: worker.port,
      })),
      announcedAddress: config.media.announcedAddress,
    },
    'Meetopia listening',
  );

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    await meetopia.close();
    logger.info('stopped');
    logger.flush();
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
}

main().catch((error: unknown) => {
  process.stderr.write(`Meetopia failed to start: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
