import { type ApiConfig, apiConfigSchema, loadConfig } from '@amanat/core';
import {
  connectRedis,
  createLogger,
  createPool,
  createRedis,
  onShutdown,
  startupOrExit,
} from '@amanat/platform';
import { createApiServer } from './server.ts';

const config: ApiConfig = startupOrExit(() => loadConfig('api', apiConfigSchema, process.env));
const logger = createLogger('api', config.LOG_LEVEL);
const pool = createPool({ connectionString: config.DATABASE_URL, applicationName: 'amanat-api' });
const redis = await connectRedis(createRedis(config.REDIS_URL, 'producer', 'api'));
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
