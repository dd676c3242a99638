import type { Logger } from 'pino';

/**
 * Runs the closers in order on SIGTERM or SIGINT (finish or hand back in-flight work first, then close
 * connections), then exits. A second signal, or a closer that hangs past the grace period, exits at once.
 */
export function onShutdown(
  logger: Logger,
  closers: Array<[string, () => Promise<unknown>]>,
  graceMs = 25_000,
): void {
  let shuttingDown = false;
  const handler = async (signal: NodeJS.Signals) => {
    if (shuttingDown) {
      logger.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    shuttingDown = true;
    logger.info({ signal }, 'shutting down');
    const timer = setTimeout(() => {
      logger.error('shutdown took too long: exiting');
      process.exit(1);
    }, graceMs);
    timer.unref();
    let code = 0;
    for (const [name, close] of closers) {
      try {
        await close();
      } catch (err) {
        code = 1;
        logger.error({ err, step: name }, 'shutdown step failed');
      }
    }
    logger.info('stopped');
    process.exit(code);
  };
  process.once('SIGTERM', handler);
  process.once('SIGINT', handler);
}
