// The runbook's backup and restore commands, run as an operator runs them (the scripts in deploy/, in
// their direct mode instead of through `docker compose exec`):
// - PostgreSQL: pg-backup.sh dumps a database with real deals; pg-restore.sh puts it back in place of a
//   database that has changed since, with every row, sequence, trigger and applied migration; a file
//   that is not a dump changes nothing.
// - Redis: redis-backup.sh snapshots a Redis running deploy/redis.conf; after the disk is lost,
//   redis-restore.sh brings the snapshot back, and outbox-replay.sh has the outbox relay re-enqueue what
//   was delivered after the snapshot, so every job is back.
import { type SpawnSyncReturns, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { QUEUES, redisKeys } from '@amanat/core';
import {
  connectRedis,
  createLogger,
  createPool,
  createRedis,
  DealStore,
  migrate,
  OutboxRelay,
  type Pool,
} from '@amanat/platform';
import { Queue } from 'bullmq';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findFreePort } from '../devstack/ports.ts';
import { createTestDatabase, type TestDatabase, until } from '../devstack/testing.ts';
import { awaitingPaymentDeal } from '../platform/src/deals/test-fixtures.ts';
import { type PrivatePostgres, startConfRedis, startPrivatePostgres } from './test-servers.ts';

const root = join(import.meta.dirname, '..');

function script(
  name: string,
  opts: { args?: string[]; input?: Buffer | string; env?: Record<string, string> },
): SpawnSyncReturns<Buffer> {
  return spawnSync('sh', [join('deploy', name), ...(opts.args ?? [])], {
    cwd: root,
    env: { ...process.env, ...opts.env },
    ...(opts.input === undefined ? { stdio: ['ignore', 'pipe', 'pipe'] } : { input: opts.input }),
    maxBuffer: 256 * 1024 * 1024,
  });
}

/** A deposit address per derivation index, as the API's HD derivation would give (unique per index). */
const derive = (index: bigint) => `0x${index.toString(16).padStart(40, '0')}`;

