import { type ApiConfig, apiConfigSchema, DomainError, loadConfig, registryFromConfig } from '@amanat/core';
import { connectRedis, createLogger, createPool, createRedis, onShutdown } from '@amanat/platform';
import { createApp } from './app.ts';

let config: ApiConfig;
try {
  config = loadConfig('api', apiConfigSchema, process.env);
  registryFromConfig('api', config);
} catch (err) {
  if (err instanceof DomainError) {
    console.error(err.message);
    process.exit(1);
  }
  throw err;
}

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
