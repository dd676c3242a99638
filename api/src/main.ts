import { type ApiConfig, apiConfigSchema, loadConfig, registryFromConfig } from '@amanat/core';
import {
  connectRedis,
  createLogger,
  createPool,
  createRedis,
  onShutdown,
  startupOrExit,
} from '@amanat/platform';
import { createApp } from './app.ts';

const config: ApiConfig = startupOrExit(() => {
  const cfg = loadConfig('api', apiConfigSchema, process.env);
  registryFromConfig('api', cfg);
  return cfg;
});

const logger = createLogger('api', config.LOG_LEVEL);
const pool = createPool({ connectionString: config.DATABASE_URL, applicationName: 'amanat-api' });
const redis = await connectRedis(createRedis(config.REDIS_URL, 'producer', 'api'));
const app = createApp({ pool, redis });

const server = app.listen(config.API_PORT, config.API_HOST, () => {
  logger.info({ host: config.API_HOST, port: config.API_PORT }, 'api listening');
});

onShutdown(logger, [
  // Stop accepting, let in-flight requests finish, then close pools.
  ['http', () => new Promise((resolve) => server.close(resolve))],
  ['postgres', () => pool.end()],
  ['redis', () => redis.quit()],
]);
