import { randomBytes } from 'node:crypto';
import { createPool, createRedis, migrate, type Pool } from '@amanat/platform';
import type { Redis } from 'ioredis';

/** Tests get their infrastructure from `npm test` (scripts/test.ts), which resolves it once per run. */
export function testEnv(): { databaseUrl: string; redisUrl: string } {
  const databaseUrl = process.env.DATABASE_URL;
  const redisUrl = process.env.REDIS_URL;
  if (!databaseUrl || !redisUrl) {
    throw new Error(
      'DATABASE_URL and REDIS_URL must be set: run the tests through `npm test`, which provides them.',
    );
  }
  return { databaseUrl, redisUrl };
}

export interface TestDatabase {
  pool: Pool;
  url: string;
  schema: string;
  /** Drops the schema and closes the pool. */
  close(): Promise<void>;
}

/** A schema of its own for one test file, migrated to the current version, so files run in parallel. */
export async function createTestDatabase(opts: { max?: number } = {}): Promise<TestDatabase> {
  const { databaseUrl } = testEnv();
  const schema = `t_${randomBytes(6).toString('hex')}`;
  await migrate({ connectionString: databaseUrl, schema });
  const pool = createPool({ connectionString: databaseUrl, schema, max: opts.max ?? 10 });
  return {
    pool,
    url: databaseUrl,
    schema,
    close: async () => {
      await pool.query(`DROP SCHEMA ${schema} CASCADE`);
      await pool.end();
    },
  };
}

export interface TestRedis {
  redis: Redis;
  url: string;
  prefix: string;
  close(): Promise<void>;
}

/** A key prefix of its own for one test file; its keys are deleted on close. */
export async function createTestRedis(): Promise<TestRedis> {
  const { redisUrl } = testEnv();
  const prefix = `t-${randomBytes(6).toString('hex')}`;
  const redis = createRedis(redisUrl, 'worker', 'test');
  return {
    redis,
    url: redisUrl,
    prefix,
    close: async () => {
      await deleteKeysWithPrefix(redis, prefix);
      redis.disconnect();
    },
  };
}

/** Deletes every key under a prefix (what a test or benchmark left in a shared Redis). */
export async function deleteKeysWithPrefix(redis: Redis, prefix: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length > 0) await redis.del(...keys);
  } while (cursor !== '0');
}

type Maybe<T> = T | null | undefined | false;

/** Polls `check` until it gives something truthy and returns that; fails naming `what` after `ms`. */
export async function until<T>(
  what: string,
  check: () => Promise<Maybe<T>> | Maybe<T>,
  ms = 20_000,
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
