import { Redis } from 'ioredis';

/**
 * Workers block on Redis and must wait out an outage (`maxRetriesPerRequest: null`, as BullMQ requires);
 * producers such as the API and the outbox relay must fail fast instead (`enableOfflineQueue: false`),
 * so a request or a batch errors and is retried rather than hanging.
 */
export function createRedis(
  url: string,
  role: 'worker' | 'producer',
  name = 'amanat',
  opts: { autoPipelining?: boolean } = {},
): Redis {
  const redis = new Redis(url, {
    connectionName: name,
    // Commands issued in the same tick go out in one write: under load a request server sends far
    // fewer packets (each one costs kernel time on both ends).
    enableAutoPipelining: opts.autoPipelining ?? false,
    ...(role === 'worker'
      ? { maxRetriesPerRequest: null }
      : { enableOfflineQueue: false, maxRetriesPerRequest: 1 }),
    lazyConnect: role === 'producer',
  });
  // Connection errors are reported through the health checks and the failing commands themselves.
  redis.on('error', () => {});
  return redis;
}

/**
 * Connects a lazily-connecting client, for producers that should know at start whether Redis answers.
 * A client something else (a BullMQ queue) already started connecting is waited for instead.
 */
export async function connectRedis(redis: Redis): Promise<Redis> {
  if (redis.status === 'wait') await redis.connect();
  else if (redis.status === 'connecting' || redis.status === 'connect') {
    await new Promise<void>((resolve, reject) => {
      const fail = () => {
        redis.off('ready', ready);
        reject(new Error('Redis closed the connection before it was ready'));
      };
      const ready = () => {
        redis.off('end', fail);
        resolve();
      };
      redis.once('ready', ready);
      redis.once('end', fail);
    });
  }
  return redis;
}
