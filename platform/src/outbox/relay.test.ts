import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { type DealEvent, redisKeys } from '@amanat/core';
import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createTestDatabase,
  createTestRedis,
  type TestDatabase,
  type TestRedis,
} from '../../../devstack/testing.ts';
import { DealStore } from '../deals/store.ts';
import { makeParties, newDealInput } from '../deals/test-fixtures.ts';
import { createRedis } from '../redis.ts';
import { createLogger } from '../runtime/logger.ts';
import { OutboxRelay } from './relay.ts';
import { outboxWaker } from './write.ts';

let db: TestDatabase;
let r: TestRedis;
let store: DealStore;
let notifications: Queue;
const events: DealEvent[] = [];
let subscriber: ReturnType<typeof createRedis>;

beforeAll(async () => {
  db = await createTestDatabase();
  r = await createTestRedis();
  store = new DealStore({ pool: db.pool });
  notifications = new Queue('notifications', { connection: r.redis, prefix: redisKeys(r.prefix).bullPrefix });
  subscriber = createRedis(r.url, 'worker', 'test-subscriber');
  await subscriber.subscribe(redisKeys(r.prefix).channel('deal-events'));
  subscriber.on('message', (_channel, message) => events.push(JSON.parse(message)));
});
afterAll(async () => {
  await notifications.close();
  subscriber.disconnect();
  await r.close();
  await db.close();
});

const relay = () => {
  const producer = createRedis(r.url, 'producer', 'test-relay');
  return {
    producer,
    relay: new OutboxRelay({
      pool: db.pool,
      redis: producer,
      prefix: r.prefix,
      logger: createLogger('test', 'silent'),
    }),
  };
};

const crash = (at: 'after-commit' | 'before-deliver' | 'after-deliver') => {
  const result = spawnSync(
    process.execPath,
    [fileURLToPath(new URL('./crash-fixture.ts', import.meta.url))],
    {
      env: { ...process.env, TEST_SCHEMA: db.schema, TEST_PREFIX: r.prefix, CRASH_AT: at },
      encoding: 'utf8',
      timeout: 30_000,
    },
  );
  expect(result.signal, result.stderr).toBe('SIGKILL');
  return result.stdout.trim();
};

const pending = async () =>
  (await db.pool.query('SELECT count(*)::int AS n FROM outbox WHERE delivered_at IS NULL')).rows[0].n;
const waitFor = async (cond: () => boolean) => {
  for (let i = 0; i < 100 && !cond(); i++) await new Promise((res) => setTimeout(res, 20));
};

