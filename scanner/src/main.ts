import { loadConfig, registryFromConfig, type ScannerConfig, scannerConfigSchema } from '@amanat/core';
import { createLogger, onShutdown, startHealthServer, startupOrExit } from '@amanat/platform';
import { startScanner } from './scanner.ts';

const { config, registry } = startupOrExit(() => {
  const cfg: ScannerConfig = loadConfig('scanner', scannerConfigSchema, process.env);
  return { config: cfg, registry: registryFromConfig('scanner', cfg) };
});

const logger = createLogger('scanner', config.LOG_LEVEL);
if (registry.activeChains().length === 0) {
  logger.warn('no chain has RPC URLs (RPC_URLS): nothing to scan, only callbacks are delivered');
}

const scanner = await startScanner({ config, registry, logger }).catch((err: unknown) => {
  logger.fatal({ err }, 'scanner could not start');
  process.exit(1);
});
const health = await startHealthServer({ port: config.SCANNER_HEALTH_PORT, checks: scanner.checks });
logger.info(
  { chains: scanner.chains, intervalMs: config.SCAN_INTERVAL_MS, healthPort: config.SCANNER_HEALTH_PORT },
  'scanner started',
);

onShutdown(logger, [
  ['scanner', () => scanner.stop()],
  ['health', () => new Promise((resolve) => health.close(resolve))],
]);
