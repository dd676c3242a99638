/**
 * Redis key names shared across services. Every key sits under the deployment's prefix so tests and
 * several deployments can share one Redis without touching each other's data.
 */
export const redisKeys = (prefix: string) => ({
  /** Set of lower-cased deposit addresses the scanner watches on a chain; rebuilt from PostgreSQL. */
  watchSet: (chainId: number) => `${prefix}:watch:${chainId}`,
  /** Pub/sub channel for deal events. */
  channel: (name: string) => `${prefix}:${name}`,
  /** BullMQ's own prefix for every queue. */
  bullPrefix: `${prefix}:bull`,
});