describe('outbox relay', () => {
  it('a process killed right after its commit loses nothing: the relay delivers the work later', async () => {
    const dealId = crash('after-commit');
    expect(dealId).toMatch(/^[0-9a-f-]{36}$/);
    expect(await pending()).toBe(1);
    const { relay: rel, producer } = relay();
    await producer.connect();
    expect(await rel.drainOnce()).toBe(1);
    await rel.stop();
    producer.disconnect();
    const jobs = await notifications.getJobs(['waiting', 'delayed', 'prioritized']);
    expect(jobs.filter((j) => j.data.dealId === dealId)).toHaveLength(1);
    await waitFor(() => events.some((e) => e.dealId === dealId));
    expect(events.filter((e) => e.dealId === dealId).map((e) => e.action)).toEqual(['create']);
    expect(await pending()).toBe(0);
  });

  it('a relay killed before delivering leaves the rows for the next relay', async () => {
    const { seller } = await makeParties(db.pool);
    const { deal } = await store.create(newDealInput(seller.id));
    crash('before-deliver');
    expect(await pending()).toBe(1);
    expect((await notifications.getJobs(['waiting'])).filter((j) => j.data.dealId === deal.id)).toHaveLength(
      0,
    );
    const { relay: rel, producer } = relay();
    await producer.connect();
    expect(await rel.drainOnce()).toBe(1);
    await rel.stop();
    producer.disconnect();
    expect((await notifications.getJobs(['waiting'])).filter((j) => j.data.dealId === deal.id)).toHaveLength(
      1,
    );
  });

  it('a relay killed after delivering but before marking re-delivers without doubling any job', async () => {
    const { seller } = await makeParties(db.pool);
    const { deal } = await store.create(newDealInput(seller.id));
    const before = await notifications.count();
    crash('after-deliver');
    expect(await notifications.count()).toBe(before + 1);
    expect(await pending()).toBe(1);
    const { relay: rel, producer } = relay();
    await producer.connect();
    expect(await rel.drainOnce()).toBe(1);
    await rel.stop();
    producer.disconnect();
    expect(await notifications.count()).toBe(before + 1);
    expect(await pending()).toBe(0);
    // Pub/sub is at least once: the event may arrive twice, always with the same id for clients to drop.
    await waitFor(() => events.filter((e) => e.dealId === deal.id).length >= 2);
    const ids = new Set(events.filter((e) => e.dealId === deal.id).map((e) => e.id));
    expect(ids.size).toBe(1);
  });

  it('a running relay is woken by the committing process and replays after a Redis loss', async () => {
    const producer = createRedis(r.url, 'producer', 'test-relay');
    await producer.connect();
    const subscriber = createRedis(r.url, 'worker', 'test-relay-wake');
    const rel = new OutboxRelay({
      pool: db.pool,
      redis: producer,
      subscriber,
      prefix: r.prefix,
      logger: createLogger('test', 'silent'),
      // No polling during the test: only the wake-up can make it deliver.
      pollMs: 60_000,
    });
    await rel.start();
    const waking = new DealStore({ pool: db.pool, onCommitted: outboxWaker(producer, r.prefix) });
    const { seller } = await makeParties(db.pool);
    const since = new Date();
    const { deal } = await waking.create(newDealInput(seller.id));
    const queued = async () =>
      (await notifications.getJobs(['waiting'])).filter((j) => j.data.dealId === deal.id);
    for (let i = 0; i < 100 && (await queued()).length === 0; i++)
      await new Promise((res) => setTimeout(res, 20));
    expect(await queued()).toHaveLength(1);
    await waitFor(() => events.some((e) => e.dealId === deal.id));
    expect(events.some((e) => e.dealId === deal.id)).toBe(true);

    // Redis lost the job (say, within its last fsync interval): replaying recent rows brings it back once.
    await (await queued())[0]?.remove();
    expect(await rel.replaySince(since)).toBeGreaterThanOrEqual(1);
    for (let i = 0; i < 100 && (await queued()).length === 0; i++)
      await new Promise((res) => setTimeout(res, 20));
    await rel.stop();
    producer.disconnect();
    subscriber.disconnect();
    expect(await queued()).toHaveLength(1);
  });

  it('prunes delivered rows after their retention, never undelivered ones', async () => {
    await db.pool.query(
      `INSERT INTO outbox (kind, target, payload, created_at, delivered_at) VALUES
         ('publish', 'x', '{"n":1}', now() - interval '9 days', now() - interval '8 days'),
         ('publish', 'x', '{"n":2}', now() - interval '9 days', NULL),
         ('publish', 'x', '{"n":3}', now() - interval '2 days', now() - interval '1 day')`,
    );
    const { relay: rel, producer } = relay();
    expect(await rel.prune(7)).toBe(1);
    producer.disconnect();
    const { rows } = await db.pool.query(
      `SELECT payload->>'n' AS n FROM outbox WHERE target = 'x' ORDER BY 1`,
    );
    expect(rows.map((r) => r.n)).toEqual(['2', '3']);
    await db.pool.query(`DELETE FROM outbox WHERE target = 'x'`);
  });

  it('delays a deadline job until its due time, counted from delivery, not from when it was written', async () => {
    const dueSoon = new Date(Date.now() + 3_600_000);
    const overdue = new Date(Date.now() - 60_000);
    const payload = (kind: string) => ({
      dealId: '0b8f2a52-3d1e-4c53-9a47-0d6f0c7c2f11',
      kind,
      version: 9,
      dueAt: dueSoon.toISOString(),
    });
    await db.pool.query(
      `INSERT INTO outbox (kind, target, name, job_id, payload, run_at, created_at) VALUES
         ('job', 'deadlines', 'inspection-end', 'due-later', $1, $2, now() - interval '2 days'),
         ('job', 'deadlines', 'payment-window', 'due-past', $3, $4, now() - interval '2 days')`,
      [payload('inspection-end'), dueSoon, payload('payment-window'), overdue],
    );
    const { relay: rel, producer } = relay();
    await producer.connect();
    await rel.drainOnce();
    await rel.stop();
    producer.disconnect();
    const deadlines = new Queue('deadlines', { connection: r.redis, prefix: redisKeys(r.prefix).bullPrefix });
    const later = await deadlines.getJob('due-later');
    const past = await deadlines.getJob('due-past');
    expect(await later?.getState()).toBe('delayed');
    expect(later?.opts.delay).toBeGreaterThan(3_590_000);
    expect(later?.opts.delay).toBeLessThanOrEqual(3_600_000);
    expect(await past?.getState()).toBe('waiting');
    await deadlines.close();
  });
});
