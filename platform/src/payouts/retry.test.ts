import type { Actor } from '@amanat/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../../devstack/testing.ts';
import { withTransaction } from '../db.ts';
import { listReviews } from '../deals/review.ts';
import { DealStore } from '../deals/store.ts';
import { awaitingPaymentDeal, LOCAL_USDT, SELLER_ADDRESS } from '../deals/test-fixtures.ts';
import { upsertTelegramUser } from '../users.ts';
import { failedPayoutsOf, retryPayouts } from './retry.ts';
import {
  attemptsOf,
  insertGasTopup,
  insertPayoutAttempt,
  liveAttempt,
  markAttemptMined,
  markFailed,
  type PayoutRecordRef,
  payoutRecordState,
} from './store.ts';

let db: TestDatabase;
let store: DealStore;
let operator: Extract<Actor, { kind: 'user' }>;
const SYSTEM: Actor = { kind: 'system', component: 'payouts' };
const CAUSE = '9';
const DEPOSIT = '0x00000000000000000000000000000000000000d1';
let nonce = 0n;

beforeAll(async () => {
  db = await createTestDatabase();
  store = new DealStore({ pool: db.pool });
  const user = await upsertTelegramUser(db.pool, { telegramId: 77_000_101n, username: 'operator' });
  operator = { kind: 'user', userId: user.id, role: 'operator' };
});
afterAll(async () => {
  await db?.close();
});

/** A deal with a seller and a fee leg of one cause, and the cause's gas top-up; nothing failed yet. */
async function dealWithPayouts() {
  const parties = await awaitingPaymentDeal(store, db.pool, (i) => `0x${i.toString(16).padStart(40, '0')}`);
  const dealId = parties.deal.id;
  const { rows } = await db.pool.query(
    `INSERT INTO payout_legs (deal_id, cause, kind, chain_id, token, recipient, amount)
     VALUES ($1, $2, 'seller', $3, $4, $5, 5000000), ($1, $2, 'fee', $3, $4, NULL, 50000)
     RETURNING id`,
    [dealId, CAUSE, LOCAL_USDT.chainId, LOCAL_USDT.token, SELLER_ADDRESS],
  );
  const [seller, fee] = rows.map((r) => ({ table: 'payout_legs', id: BigInt(r.id) }) as PayoutRecordRef) as [
    PayoutRecordRef,
    PayoutRecordRef,
  ];
  const topup = await insertGasTopup(db.pool, {
    dealId,
    cause: CAUSE,
    chainId: LOCAL_USDT.chainId,
    address: DEPOSIT,
    amount: 21_000n,
  });
  return { ...parties, dealId, seller, fee, topup: { table: 'gas_topups', id: topup.id } as PayoutRecordRef };
}

/** A signed transaction of the record, as sendOnce stores it (its own nonce each time). */
async function attempt(record: PayoutRecordRef, status: 'signed' | 'broadcast' = 'broadcast') {
  nonce += 1n;
  const hash = `0x${(nonce + 0xabcn).toString(16).padStart(64, '0')}` as const;
  const a = await insertPayoutAttempt(db.pool, {
    record,
    chainId: LOCAL_USDT.chainId,
    from: DEPOSIT,
    nonce,
    txHash: hash,
    rawTx: '0x02',
    gasLimit: 60_000n,
    maxFeePerGas: 2n,
    maxPriorityFeePerGas: 1n,
  });
  await db.pool.query(`UPDATE payout_attempts SET status = $2 WHERE id = $1`, [a.id.toString(), status]);
  return a;
}

/** Fails a record the way the signer does, flagging the deal with its reason. */
async function fail(
  dealId: string,
  record: PayoutRecordRef,
  reason: string,
  code: string,
  mined?: { attemptId: bigint; txHash: string },
) {
  if (mined) await withTransaction(db.pool, (c) => markAttemptMined(c, record, mined.attemptId));
  expect(await markFailed(db.pool, record, reason, mined)).toBe(true);
  const kind = record.table === 'gas_topups' ? 'gas_topup' : 'seller';
  await store.act(dealId, { type: 'flag_review', reason: `payout_failed:${kind}:${code}` }, SYSTEM);
}

