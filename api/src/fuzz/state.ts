import { createHash } from 'node:crypto';
import type { Pool } from '@amanat/platform';
import type { Redis } from 'ioredis';

/**
 * Everything the API could have written, as comparable text: every table and sequence of the test
 * schema (found in the catalog, so tables added later are included) and every Redis key under the test
 * prefix except the rate limiters' counters, which every request legitimately moves.
 */
export type StateSnapshot = Map<string, string>;

const ident = (name: string) => `"${name.replaceAll('"', '""')}"`;

export async function snapshotDatabase(pool: Pool, schema: string): Promise<StateSnapshot> {
  const out: StateSnapshot = new Map();
  const tables = await pool.query<{ name: string }>(
    `SELECT table_name AS name FROM information_schema.tables
     WHERE table_schema = $1 AND table_type = 'BASE TABLE' ORDER BY 1`,
    [schema],
  );
  for (const { name } of tables.rows) {
    const { rows } = await pool.query<{ n: number; digest: string }>(
      `SELECT count(*)::int AS n, md5(coalesce(string_agg(t::text, E'\\n' ORDER BY t::text), '')) AS digest
       FROM ${ident(schema)}.${ident(name)} t`,
    );
    out.set(`table ${name}`, `${rows[0]?.n} rows, ${rows[0]?.digest}`);
  }
  // A sequence advanced by a failed insert is a write that no rollback undoes.
  const sequences = await pool.query<{ name: string }>(
    'SELECT sequence_name AS name FROM information_schema.sequences WHERE sequence_schema = $1 ORDER BY 1',
    [schema],
  );
  for (const { name } of sequences.rows) {
    const { rows } = await pool.query(
      `SELECT last_value::text AS v, is_called FROM ${ident(schema)}.${ident(name)}`,
    );
    out.set(`sequence ${name}`, `${rows[0]?.v} ${rows[0]?.is_called}`);
  }
  return out;
}

async function keyDigest(redis: Redis, key: string): Promise<string> {
  const type = await redis.type(key);
  let value: unknown;
  switch (type) {
    case 'string':
      value = await redis.get(key);
      break;
    case 'set':
      value = (await redis.smembers(key)).sort();
      break;
    case 'hash':
      value = Object.entries(await redis.hgetall(key)).sort();
      break;
    case 'list':
      value = await redis.lrange(key, 0, -1);
      break;
    case 'zset':
      value = await redis.zrange(key, '0', '-1', 'WITHSCORES');
      break;
    case 'stream':
      value = await redis.xrange(key, '-', '+');
      break;
    default:
      value = null;
  }
  return `${type} ${createHash('sha256').update(JSON.stringify(value)).digest('hex').slice(0, 16)}`;
}

export async function snapshotRedis(redis: Redis, prefix: string): Promise<StateSnapshot> {
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
    cursor = next;
    keys.push(...batch.filter((k) => !k.startsWith(`${prefix}:rl:`)));
  } while (cursor !== '0');
  const out: StateSnapshot = new Map();
  for (const key of keys.sort())
    out.set(`redis ${key.slice(prefix.length + 1)}`, await keyDigest(redis, key));
  return out;
}

/** Every entry that appeared, disappeared or changed, in words. */
export function stateDifferences(before: StateSnapshot, after: StateSnapshot): string[] {
  const out: string[] = [];
  for (const [name, was] of before) {
    const now = after.get(name);
    if (now === undefined) out.push(`${name}: removed (was ${was})`);
    else if (now !== was) out.push(`${name}: ${was} -> ${now}`);
  }
  for (const [name, now] of after) if (!before.has(name)) out.push(`${name}: added (${now})`);
  return out;
}
