import { JOBS, QUEUES } from '@amanat/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../../devstack/testing.ts';
import { recordPayments } from '../payments.ts';
import { DealStore } from './store.ts';
import { awaitingPaymentDeal, BUYER_ADDRESS, LOCAL_USDT } from './test-fixtures.ts';

let db: TestDatabase;
let store: DealStore;
beforeAll(async () => {
  db = await createTestDatabase();
  store = new DealStore({ pool: db.pool });
});
afterAll(() => db.close());

const system = { kind: 'system', component: 'test' } as const;
const DENYLISTED = `0x${'d'.repeat(40)}` as `0x${string}`;

const payment = (to: string, from: `0x${string}`, logIndex: number) => ({
  chainId: LOCAL_USDT.chainId,
  txHash: `0x${'e'.repeat(62)}${String(logIndex).padStart(2, '0')}` as `0x${string}`,
  logIndex,
  token: LOCAL_USDT.token as `0x${string}`,
  from,
  to: to as `0x${string}`,
  amount: 50_000_000n,
  blockNumber: 10n,
  blockHash: `0x${'a'.repeat(64)}` as `0x${string}`,
  blockTimestamp: new Date(),
  status: 'confirmed' as const,
});

/** The review-alert jobs the deal's changes wrote to the outbox, oldest first. */
const alertRows = async (dealId: string) =>
  (
    await db.pool.query(
      `SELECT job_id, payload FROM outbox WHERE target = $1 AND name = $2 AND payload->>'dealId' = $3 ORDER BY id`,
      [QUEUES.notifications, JOBS.notifications[1], dealId],
    )
  ).rows;

describe('dealEffects: operator alerts', () => {
  it('adds one alert job when a change raises the review flag or adds a reason, and none otherwise', async () => {
    const { deal, asBuyer } = await awaitingPaymentDeal(
      store,
      db.pool,
      (i) => `0x${i.toString(16).padStart(40, '0')}`,
    );
    // Creating, joining and accepting raise nothing.
    expect(await alertRows(deal.id)).toEqual([]);
    const to = deal.deposit?.address as string;
    const base = {
      dealId: deal.id,
      denylist: new Set([DENYLISTED]),
      isKnownAsset: () => true,
      actor: system,
    };

    // Money from a denylisted sender: recorded, not counted, flagged, and the operators are to be told.
    const flagged = await recordPayments(store, { ...base, payments: [payment(to, DENYLISTED, 1)] });
    expect(flagged.transition?.deal).toMatchObject({
      needsReview: true,
      reviewReasons: ['denylisted_sender'],
    });
    const seq = flagged.transition?.entry.seq as number;
    expect(await alertRows(deal.id)).toEqual([
      { job_id: `review-${deal.id}-${seq}`, payload: { dealId: deal.id, seq } },
    ]);

    // A second payment from that sender: the deal changes, the reason is already under review.
    const again = await recordPayments(store, { ...base, payments: [payment(to, DENYLISTED, 2)] });
    expect(again.transition).not.toBeNull();
    // A counted payment while flagged: no new reason either.
    await recordPayments(store, { ...base, payments: [payment(to, BUYER_ADDRESS as `0x${string}`, 3)] });
    expect(await alertRows(deal.id)).toHaveLength(1);

    // A new reason on a deal already flagged is news.
    const op = { kind: 'user', userId: asBuyer.userId, role: 'operator' } as const;
    const manual = await store.act(deal.id, { type: 'flag_review', reason: 'sender asks for a refund' }, op);
    // Clearing is not; raising the flag again after it is, even with a reason seen before.
    await store.act(deal.id, { type: 'clear_review', note: 'checked' }, op);
    const raisedAgain = await store.act(
      deal.id,
      { type: 'flag_review', reason: 'denylisted_sender' },
      system,
    );
    expect((await alertRows(deal.id)).map((r) => r.job_id)).toEqual([
      `review-${deal.id}-${seq}`,
      `review-${deal.id}-${manual.entry.seq}`,
      `review-${deal.id}-${raisedAgain.entry.seq}`,
    ]);
  });
});