const statusOf = async (record: PayoutRecordRef) => (await payoutRecordState(db.pool, record))?.status;
const refusal = (p: Promise<unknown>) =>
  p.then(
    () => 'retried',
    (err: { code?: string }) => err.code,
  );

describe('retrying failed payouts', () => {
  it('sends a leg failed at a check and a failed top-up again, logs it and queues the cause', async () => {
    const { dealId, seller, fee, topup } = await dealWithPayouts();
    await fail(dealId, seller, 'token_paused', 'token_paused');
    await fail(dealId, topup, 'gas_tank_empty', 'gas_tank_empty');
    const before = await store.get(dealId);
    const result = await retryPayouts(store, {
      dealId,
      actor: operator,
      note: 'the issuer unpaused the token and the tank is refilled',
      expectedVersion: before?.version as number,
    });
    expect(result.retried.map((r) => [r.record, r.id, r.kind, r.failure])).toEqual([
      ['gas_topup', String(topup.id), 'gas_topup', 'gas_tank_empty'],
      ['payout_leg', String(seller.id), 'seller', 'token_paused'],
    ]);
    expect([await statusOf(seller), await statusOf(fee), await statusOf(topup)]).toEqual([
      'pending',
      'pending',
      'pending',
    ]);
    const { rows: legs } = await db.pool.query(`SELECT failure, tx_hash FROM payout_legs WHERE id = $1`, [
      seller.id.toString(),
    ]);
    expect(legs[0]).toEqual({ failure: null, tx_hash: null });

    const { rows: log } = await db.pool.query(
      `SELECT action, facts, state_after FROM activity_log WHERE deal_id = $1 AND seq = $2`,
      [dealId, result.entry.seq],
    );
    expect(log[0]).toMatchObject({
      action: 'retry_payouts',
      state_after: 'awaiting_payment',
      facts: {
        note: 'the issuer unpaused the token and the tank is refilled',
        closesReview: true,
        records: [
          { record: 'gas_topup', id: String(topup.id), kind: 'gas_topup', failure: 'gas_tank_empty' },
          { record: 'payout_leg', id: String(seller.id), kind: 'seller', failure: 'token_paused' },
        ],
      },
    });
    // One job for the cause, under an id of its own (the decision's job already ran).
    expect(result.jobIds).toEqual([`${dealId}-${CAUSE}-retry-${result.deal.version}`]);
    const { rows: jobs } = await db.pool.query(`SELECT target, payload FROM outbox WHERE job_id = $1`, [
      result.jobIds[0],
    ]);
    expect(jobs).toEqual([{ target: 'payouts', payload: { dealId, cause: CAUSE } }]);
    // Its only review reasons were these failures: the flag is down with them.
    expect([result.reviewClosed, result.deal.needsReview]).toEqual([true, false]);
    expect(await refusal(retryPayouts(store, { dealId, actor: operator, note: 'again' }))).toBe(
      'nothing_to_retry',
    );
  });

  it('retires a reverted transaction and one whose nonce was taken, so the next look signs afresh', async () => {
    const { dealId, seller, fee } = await dealWithPayouts();
    const reverted = await attempt(seller);
    await fail(dealId, seller, 'reverted in block 7: paused', 'reverted', {
      attemptId: reverted.id,
      txHash: reverted.txHash,
    });
    const overtaken = await attempt(fee);
    await fail(dealId, fee, `nonce ${overtaken.nonce} was used by another transaction`, 'nonce_taken');
    await store.act(dealId, { type: 'flag_review', reason: 'late_payment' }, SYSTEM);

    const result = await retryPayouts(store, { dealId, actor: operator, note: 'unpaused' });
    expect(result.retried.map((r) => r.kind).sort()).toEqual(['fee', 'seller']);
    // Another reason is still open: the flag stays up.
    expect([result.reviewClosed, result.deal.needsReview]).toEqual([false, true]);

    const { rows } = await db.pool.query(
      `SELECT id, status, retired_at IS NOT NULL AS retired FROM payout_attempts WHERE id = ANY($1::bigint[]) ORDER BY id`,
      [[reverted.id.toString(), overtaken.id.toString()]],
    );
    // The reverted one stays 'mined' (its gas was spent); the overtaken one can never be mined.
    expect(rows.map((r) => [r.status, r.retired])).toEqual([
      ['mined', true],
      ['replaced', true],
    ]);
    for (const record of [seller, fee]) {
      expect(await statusOf(record)).toBe('pending');
      expect(await liveAttempt(db.pool, record.table, record.id)).toBeNull();
      expect(await attemptsOf(db.pool, record.table, record.id)).toEqual([]);
    }
    // A new transaction of the record mined later leaves the retired one's status (and gas) alone.
    const next = await attempt(seller);
    await withTransaction(db.pool, (c) => markAttemptMined(c, seller, next.id));
    const { rows: after } = await db.pool.query(`SELECT status FROM payout_attempts WHERE id = $1`, [
      reverted.id.toString(),
    ]);
    expect(after[0].status).toBe('mined');
  });

  it('never sends again a record whose transaction was mined without reverting', async () => {
    const { dealId, seller, fee, topup } = await dealWithPayouts();
    const mined = await attempt(seller);
    await fail(dealId, seller, 'mined, but the receipt has no Transfer(…) log', 'no_transfer_log', {
      attemptId: mined.id,
      txHash: mined.txHash,
    });
    const version = (await store.get(dealId))?.version;
    expect(await refusal(retryPayouts(store, { dealId, actor: operator, note: 'try' }))).toBe(
      'payout_not_retryable',
    );
    expect((await store.get(dealId))?.version).toBe(version);
    expect(await statusOf(seller)).toBe('failed');

    // Listed for the review screen as not retryable; a retryable failure next to it is retried alone.
    await fail(dealId, fee, 'fee_address_missing', 'fee_address_missing');
    const listed = (await failedPayoutsOf(db.pool, [dealId])).get(dealId);
    expect(listed?.map((f) => [f.kind, f.retryable])).toEqual([
      ['seller', false],
      ['fee', true],
    ]);
    const result = await retryPayouts(store, { dealId, actor: operator, note: 'fee address set' });
    expect(result.retried.map((r) => r.kind)).toEqual(['fee']);
    expect([await statusOf(seller), await statusOf(fee), await statusOf(topup)]).toEqual([
      'failed',
      'pending',
      'pending',
    ]);
    // A failure that stays keeps the flag up.
    expect(result.deal.needsReview).toBe(true);
  });

  it('refuses an operator who is a party and lists failed payouts even once the flag is cleared', async () => {
    const { dealId, seller, asSeller } = await dealWithPayouts();
    await fail(dealId, seller, 'sender_blacklisted', 'sender_blacklisted');
    const sellerAsOperator = { kind: 'user', userId: asSeller.userId, role: 'operator' } as const;
    expect(await refusal(retryPayouts(store, { dealId, actor: sellerAsOperator, note: 'mine' }))).toBe(
      'operator_is_party',
    );
    expect(await refusal(retryPayouts(store, { dealId, actor: operator, note: ' ' }))).toBe(
      'reason_required',
    );
    expect(await statusOf(seller)).toBe('failed');

    await store.act(dealId, { type: 'clear_review', note: 'asked the issuer' }, operator);
    const page = await listReviews(db.pool, { limit: 100 });
    expect(page.items.find((i) => i.deal.id === dealId)?.failedPayouts).toEqual([
      {
        record: 'payout_leg',
        id: String(seller.id),
        dealId,
        cause: CAUSE,
        kind: 'seller',
        chainId: LOCAL_USDT.chainId,
        token: LOCAL_USDT.token,
        recipient: SELLER_ADDRESS,
        amount: 5_000_000n,
        failure: 'sender_blacklisted',
        retryable: true,
      },
    ]);
  });
});
