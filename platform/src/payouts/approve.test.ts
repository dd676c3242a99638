import type { Actor } from '@amanat/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../../devstack/testing.ts';
import { listReviews } from '../deals/review.ts';
import { DealStore } from '../deals/store.ts';
import { awaitingPaymentDeal, LOCAL_USDT, SELLER_ADDRESS } from '../deals/test-fixtures.ts';
import { upsertTelegramUser } from '../users.ts';
import { approvePayout, holdForApproval, payoutApprovalReason } from './approve.ts';
import { payoutLegsOf } from './store.ts';

let db: TestDatabase;
let store: DealStore;
let operator: Extract<Actor, { kind: 'user' }>;
const SYSTEM: Actor = { kind: 'system', component: 'payouts' };
const CAUSE = '9';

beforeAll(async () => {
  db = await createTestDatabase();
  store = new DealStore({ pool: db.pool });
  const user = await upsertTelegramUser(db.pool, { telegramId: 77_000_001n, username: 'operator' });
  operator = { kind: 'user', userId: user.id, role: 'operator' };
});
afterAll(async () => {
  await db?.close();
});

/** A deal with a seller leg held above the threshold (and flagged for it) and a fee leg that went on. */
async function heldDeal(extraReasons: string[] = []) {
  const parties = await awaitingPaymentDeal(store, db.pool, (i) => `0x${i.toString(16).padStart(40, '0')}`);
  const { rows } = await db.pool.query(
    `INSERT INTO payout_legs (deal_id, cause, kind, chain_id, token, recipient, amount)
     VALUES ($1, $2, 'seller', $3, $4, $5, 5000000000), ($1, $2, 'fee', $3, $4, NULL, 1000000)
     RETURNING id::text`,
    [parties.deal.id, CAUSE, LOCAL_USDT.chainId, LOCAL_USDT.token, SELLER_ADDRESS],
  );
  const [seller, fee] = rows.map((r) => r.id as string) as [string, string];
  expect(await holdForApproval(db.pool, BigInt(seller))).toBe(true);
  for (const reason of [payoutApprovalReason(seller), ...extraReasons])
    await store.act(parties.deal.id, { type: 'flag_review', reason }, SYSTEM);
  return { ...parties, dealId: parties.deal.id, seller, fee };
}

const statusOf = async (dealId: string) =>
  Object.fromEntries((await payoutLegsOf(db.pool, dealId, CAUSE)).map((l) => [l.kind, l.status]));

const refusal = (p: Promise<unknown>) =>
  p.then(
    () => 'approved',
    (err: { code?: string }) => err.code,
  );

