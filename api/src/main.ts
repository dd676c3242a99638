import { type ApiConfig, apiConfigSchema, loadConfig, registryFromConfig } from '@amanat/core';
import {
  connectRedis,
  createLogger,
  createPool,
  createRedis,
  onShutdown,
  startupOrExit,
} from '@amanat/platform';
import { depositAddressDeriver } from './deals/deposit-address.ts';
import { createApiServer } from './server.ts';

// Everything that can be wrong in the configuration is found before any connection is made.
const config: ApiConfig = startupOrExit(() => {
  const cfg = loadConfig('api', apiConfigSchema, process.env);
  registryFromConfig('api', cfg);
  depositAddressDeriver(cfg.DEPOSIT_XPUB);
  return cfg;
});
const logger = createLogger('api', config.LOG_LEVEL);
const pool = createPool({
  connectionString: config.DATABASE_URL,
  schema: config.DATABASE_SCHEMA,
  applicationName: 'amanat-api',
});
const redis = await connectRedis(
  createRedis(config.REDIS_URL, 'producer', 'api', { autoPipelining: true }),
).catch((err: Error) => {
  logger.fatal(
    { err: { message: err.message } },
    'Redis does not answer at REDIS_URL; start it or fix the URL',
  );
  process.exit(1);
});
const api = startupOrExit(() => createApiServer({ config, logger, pool, redis }));

const server = api.app.listen(config.API_PORT, config.API_HOST, () => {
  logger.info({ host: config.API_HOST, port: config.API_PORT }, 'api listening');
});
api.attach(server);

onShutdown(logger, [
  // Stop accepting and tell WebSocket clients to reconnect elsewhere, let in-flight requests finish,
  // then close the pools.
  [
    'http',
    async () => {
      const closed = new Promise((resolve) => server.close(resolve));
      server.closeIdleConnections();
      await api.close();
      await closed;
    },
  ],
  ['postgres', () => pool.end()],
  ['redis', () => redis.quit()],
]);
