import { randomBytes } from 'node:crypto';
import {
  createRegistry,
  type DeadlineKind,
  deadlineJobId,
  JOBS,
  type PaymentRecord,
  QUEUES,
  RECEIVING_STATES,
  redisKeys,
} from '@amanat/core';
import {
  backfillDeals,
  backfillUsers,
  createLogger,
  createRedis,
  type DealRecord,
  DealStore,
  OutboxRelay,
  type Queryable,
  rebuildWatchSets,
  recordPayments,
} from '@amanat/platform';
import { type Job, Queue, Worker } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createTestDatabase,
  createTestRedis,
  type TestDatabase,
  type TestRedis,
  until,
} from '../../../devstack/testing.ts';
import { BUYER_ADDRESS, makeParties, newDealInput } from '../../../platform/src/deals/test-fixtures.ts';
import {
  asAsync,
  SAMPLE_DEAL_IDS,
  sampleLegacyDeals,
  sampleLegacyUsers,
} from '../../../platform/src/mirror/samples.ts';
import { createDeadlineHandlers } from '../deadlines/handlers.ts';
import { dispatch } from '../handlers.ts';
import { createMaintenanceHandlers, type MaintenanceHandlers, scheduleMaintenance } from './handlers.ts';
import { sweepDeadlines } from './sweep-deadlines.ts';

const MIN = 60_000;
const HOUR = 60 * MIN;
const HORIZON_MS = 2 * MIN;
const logger = createLogger('test', 'silent');
const registry = createRegistry({
  rpcUrls: { '31337': ['http://127.0.0.1:8545'], '137': ['http://127.0.0.1:8546'] },
});
const CHAINS = registry.activeChains().map((c) => c.chainId);

let db: TestDatabase;
let redis: TestRedis;
let store: DealStore;
let deadlines: Queue;
let bullPrefix: string;
let maintenance: MaintenanceHandlers;

beforeAll(async () => {
  db = await createTestDatabase();
  redis = await createTestRedis();
  store = new DealStore({ pool: db.pool });
  bullPrefix = redisKeys(redis.prefix).bullPrefix;
  deadlines = new Queue(QUEUES.deadlines, { connection: redis.redis, prefix: bullPrefix });
  maintenance = createMaintenanceHandlers({
    pool: db.pool,
    redis: redis.redis,
    prefix: redis.prefix,
    registry,
    logger,
    intervalSec: 60,
  });
  // Deals imported from the legacy store before any deal was made here (their deposit indexes are fixed).
  await backfillUsers({ pool: db.pool, docs: asAsync(sampleLegacyUsers()) });
  await backfillDeals({ pool: db.pool, docs: asAsync(sampleLegacyDeals()) });
});

afterAll(async () => {
  await maintenance.close();
  await deadlines.close();
  await redis.close();
  await db.close();
});

const ago = (ms: number) => new Date(Date.now() - ms);
const hex = (bytes: number) => `0x${randomBytes(bytes).toString('hex')}` as const;

/** Mixed-case deposit addresses, as the API derives them (EIP-55); the watch sets hold them lower-cased. */
const derive = (i: bigint) => `0xAbCd${(i + 1000n).toString(16).padStart(36, '0')}`;

async function startDeal(acceptedAt: Date) {
  const parties = await makeParties(db.pool);
  const now = acceptedAt;
  const { deal } = await store.create(newDealInput(parties.seller.id), now);
  await store.act(deal.id, { type: 'join', role: 'buyer' }, parties.asBuyer, {
    partyAddress: BUYER_ADDRESS,
    now,
  });
  await store.act(deal.id, { type: 'accept' }, parties.asSeller, { now });
  const accepted = await store.act(deal.id, { type: 'accept' }, parties.asBuyer, {
    now,
    deriveDepositAddress: derive,
  });
  return { ...parties, deal: accepted.deal };
}