describe('PostgreSQL: deploy/pg-backup.sh and deploy/pg-restore.sh', () => {
  let server: PrivatePostgres;
  let pool: Pool;
  let poolOpen = false;
  const openPool = () => {
    pool = createPool({ connectionString: server.url('amanat') });
    poolOpen = true;
  };
  /** Restoring drops the database: nothing of the test may hold a connection to it. */
  const closePool = async () => {
    poolOpen = false;
    await pool.end();
  };
  const env = () => ({ ...server.env, PGDATABASE: 'amanat', AMANAT_PG_DIRECT: '1' });

  /** Every table's rows (sorted), the deposit index sequence and the applied migrations. */
  async function contents(): Promise<Record<string, unknown>> {
    const { rows: tables } = await pool.query<{ name: string }>(
      `SELECT tablename AS name FROM pg_tables WHERE schemaname = 'public' ORDER BY 1`,
    );
    const result: Record<string, unknown> = {};
    for (const { name } of tables) {
      const { rows } = await pool.query(`SELECT * FROM "${name}"`);
      result[name] = rows.map((r) => JSON.stringify(r)).sort();
    }
    const { rows } = await pool.query('SELECT last_value, is_called FROM deposit_index_seq');
    result.deposit_index_seq = rows[0];
    return result;
  }

  beforeAll(async () => {
    // The compose `postgres` container's user and database.
    server = await startPrivatePostgres('amanat');
    const admin = new pg.Client({ connectionString: server.url('postgres') });
    await admin.connect();
    await admin.query('CREATE DATABASE amanat');
    await admin.end();
    await migrate({ connectionString: server.url('amanat') });
    openPool();
    const store = new DealStore({ pool });
    for (let i = 0; i < 3; i++) await awaitingPaymentDeal(store, pool, derive);
  }, 60_000);
  afterAll(async () => {
    if (poolOpen) await closePool();
    await server?.stop();
  });

  it('a dump restored in place of a changed database gives back every row, sequence and trigger', async () => {
    const before = await contents();
    expect((before.deals as string[]).length).toBe(3);
    expect((before.activity_log as string[]).length).toBeGreaterThan(3);

    const dump = script('pg-backup.sh', { env: env() });
    expect(dump.stderr.toString()).toBe('');
    expect(dump.status).toBe(0);
    // pg_dump's custom format.
    expect(dump.stdout.subarray(0, 5).toString()).toBe('PGDMP');

    // Life goes on after the backup; the restore must take the database back to the dump.
    await awaitingPaymentDeal(new DealStore({ pool }), pool, derive);
    expect(await contents()).not.toEqual(before);
    await closePool();

    const restore = script('pg-restore.sh', { input: dump.stdout, env: env() });
    expect(restore.stderr.toString()).not.toMatch(/ERROR|FATAL/);
    expect(restore.stderr.toString()).toMatch(/pg-restore: amanat restored\n$/);
    expect(restore.status).toBe(0);

    openPool();
    expect(await contents()).toEqual(before);
    // The schema is at the version the dump had: nothing to apply.
    expect(await migrate({ connectionString: server.url('amanat') })).toEqual([]);
    // The activity log is still append-only.
    await expect(pool.query('DELETE FROM activity_log')).rejects.toThrow(/append-only/);
    // Deposit addresses continue after the restored ones: none is handed out twice.
    const used = (before.deposit_addresses as string[]).map((r) => Number(JSON.parse(r).derivation_index));
    const next = await awaitingPaymentDeal(new DealStore({ pool }), pool, derive);
    const { rows } = await pool.query('SELECT derivation_index FROM deposit_addresses WHERE deal_id = $1', [
      next.deal.id,
    ]);
    expect(Number(rows[0].derivation_index)).toBeGreaterThan(Math.max(...used));
  });

  it('a file that is not a dump changes nothing', async () => {
    const before = await contents();
    await closePool();
    const restore = script('pg-restore.sh', { input: 'not a dump', env: env() });
    expect(restore.stderr.toString()).toContain('the database amanat was not changed');
    expect(restore.status).not.toBe(0);

    openPool();
    expect(await contents()).toEqual(before);
    const { rows } = await pool.query(
      `SELECT datname FROM pg_database WHERE datname LIKE 'amanat%' ORDER BY 1`,
    );
    expect(rows.map((r) => r.datname)).toEqual(['amanat']);
  });
});