describe('approving a payout held above the threshold', () => {
  it('holds only a pending leg nobody approved', async () => {
    const { dealId, seller, fee } = await heldDeal();
    expect(await holdForApproval(db.pool, BigInt(seller))).toBe(false);
    await db.pool.query(`UPDATE payout_legs SET status = 'signed' WHERE id = $1`, [fee]);
    expect(await holdForApproval(db.pool, BigInt(fee))).toBe(false);
    expect(await statusOf(dealId)).toEqual({ seller: 'awaiting_approval', fee: 'signed' });
  });

  it('moves the leg back to pending, logs the approval and queues the cause under a new job id', async () => {
    const { dealId, seller } = await heldDeal();
    const before = await store.get(dealId);
    const result = await approvePayout(store, {
      dealId,
      legId: seller,
      actor: operator,
      note: 'seller confirmed the address by phone',
      expectedVersion: before?.version as number,
    });
    expect(result.payout).toMatchObject({
      id: seller,
      kind: 'seller',
      amount: 5_000_000_000n,
      recipient: SELLER_ADDRESS,
      status: 'pending',
      approvedBy: operator.userId,
      jobId: `${dealId}-${CAUSE}-approved-${seller}`,
    });
    const { rows: legs } = await db.pool.query(
      `SELECT status, approved_by, approved_at FROM payout_legs WHERE id = $1`,
      [seller],
    );
    expect(legs[0]).toMatchObject({ status: 'pending', approved_by: operator.userId });
    expect(legs[0].approved_at.toISOString()).toBe(result.entry.at);

    const { rows: log } = await db.pool.query(
      `SELECT action, actor, facts, state_before, state_after FROM activity_log WHERE deal_id = $1 AND seq = $2`,
      [dealId, result.entry.seq],
    );
    expect(log[0]).toMatchObject({
      action: 'approve_payout',
      state_before: 'awaiting_payment',
      state_after: 'awaiting_payment',
      facts: {
        leg: seller,
        kind: 'seller',
        amount: '5000000000',
        recipient: SELLER_ADDRESS,
        note: 'seller confirmed the address by phone',
        closesReview: true,
        asset: LOCAL_USDT,
        cause: CAUSE,
      },
    });
    expect(log[0].actor).toMatchObject({ kind: 'user', userId: operator.userId, role: 'operator' });

    const { rows: jobs } = await db.pool.query(`SELECT target, name, payload FROM outbox WHERE job_id = $1`, [
      result.payout.jobId,
    ]);
    expect(jobs).toEqual([{ target: 'payouts', name: 'execute-payout', payload: { dealId, cause: CAUSE } }]);
    // Its only review reason was this approval: the flag is down with it.
    expect([result.reviewClosed, result.deal.needsReview, result.deal.reviewReasons]).toEqual([
      true,
      false,
      [],
    ]);
    expect(await statusOf(dealId)).toEqual({ seller: 'pending', fee: 'pending' });
    // Approved once: the signer's gate never holds it again.
    expect(await holdForApproval(db.pool, BigInt(seller))).toBe(false);

    // A second approval of the same payout is refused, and writes nothing.
    const version = (await store.get(dealId))?.version;
    expect(
      await refusal(approvePayout(store, { dealId, legId: seller, actor: operator, note: 'again' })),
    ).toBe('payout_not_awaiting_approval');
    expect((await store.get(dealId))?.version).toBe(version);
  });

  it('keeps the flag up while the deal has another reason to review', async () => {
    const { dealId, seller } = await heldDeal(['late_payment']);
    const result = await approvePayout(store, { dealId, legId: seller, actor: operator, note: 'ok' });
    expect([result.reviewClosed, result.deal.needsReview]).toEqual([false, true]);
    expect(result.deal.reviewReasons).toEqual([payoutApprovalReason(seller), 'late_payment']);
  });

  it('refuses an operator who is a party, a payout of another deal, and one never held', async () => {
    const { dealId, seller, fee, asSeller } = await heldDeal();
    const other = await heldDeal();
    const sellerAsOperator: Actor = { kind: 'user', userId: asSeller.userId, role: 'operator' };
    const attempt = (legId: string, actor = operator) =>
      refusal(approvePayout(store, { dealId, legId, actor: actor as typeof operator, note: 'n' }));
    expect(await attempt(seller, sellerAsOperator as typeof operator)).toBe('operator_is_party');
    expect(await attempt(other.seller)).toBe('payout_not_found');
    expect(await attempt('not-a-leg')).toBe('payout_not_found');
    expect(await attempt('99999999999999999999')).toBe('payout_not_found');
    expect(await attempt(fee)).toBe('payout_not_awaiting_approval');
    expect(await statusOf(dealId)).toEqual({ seller: 'awaiting_approval', fee: 'pending' });
    const { rows } = await db.pool.query(`SELECT count(*)::int AS n FROM outbox WHERE job_id LIKE $1`, [
      `${dealId}-%-approved-%`,
    ]);
    expect(rows[0].n).toBe(0);
  });

  it('lists the held payouts with their deal for the review screen, even once the flag is cleared', async () => {
    const { dealId, seller } = await heldDeal();
    await store.act(dealId, { type: 'clear_review', note: 'looked at it' }, operator);
    const page = await listReviews(db.pool, { limit: 100 });
    const item = page.items.find((i) => i.deal.id === dealId);
    expect(item?.awaitingApproval).toEqual([
      {
        id: seller,
        dealId,
        cause: CAUSE,
        kind: 'seller',
        chainId: LOCAL_USDT.chainId,
        token: LOCAL_USDT.token,
        recipient: SELLER_ADDRESS,
        amount: 5_000_000_000n,
      },
    ]);
  });
});