const payment = (deal: DealRecord, blockAt: Date): PaymentRecord => ({
  chainId: deal.asset.chainId,
  txHash: hex(32),
  logIndex: 0,
  token: deal.asset.token,
  from: BUYER_ADDRESS,
  to: deal.deposit?.address as `0x${string}`,
  amount: deal.quote.amountDue,
  blockNumber: 100n,
  blockHash: hex(32),
  blockTimestamp: blockAt,
  status: 'confirmed',
});

const record = (dealId: string, payments: PaymentRecord[], now: Date) =>
  recordPayments(store, {
    dealId,
    payments,
    denylist: new Set(),
    isKnownAsset: () => true,
    actor: { kind: 'system', component: 'payments' },
    now,
  });

/** A deal funded by a confirmed payment at `fundedAt`; its delivery deadline is two hours later. */
async function fundedDeal(fundedAt: Date) {
  const started = await startDeal(new Date(fundedAt.getTime() - 10 * MIN));
  const paid = payment(started.deal, fundedAt);
  await record(started.deal.id, [paid], fundedAt);
  return { ...started, paid, deal: (await store.get(started.deal.id)) as DealRecord };
}

/** Delivers every outbox row, as the relay does in the workers; returns the deadline jobs by deal. */
async function relayOutbox(): Promise<void> {
  const relay = new OutboxRelay({ pool: db.pool, redis: redis.redis, prefix: redis.prefix, logger });
  while ((await relay.drainOnce()) > 0) {}
  await relay.stop();
}

const deadlineJobs = async () =>
  (await deadlines.getJobs(['waiting', 'delayed', 'active', 'completed', 'failed'])).filter(Boolean) as Job[];

/** When a job becomes due: BullMQ keeps a delayed job under its due time in ms times 0x1000. */
async function dueTime(job: Job): Promise<number> {
  const score = await redis.redis.zscore(deadlines.keys.delayed as string, job.id as string);
  return score === null ? job.timestamp : Math.floor(Number(score) / 0x1000);
}

const runSweep = () => sweepDeadlines({ db: db.pool, deadlines, logger, horizonMs: HORIZON_MS });

async function withDeadlineWorker<T>(run: () => Promise<T>): Promise<T> {
  const connection = createRedis(redis.url, 'worker', 'maintenance-test-worker');
  const worker = new Worker(
    QUEUES.deadlines,
    dispatch(createDeadlineHandlers({ store, logger, confirmingRetryMs: 300 })),
    { connection, prefix: bullPrefix },
  );
  try {
    return await run();
  } finally {
    await worker.close();
    connection.disconnect();
  }
}

const stateOf = async (id: string) => (await store.get(id))?.state;