describe('Redis: deploy/redis-backup.sh, deploy/redis-restore.sh and deploy/outbox-replay.sh', () => {
  const PREFIX = 'amanat';
  let db: TestDatabase;
  let dir: string;
  beforeAll(async () => {
    db = await createTestDatabase();
    dir = mkdtempSync(join(tmpdir(), 'amanat-redis-backup-'));
  });
  afterAll(async () => {
    await db?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Every job id in every queue of the system, in any state. */
  async function allJobs(url: string): Promise<string[]> {
    const redis = createRedis(url, 'worker', 'test-jobs');
    try {
      const ids: string[] = [];
      for (const name of Object.values(QUEUES)) {
        const queue = new Queue(name, { connection: redis, prefix: redisKeys(PREFIX).bullPrefix });
        const jobs = await queue.getJobs(['wait', 'delayed', 'active', 'prioritized', 'completed', 'failed']);
        ids.push(...jobs.map((j) => `${name}/${j.id}`));
      }
      return ids.sort();
    } finally {
      redis.disconnect();
    }
  }

  /** The PostgreSQL of `npm test`, as libpq variables for psql. */
  function pgEnv(): Record<string, string> {
    const url = new URL(db.url);
    return {
      AMANAT_PG_DIRECT: '1',
      PGHOST: url.hostname,
      PGPORT: url.port || '5432',
      PGUSER: decodeURIComponent(url.username),
      PGPASSWORD: decodeURIComponent(url.password),
      PGDATABASE: url.pathname.slice(1),
      DATABASE_SCHEMA: db.schema,
    };
  }

  it('a snapshot restored after the disk is lost, plus the outbox replay, brings every job back', async () => {
    const port = await findFreePort();
    let server = await startConfRedis({ dir, port });
    const producer = createRedis(server.url, 'producer', 'test-relay');
    const relay = new OutboxRelay({
      pool: db.pool,
      redis: producer,
      prefix: PREFIX,
      logger: createLogger('test', 'silent'),
    });
    const drain = async () => {
      if (producer.status === 'wait') await connectRedis(producer);
      // After a restart the connection comes back by itself.
      await until('the relay connection to Redis', () => producer.status === 'ready');
      while ((await relay.drainOnce()) > 0) {}
    };
    const store = new DealStore({ pool: db.pool });
    try {
      for (let i = 0; i < 2; i++) await awaitingPaymentDeal(store, db.pool, derive);
      await drain();
      const atBackup = await allJobs(server.url);
      expect(atBackup.length).toBeGreaterThan(0);

      // The runbook: note the time, then take the snapshot.
      const { rows } = await db.pool.query<{ at: Date }>('SELECT clock_timestamp() AS at');
      const since = (rows[0] as { at: Date }).at.toISOString();
      const backup = script('redis-backup.sh', {
        args: ['-p', String(port)],
        env: { AMANAT_REDIS_DIRECT: '1' },
      });
      expect(backup.status).toBe(0);
      expect(backup.stdout.subarray(0, 5).toString()).toBe('REDIS');

      for (let i = 0; i < 2; i++) await awaitingPaymentDeal(store, db.pool, derive);
      await drain();
      const atLoss = await allJobs(server.url);
      expect(atLoss.length).toBeGreaterThan(atBackup.length);

      // The disk is lost with Redis on it.
      await server.kill();
      rmSync(dir, { recursive: true, force: true });
      mkdirSync(dir);

      const restore = script('redis-restore.sh', { args: [dir], input: backup.stdout });
      expect(restore.stderr.toString()).toBe(`redis-restore: ${dir}/appendonlydir now holds the snapshot\n`);
      expect(restore.status).toBe(0);
      server = await startConfRedis({ dir, port });
      expect(await allJobs(server.url)).toEqual(atBackup);

      const replay = script('outbox-replay.sh', { args: [since], env: pgEnv() });
      expect(replay.stderr.toString()).not.toMatch(/ERROR|FATAL/);
      expect(replay.status).toBe(0);
      // It says how many rows it handed back: those delivered after the snapshot.
      const redelivered = /rows_to_redeliver\s*\n-+\n\s*(\d+)/.exec(replay.stdout.toString())?.[1];
      expect(Number(redelivered)).toBeGreaterThan(0);
      await drain();
      expect(await allJobs(server.url)).toEqual(atLoss);
    } finally {
      producer.disconnect();
      await server.stop();
    }
  });

  it('a file that is not a snapshot leaves the data as it was', async () => {
    const port = await findFreePort();
    const own = mkdtempSync(join(tmpdir(), 'amanat-redis-keep-'));
    try {
      let server = await startConfRedis({ dir: own, port });
      const redis = createRedis(server.url, 'worker', 'test-keep');
      await redis.set('kept', 'yes');
      redis.disconnect();
      await server.stop();
      const files = readdirSync(join(own, 'appendonlydir')).sort();

      const restore = script('redis-restore.sh', { args: [own], input: 'not a snapshot' });
      expect(restore.stderr.toString()).toContain('nothing was changed');
      expect(restore.status).not.toBe(0);
      expect(readdirSync(own)).toEqual(['appendonlydir']);
      expect(readdirSync(join(own, 'appendonlydir')).sort()).toEqual(files);

      server = await startConfRedis({ dir: own, port });
      const check = createRedis(server.url, 'worker', 'test-keep');
      expect(await check.get('kept')).toBe('yes');
      check.disconnect();
      await server.stop();
    } finally {
      rmSync(own, { recursive: true, force: true });
    }
  });
});
