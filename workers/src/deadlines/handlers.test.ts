import { randomBytes } from 'node:crypto';
import {
  type DeadlineJob,
  type DeadlineKind,
  jobId,
  type PaymentRecord,
  type PaymentStatus,
  QUEUES,
  redisKeys,
} from '@amanat/core';
import {
  createLogger,
  createRedis,
  type DealRecord,
  DealStore,
  type NewDeal,
  readActivity,
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
import { dispatch } from '../handlers.ts';
import { createDeadlineHandlers, type DeadlineOutcome } from './handlers.ts';

const MIN = 60_000;
const HOUR = 60 * MIN;
const PRICE = 100_000_000n;

let db: TestDatabase;
let redis: TestRedis;
let store: DealStore;
let queue: Queue;
let worker: Worker;
let workerConnection: ReturnType<typeof createRedis>;

beforeAll(async () => {
  db = await createTestDatabase();
  redis = await createTestRedis();
  store = new DealStore({ pool: db.pool });
  const prefix = redisKeys(redis.prefix).bullPrefix;
  queue = new Queue(QUEUES.deadlines, { connection: redis.redis, prefix });
  workerConnection = createRedis(redis.url, 'worker', 'deadlines-test-worker');
  const handlers = createDeadlineHandlers({
    store,
    logger: createLogger('test', 'silent'),
    confirmingRetryMs: 300,
  });
  worker = new Worker(QUEUES.deadlines, dispatch(handlers), { connection: workerConnection, prefix });
});

afterAll(async () => {
  await worker.close();
  await queue.close();
  workerConnection.disconnect();
  await redis.close();
  await db.close();
});

const ago = (ms: number) => new Date(Date.now() - ms);
const hex = (bytes: number) => `0x${randomBytes(bytes).toString('hex')}` as const;

/** A deal both parties accepted at `acceptedAt`, with a deposit address; the window is an hour. */
async function startDeal(acceptedAt: Date, over: Partial<NewDeal> = {}) {
  const parties = await makeParties(db.pool);
  const now = acceptedAt;
  const { deal } = await store.create(newDealInput(parties.seller.id, over), now);
  await store.act(deal.id, { type: 'join', role: 'buyer' }, parties.asBuyer, {
    partyAddress: BUYER_ADDRESS,
    now,
  });
  await store.act(deal.id, { type: 'accept' }, parties.asSeller, { now });
  const accepted = await store.act(deal.id, { type: 'accept' }, parties.asBuyer, {
    now,
    deriveDepositAddress: (i) => `0x${i.toString(16).padStart(40, '0')}`,
  });
  return { ...parties, deal: accepted.deal };
}

const payment = (deal: DealRecord, amount: bigint, blockAt: Date, status: PaymentStatus): PaymentRecord => ({
  chainId: deal.asset.chainId,
  txHash: hex(32),
  logIndex: 0,
  token: deal.asset.token,
  from: BUYER_ADDRESS,
  to: deal.deposit?.address as `0x${string}`,
  amount,
  blockNumber: 100n,
  blockHash: hex(32),
  blockTimestamp: blockAt,
  status,
});

const record = (deal: DealRecord, payments: PaymentRecord[], now: Date) =>
  recordPayments(store, {
    dealId: deal.id,
    payments,
    denylist: new Set(),
    isKnownAsset: () => true,
    actor: { kind: 'system', component: 'payments' },
    now,
  });

/** A deal funded by one confirmed payment at `fundedAt` (accepted 10 minutes before). */
async function fundedDeal(fundedAt: Date, amount = PRICE) {
  const started = await startDeal(new Date(fundedAt.getTime() - 10 * MIN));
  await record(started.deal, [payment(started.deal, amount, fundedAt, 'confirmed')], fundedAt);
  return { ...started, deal: (await store.get(started.deal.id)) as DealRecord };
}

let seq = 0;
/** Runs one deadline job through the real worker and waits until it has settled. */
async function runJob(deal: DealRecord, kind: DeadlineKind, dueAt: Date | null) {
  const data: DeadlineJob = {
    dealId: deal.id,
    kind,
    version: deal.version,
    dueAt: (dueAt as Date).toISOString(),
  };
  const job = await queue.add(kind, data, { jobId: jobId(deal.id, kind, 'test', ++seq) });
  const id = job.id as string;
  const state = await until(`job ${id} to settle`, async () => {
    const s = await queue.getJobState(id);
    return s === 'completed' || s === 'failed' || s === 'delayed' ? s : null;
  });
  const settled = (await queue.getJob(id)) as Job;
  return { id, state, result: settled.returnvalue as DeadlineOutcome, failedReason: settled.failedReason };
}

const legsOf = async (dealId: string) =>
  (
    await db.pool.query(
      'SELECT kind, recipient, amount::text AS amount, status FROM payout_legs WHERE deal_id = $1 ORDER BY kind',
      [dealId],
    )
  ).rows;

const lastEntry = async (dealId: string) => (await readActivity(db.pool, dealId)).at(-1);

describe('payment window', () => {
  it('expires a deal that received nothing, with no payout', async () => {
    const { deal } = await startDeal(ago(2 * HOUR));
    const run = await runJob(deal, 'payment-window', deal.deadlines.payment);
    expect(run.state).toBe('completed');
    expect(run.result).toMatchObject({ outcome: 'applied', state: 'expired', payoutLegs: 0 });
    expect((await store.get(deal.id))?.state).toBe('expired');
    expect(await legsOf(deal.id)).toEqual([]);
    const entry = await lastEntry(deal.id);
    expect(entry).toMatchObject({
      action: 'expire',
      actor: { kind: 'system', component: 'deadlines' },
      stateBefore: 'awaiting_payment',
      stateAfter: 'expired',
    });
    expect(entry?.facts.deadline).toBe(deal.deadlines.payment?.toISOString());
  });

  it('expires a partly paid deal and records a refund of exactly what arrived', async () => {
    const { deal } = await startDeal(ago(2 * HOUR));
    await record(deal, [payment(deal, 40_000_001n, ago(90 * MIN), 'confirmed')], ago(80 * MIN));
    expect((await store.get(deal.id))?.state).toBe('partially_paid');

    const run = await runJob(deal, 'payment-window', deal.deadlines.payment);
    expect(run.result).toMatchObject({ outcome: 'applied', state: 'expired', payoutLegs: 1 });
    expect(await legsOf(deal.id)).toEqual([
      { kind: 'buyer_refund', recipient: BUYER_ADDRESS, amount: '40000001', status: 'pending' },
    ]);
    // The payout signer is told in the same write.
    const { rows } = await db.pool.query(
      `SELECT payload FROM outbox WHERE target = $1 AND payload->>'dealId' = $2`,
      [QUEUES.payouts, deal.id],
    );
    expect(rows).toHaveLength(1);
  });

  it('waits while money made in time is still confirming, then expires once it has settled', async () => {
    const { deal } = await startDeal(ago(2 * HOUR));
    const pending = payment(deal, 30_000_000n, ago(70 * MIN), 'pending');
    await record(deal, [pending], ago(65 * MIN));
    const before = (await store.get(deal.id)) as DealRecord;
    expect(before.confirmingAmount).toBe(30_000_000n);

    const run = await runJob(deal, 'payment-window', deal.deadlines.payment);
    expect(run.state).toBe('delayed');
    const waiting = (await store.get(deal.id)) as DealRecord;
    expect([waiting.state, waiting.version]).toEqual(['awaiting_payment', before.version]);

    // The payment confirms short of the price: the retried job now expires the deal and refunds it.
    await record(deal, [{ ...pending, status: 'confirmed' }], new Date());
    await until('the deal to expire', async () =>
      (await store.get(deal.id))?.state === 'expired' ? true : null,
    );
    await until('the job to complete', async () =>
      (await queue.getJobState(run.id)) === 'completed' ? true : null,
    );
    expect(await legsOf(deal.id)).toEqual([
      { kind: 'buyer_refund', recipient: BUYER_ADDRESS, amount: '30000000', status: 'pending' },
    ]);
  });

  it('does nothing before the deadline: the job waits for it', async () => {
    const { deal } = await startDeal(new Date());
    const run = await runJob(deal, 'payment-window', deal.deadlines.payment);
    expect(run.state).toBe('delayed');
    // BullMQ keeps a delayed job under its due time in ms times 0x1000 (plus a tie-breaker).
    const score = Number(await redis.redis.zscore(queue.keys.delayed as string, run.id));
    expect(Math.floor(score / 0x1000)).toBeGreaterThanOrEqual((deal.deadlines.payment as Date).getTime());
    expect((await store.get(deal.id))?.version).toBe(deal.version);
    await queue.remove(run.id);
  });
});

describe('stale and flagged jobs are no-ops', () => {
  it('a job for a deadline that changed since does nothing and writes nothing', async () => {
    const { deal } = await startDeal(ago(2 * HOUR));
    const earlier = new Date((deal.deadlines.payment as Date).getTime() - MIN);
    const run = await runJob(deal, 'payment-window', earlier);
    expect(run.result).toMatchObject({ outcome: 'stale', reason: 'deadline_changed' });
    const after = (await store.get(deal.id)) as DealRecord;
    expect([after.state, after.version, after.logSeq]).toEqual([
      'awaiting_payment',
      deal.version,
      deal.logSeq,
    ]);
  });

  it('a payment window job for a deal that was paid in time does nothing', async () => {
    const { deal } = await fundedDeal(ago(90 * MIN));
    const run = await runJob(deal, 'payment-window', deal.deadlines.payment);
    expect(run.result).toMatchObject({ outcome: 'stale', reason: 'state_moved_on' });
    const after = (await store.get(deal.id)) as DealRecord;
    expect([after.state, after.logSeq]).toEqual(['funded', deal.logSeq]);
  });

  it('a deal flagged for review is left for the operator', async () => {
    const { deal } = await startDeal(ago(2 * HOUR));
    const flagged = await store.act(
      deal.id,
      { type: 'flag_review', reason: 'checking' },
      { kind: 'system', component: 'test' },
    );
    const run = await runJob(flagged.deal, 'payment-window', deal.deadlines.payment);
    expect(run.result).toMatchObject({ outcome: 'stale', reason: 'needs_review' });
    const after = (await store.get(deal.id)) as DealRecord;
    expect([after.state, after.logSeq]).toEqual(['awaiting_payment', flagged.deal.logSeq]);
  });
});

describe('inspection end', () => {
  it('releases with pending payouts that add up to what is held, the excess back to the buyer', async () => {
    const funded = await fundedDeal(ago(4 * HOUR), 105_000_000n);
    expect(funded.deal.funding).toBe('overpaid');
    const delivered = await store.act(funded.deal.id, { type: 'mark_delivered' }, funded.asSeller, {
      now: ago(3 * HOUR),
    });
    const run = await runJob(delivered.deal, 'inspection-end', delivered.deal.deadlines.inspection);
    expect(run.result).toMatchObject({ outcome: 'applied', state: 'releasing', payoutLegs: 3 });
    const legs = await legsOf(funded.deal.id);
    expect(legs.map((l) => [l.kind, l.amount])).toEqual([
      ['buyer_excess', '5000000'],
      ['fee', '1000000'],
      ['seller', '99000000'],
    ]);
    expect(legs.reduce((sum, l) => sum + BigInt(l.amount), 0n)).toBe(delivered.deal.confirmedAmount);
    expect((await lastEntry(funded.deal.id))?.action).toBe('inspection_lapsed');
  });
});

describe('delivery deadline', () => {
  it('records the lapse once and tells the parties; the buyer may then cancel for a refund', async () => {
    const { deal, asBuyer } = await fundedDeal(ago(3 * HOUR));
    expect(deal.deadlines.delivery?.getTime()).toBeLessThan(Date.now());

    const run = await runJob(deal, 'delivery-deadline', deal.deadlines.delivery);
    expect(run.result).toMatchObject({ outcome: 'applied', state: 'funded', payoutLegs: 0 });
    const entry = await lastEntry(deal.id);
    expect(entry).toMatchObject({ action: 'delivery_lapsed', stateBefore: 'funded', stateAfter: 'funded' });
    // The deal event the notifications come from.
    const { rows: events } = await db.pool.query(
      `SELECT payload FROM outbox WHERE kind = 'deal_event' AND payload->>'dealId' = $1
         AND payload->>'action' = 'delivery_lapsed'`,
      [deal.id],
    );
    expect(events).toHaveLength(1);
    expect(events[0].payload.audience).toHaveLength(2);

    const again = await runJob(deal, 'delivery-deadline', deal.deadlines.delivery);
    expect(again.result).toMatchObject({ outcome: 'stale', reason: 'already_recorded' });
    expect((await lastEntry(deal.id))?.seq).toBe(entry?.seq);

    const cancelled = await store.act(deal.id, { type: 'cancel' }, asBuyer);
    expect(cancelled.deal.state).toBe('refunding');
    expect(await legsOf(deal.id)).toEqual([
      { kind: 'buyer_refund', recipient: BUYER_ADDRESS, amount: PRICE.toString(), status: 'pending' },
    ]);
  });
});