describe('deadline sweeper', () => {
  it('re-creates lost deadline jobs under the ids the outbox used, never due early, and only live ones', async () => {
    const overdue = await startDeal(ago(2 * HOUR));
    // A later change that leaves the window alone: the job keeps the version that set it.
    await store.act(
      overdue.deal.id,
      { type: 'set_address', address: '0x15d34AAf54267DB7D7c367839AAf71A00a2C6A65' },
      overdue.asBuyer,
    );
    // Delivery deadline in a minute: inside the sweep horizon, not yet due.
    const soon = await fundedDeal(new Date(Date.now() - 2 * HOUR + MIN));
    const later = await startDeal(new Date()); // due in an hour: beyond the horizon
    const flagged = await startDeal(ago(2 * HOUR));
    await store.act(
      flagged.deal.id,
      { type: 'flag_review', reason: 'x' },
      { kind: 'system', component: 't' },
    );
    // Flagged and cleared: the clear re-armed the window under the clearing version.
    const cleared = await startDeal(ago(2 * HOUR));
    await store.act(
      cleared.deal.id,
      { type: 'flag_review', reason: 'x' },
      { kind: 'system', component: 't' },
    );
    const operator = { kind: 'user', userId: cleared.seller.id, role: 'operator' } as const;
    await store.act(cleared.deal.id, { type: 'clear_review', note: 'fine' }, operator);
    const delivered = await fundedDeal(ago(4 * HOUR));
    await store.act(delivered.deal.id, { type: 'mark_delivered' }, delivered.asSeller, {
      now: ago(3 * HOUR),
    });

    await relayOutbox();
    const before = await deadlineJobs();
    const live = new Map<string, DeadlineKind>([
      [overdue.deal.id, 'payment-window'],
      [soon.deal.id, 'delivery-deadline'],
      [cleared.deal.id, 'payment-window'],
      [delivered.deal.id, 'inspection-end'],
    ]);
    /** The job the outbox made for each deal's live deadline (the last one made for that kind). */
    const latest = new Map<string, Job>();
    for (const job of before) {
      if (live.get(job.data.dealId) !== job.name) continue;
      const known = latest.get(job.data.dealId);
      if (!known || job.data.version > known.data.version) latest.set(job.data.dealId, job);
    }
    const original = new Map([...latest].map(([dealId, job]) => [dealId, job.id as string]));
    expect(original.size).toBe(4);
    // The cleared deal's window was re-armed by the clear, under a later version than the acceptance.
    expect(before.filter((j) => j.data.dealId === cleared.deal.id)).toHaveLength(2);

    // Redis loses every deadline job.
    await deadlines.obliterate({ force: true });
    expect(await deadlineJobs()).toEqual([]);

    const report = await runSweep();
    const after = await deadlineJobs();
    const byDeal = new Map(after.map((j) => [j.data.dealId as string, j]));

    for (const [dealId, jobId] of original) expect(byDeal.get(dealId)?.id).toBe(jobId);
    // The imported deal never had a job: it gets one named by its version at import.
    const imported = byDeal.get(SAMPLE_DEAL_IDS.awaitingPayment);
    expect(imported?.id).toBe(
      deadlineJobId({
        dealId: SAMPLE_DEAL_IDS.awaitingPayment,
        kind: 'payment-window',
        version: 3,
        dueAt: '2025-04-02T14:30:00.000Z',
      }),
    );
    // Not due within the horizon, or flagged for an operator (the imported delivered deal is flagged too).
    for (const id of [later.deal.id, flagged.deal.id, SAMPLE_DEAL_IDS.delivered]) {
      expect(byDeal.has(id)).toBe(false);
    }
    expect(report).toEqual({ due: 5, recreated: 5, rearmed: 0, failed: 0 });

    // Never early: every job becomes due at its deadline or later.
    for (const job of after) expect(await dueTime(job)).toBeGreaterThanOrEqual(Date.parse(job.data.dueAt));
    const soonJob = byDeal.get(soon.deal.id) as Job;
    expect(await deadlines.getJobState(soonJob.id as string)).toBe('delayed');

    // A second sweep finds every job in place.
    expect(await runSweep()).toEqual({ due: 5, recreated: 0, rearmed: 0, failed: 0 });

    // The re-created jobs do what the lost ones would have.
    await withDeadlineWorker(async () => {
      for (const [id, state] of [
        [overdue.deal.id, 'expired'],
        [cleared.deal.id, 'expired'],
        [delivered.deal.id, 'releasing'],
        [SAMPLE_DEAL_IDS.awaitingPayment, 'expired'],
      ] as const) {
        await until(`${id} to be ${state}`, async () => ((await stateOf(id)) === state ? true : null));
      }
    });
    expect(await stateOf(soon.deal.id)).toBe('funded');
  });

  it('a reorg that takes a funded deal back after its window closed arms the window again', async () => {
    const funded = await fundedDeal(ago(110 * MIN)); // accepted 2h ago: the window closed an hour ago
    await relayOutbox();
    const windowJob = (await deadlineJobs()).find(
      (j) => j.data.dealId === funded.deal.id && j.name === 'payment-window',
    ) as Job;
    await withDeadlineWorker(() =>
      until('the payment window job to run', async () =>
        (await deadlines.getJobState(windowJob.id as string)) === 'completed' ? true : null,
      ),
    );
    expect(await stateOf(funded.deal.id)).toBe('funded');

    const reorged = await record(funded.deal.id, [{ ...funded.paid, status: 'reorged' }], new Date());
    expect(reorged.transition?.deal.state).toBe('awaiting_payment');
    await relayOutbox();
    const rearmed = deadlineJobId({
      dealId: funded.deal.id,
      kind: 'payment-window',
      version: reorged.transition?.deal.version as number,
      dueAt: windowJob.data.dueAt,
    });
    expect(await deadlines.getJobState(rearmed)).toBe('waiting');

    // The sweeper names that job the same way, so after a Redis loss it comes back under its own id.
    await deadlines.obliterate({ force: true });
    expect(await runSweep()).toMatchObject({ rearmed: 0 });
    expect(await deadlines.getJobState(rearmed)).toBe('waiting');
    await withDeadlineWorker(() =>
      until('the deal to expire', async () => ((await stateOf(funded.deal.id)) === 'expired' ? true : null)),
    );
  });

  it('adds a job of its own when the deadline is live but its job already completed', async () => {
    const { deal } = await startDeal(ago(2 * HOUR));
    await relayOutbox();
    const original = (await deadlineJobs()).find((j) => j.data.dealId === deal.id) as Job;
    // A run that ended without acting (an older release, say): the job is completed, the deal untouched.
    const connection = createRedis(redis.url, 'worker', 'maintenance-test-noop');
    const noop = new Worker(QUEUES.deadlines, async () => 'nothing', { connection, prefix: bullPrefix });
    await until('the job to complete', async () =>
      (await deadlines.getJobState(original.id as string)) === 'completed' ? true : null,
    );
    await noop.close();
    connection.disconnect();
    expect(await stateOf(deal.id)).toBe('awaiting_payment');

    expect(await runSweep()).toMatchObject({ recreated: 0, rearmed: 1 });
    const sweepId = `${original.id}-sweep-${Date.parse(original.data.dueAt)}`;
    expect(await deadlines.getJobState(sweepId)).toBe('waiting');
    expect(await runSweep()).toMatchObject({ recreated: 0, rearmed: 0 });
    await withDeadlineWorker(() =>
      until('the deal to expire', async () => ((await stateOf(deal.id)) === 'expired' ? true : null)),
    );
  });

  it('runs through the maintenance handler', async () => {
    const overdue = await startDeal(ago(2 * HOUR));
    await deadlines.obliterate({ force: true });
    const job = { name: 'sweep-deadlines', data: {} } as Job;
    const report = await maintenance.handlers['sweep-deadlines']?.(job);
    expect(report).toMatchObject({ failed: 0 });
    const jobs = await deadlineJobs();
    expect(jobs.map((j) => j.data.dealId)).toContain(overdue.deal.id);
  });
});

describe('watch-set rebuild', () => {
  const hotKey = (chainId: number) => redisKeys(redis.prefix).watchSet(chainId);
  const coldKey = (chainId: number) => redisKeys(redis.prefix).coldWatchSet(chainId);
  const lower = (d: DealRecord) => (d.deposit?.address ?? 'no deposit address').toLowerCase();

  it('puts live deals hot and closed ones cold, keeping what the API adds meanwhile', async () => {
    const awaiting = await startDeal(new Date());
    const funded = await fundedDeal(ago(10 * MIN));
    const expired = await startDeal(ago(2 * HOUR));
    const expiredDeal = (
      await store.act(expired.deal.id, { type: 'expire' }, { kind: 'system', component: 't' })
    ).deal;
    const cancelled = await startDeal(new Date());
    const cancelledDeal = (await store.act(cancelled.deal.id, { type: 'cancel' }, cancelled.asBuyer)).deal;

    // What the API did when these deals started awaiting payment: every address went into the hot sets.
    for (const chainId of CHAINS) {
      await redis.redis.sadd(hotKey(chainId), ...[awaiting, expired, cancelled].map((d) => lower(d.deal)));
    }

    // A deal the API starts while the rebuild runs, after the rebuild read its last page.
    let lateDeal: DealRecord | null = null;
    const racingDb = {
      query: async (config: { name?: string; text: string; values?: unknown[] }) => {
        const result = await db.pool.query(config);
        if (!lateDeal) {
          lateDeal = (await startDeal(new Date())).deal;
          for (const chainId of CHAINS) await redis.redis.sadd(hotKey(chainId), lower(lateDeal));
        }
        return result;
      },
    } as unknown as Queryable;
    const result = await rebuildWatchSets({
      db: racingDb,
      redis: redis.redis,
      prefix: redis.prefix,
      chainIds: CHAINS,
      batchSize: 1000,
    });
    expect(result.cold).toBeGreaterThan(0);

    const { rows } = await db.pool.query(
      `SELECT da.address, d.state FROM deposit_addresses da JOIN deals d ON d.id = da.deal_id`,
    );
    const late = lateDeal as unknown as DealRecord;
    for (const chainId of CHAINS) {
      const hot = new Set(await redis.redis.smembers(hotKey(chainId)));
      const cold = new Set(await redis.redis.smembers(coldKey(chainId)));
      for (const d of [awaiting.deal, funded.deal, late]) {
        expect(hot.has(lower(d)), `${d.state} hot on ${chainId}`).toBe(true);
      }
      for (const d of [expiredDeal, cancelledDeal]) {
        expect([hot.has(lower(d)), cold.has(lower(d))], `${d.state} cold on ${chainId}`).toEqual([
          false,
          true,
        ]);
      }
      // Every address ever allocated (imported ones too) is in exactly one set, lower-cased, by its deal's state.
      for (const r of rows) {
        const address = r.address.toLowerCase();
        const receiving = RECEIVING_STATES.includes(r.state);
        expect([hot.has(address), cold.has(address)], `${r.state} ${address}`).toEqual([
          receiving,
          !receiving,
        ]);
      }
      expect(rows.some((r) => r.address === '0x9965507D1a55bcC2695C58ba16FB37d819B0A4dc')).toBe(true);
      expect([...hot, ...cold].sort()).toEqual(rows.map((r) => r.address.toLowerCase()).sort());
    }
  });

  it('pages through the addresses and answers the same through the maintenance handler', async () => {
    const snapshot = async () =>
      Promise.all(
        CHAINS.flatMap((c) => [hotKey(c), coldKey(c)]).map(async (k) =>
          (await redis.redis.smembers(k)).sort(),
        ),
      );
    const closed = await startDeal(ago(2 * HOUR));
    await store.act(closed.deal.id, { type: 'expire' }, { kind: 'system', component: 't' });
    for (const chainId of CHAINS) await redis.redis.sadd(hotKey(chainId), lower(closed.deal));

    await rebuildWatchSets({
      db: db.pool,
      redis: redis.redis,
      prefix: redis.prefix,
      chainIds: CHAINS,
      batchSize: 2,
    });
    const paged = await snapshot();
    expect(paged[0]).not.toContain(lower(closed.deal));
    expect(paged[1]).toContain(lower(closed.deal));

    // Losing the sets entirely: the handler rebuilds the same contents.
    for (const chainId of CHAINS) await redis.redis.del(hotKey(chainId), coldKey(chainId));
    await maintenance.handlers['rebuild-watch-sets']?.({ name: 'rebuild-watch-sets', data: {} } as Job);
    expect(await snapshot()).toEqual(paged);
  });
});

describe('scheduling', () => {
  it('schedules both maintenance jobs at the interval, idempotently', async () => {
    const queue = new Queue(QUEUES.maintenance, { connection: redis.redis, prefix: bullPrefix });
    try {
      await scheduleMaintenance(queue, 60);
      await scheduleMaintenance(queue, 30);
      const schedulers = await queue.getJobSchedulers();
      expect(schedulers.map((s) => [s.key, s.every]).sort()).toEqual(
        [...JOBS.maintenance].sort().map((name) => [name, 30_000]),
      );
    } finally {
      await queue.obliterate({ force: true });
      await queue.close();
    }
  });
});
