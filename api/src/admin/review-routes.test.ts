import type { Actor, AssetRef, PaymentRecord } from '@amanat/core';
import {
  DealStore,
  decideStrayFunds,
  holdForApproval,
  markFailed,
  type Pool,
  payoutApprovalReason,
  recordPayments,
} from '@amanat/platform';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ARBITRATOR_TG,
  OPERATOR_TG,
  PAYOUT_ADDRESS as PAYOUT,
  REFUND_ADDRESS as REFUND,
  startTestApi,
  type TestApi,
  LOCAL_USDT as USDT,
} from '../testing.ts';

/**
 * Operator actions on deals that need a human, over REST against PostgreSQL and Redis. Deals are made
 * through the API; what the chain says is recorded with the platform's own `recordPayments`, as the
 * payments worker does.
 */

/** Ethereum mainnet USDT: a real asset of the registry, but not a local deal's. */
const ETH_USDT = '0xdAC17F958D2ee523a2206206994597C13D831ec7';
/** The address a sender of stray funds confirmed to the operator. */
const SENDER_CONFIRMED = '0x1Db3439a222C519ab44bb1144fC28167b4Fa6EE6';
const SENDER = '0x90F79bf6EB2c4f870365E785982E1f101E93b906';
const DENIED = '0x15d34AAf54267DB7D7c367839AAf71A00a2C6A65';
const SYSTEM: Actor = { kind: 'system', component: 'test' };
/** 500 USDT with a 1% fee (5 USDT, above the 1 USDT minimum). */
const PRICE = 500_000_000n;
const FEE = 5_000_000n;

let t: TestApi;
let seller: string;
let buyer: string;
let operator: string;
let arbitrator: string;
let outsider: string;
let nextTx = 0;

beforeAll(async () => {
  t = await startTestApi();
  [seller, buyer, operator, arbitrator, outsider] = await Promise.all([
    t.signIn(300_001, { username: 'seller' }),
    t.signIn(300_002, { username: 'buyer' }),
    t.signIn(OPERATOR_TG),
    t.signIn(ARBITRATOR_TG),
    t.signIn(300_003),
  ]);
});
afterAll(async () => {
  await t?.close();
});

const post = (path: string, token: string, body: unknown = {}, headers?: Record<string, string>) =>
  t.call('POST', path, { token, body, ...(headers ? { headers } : {}) });

/** A deal both parties accepted, awaiting payment at its deposit address. */
const awaitingPayment = (s = seller) => t.startDeal(s, buyer);

interface PaymentSpec {
  amount: bigint;
  asset?: AssetRef;
  status?: PaymentRecord['status'];
  /** Block time; a payment after the deal stopped receiving is late. */
  at?: Date;
  from?: string;
  /** Reports the same transfer again (for example reorged). */
  txHash?: `0x${string}`;
}

/** Records what the chain says about one transfer to the deal's deposit address; returns its payment id. */
async function pay(deal: { id: string; depositAddress: string }, spec: PaymentSpec) {
  const asset = spec.asset ?? { chainId: 31337, token: USDT };
  const txHash = spec.txHash ?? (`0x${(++nextTx).toString(16).padStart(64, '0')}` as const);
  await recordPayments(t.api.ctx.store, {
    dealId: deal.id,
    payments: [
      {
        chainId: asset.chainId,
        txHash,
        logIndex: 0,
        token: asset.token,
        from: (spec.from ?? SENDER) as `0x${string}`,
        to: deal.depositAddress as `0x${string}`,
        amount: spec.amount,
        blockNumber: 10n,
        blockHash: `0x${(spec.status === 'reorged' ? 'b' : 'a').repeat(64)}`,
        blockTimestamp: spec.at ?? new Date(),
        status: spec.status ?? 'confirmed',
      },
    ],
    denylist: new Set([DENIED.toLowerCase()]),
    isKnownAsset: (ref) => t.api.ctx.registry.findToken(ref) !== undefined,
    actor: SYSTEM,
  });
  const { rows } = await t.db.pool.query(
    'SELECT id::text AS id FROM payments WHERE chain_id = $1 AND tx_hash = $2',
    [asset.chainId, txHash],
  );
  return { id: rows[0].id as string, txHash };
}

const later = () => new Date(Date.now() + 2000);

/** A cancelled deal that then received 30 USDT: late funds, flagged for review. */
async function lateFundsDeal() {
  const deal = await awaitingPayment();
  expect((await post(`/api/deals/${deal.id}/cancel`, buyer)).status).toBe(200);
  const payment = await pay(deal, { amount: 30_000_000n, at: later() });
  return { deal, payment };
}

/** Funded by the given payments, then delivered. */
async function deliveredDeal(amounts: bigint[]) {
  const deal = await awaitingPayment();
  const payments = [];
  for (const amount of amounts) payments.push(await pay(deal, { amount }));
  const delivered = await post(`/api/deals/${deal.id}/deliver`, seller);
  expect(delivered.status, JSON.stringify(delivered.body)).toBe(200);
  return { deal, payments };
}

/** What an operator action may write, to prove a refused one wrote nothing. */
async function footprint(dealId: string) {
  const { rows } = await t.db.pool.query(
    `SELECT (SELECT version FROM deals WHERE id = $1::uuid) AS version,
       (SELECT needs_review FROM deals WHERE id = $1::uuid) AS needs_review,
       (SELECT count(*)::int FROM activity_log WHERE deal_id = $1::uuid) AS entries,
       (SELECT count(*)::int FROM payout_legs WHERE deal_id = $1::uuid) AS legs,
       (SELECT count(*)::int FROM stray_fund_decisions WHERE deal_id = $1::uuid) AS decisions,
       (SELECT count(*)::int FROM outbox WHERE payload->>'dealId' = $1::text) AS outbox`,
    [dealId],
  );
  return rows[0];
}

async function legsOf(dealId: string) {
  const { rows } = await t.db.pool.query(
    `SELECT kind, cause, chain_id, token, recipient, amount::text AS amount, status
     FROM payout_legs WHERE deal_id = $1 ORDER BY id`,
    [dealId],
  );
  return rows;
}

async function payoutJobs(dealId: string) {
  const { rows } = await t.db.pool.query(
    `SELECT name, job_id, payload FROM outbox WHERE kind = 'job' AND target = 'payouts' AND payload->>'dealId' = $1
     ORDER BY id`,
    [dealId],
  );
  return rows;
}

/** The deal's activity as an operator reads it; the hash chain must verify after every action. */
async function activity(dealId: string) {
  const res = await t.call('GET', `/api/deals/${dealId}/activity`, { token: operator });
  expect(res.status).toBe(200);
  expect(res.body.verification).toEqual({ ok: true, problems: [] });
  return res.body.entries as Array<{
    seq: number;
    action: string;
    actor: Record<string, unknown>;
    stateBefore: string;
    stateAfter: string;
    facts: Record<string, unknown>;
  }>;
}

const decide = (
  dealId: string,
  paymentId: string,
  body: unknown,
  token = operator,
  headers?: Record<string, string>,
) => post(`/api/admin/deals/${dealId}/payments/${paymentId}/decision`, token, body, headers);

const refundBody = (over: Record<string, unknown> = {}) => ({
  decision: 'refund',
  address: SENDER_CONFIRMED,
  confirmedBy: 'sender',
  note: 'Sender confirmed the address in a signed message',
  ...over,
});

describe('only operators', () => {
  it('parties, arbitrators and outsiders get 403 operator_only on every review route, and nothing changes', async () => {
    const { deal, payment } = await lateFundsDeal();
    const before = await footprint(deal.id);
    expect(before.needs_review).toBe(true);
    for (const token of [seller, buyer, arbitrator, outsider]) {
      const answers = await Promise.all([
        post(`/api/admin/deals/${deal.id}/clear-review`, token, { note: 'x' }),
        decide(deal.id, payment.id, refundBody(), token),
        decide(deal.id, payment.id, { decision: 'accept', note: 'x' }, token),
        post(`/api/admin/deals/${deal.id}/resolve-review`, token, { outcome: 'refund', note: 'x' }),
        t.call('GET', '/api/admin/reviews', { token }),
      ]);
      for (const res of answers) {
        expect(res.status).toBe(403);
        expect(res.body.code).toBe('operator_only');
        expect(res.headers.get('content-type')).toContain('application/problem+json');
      }
    }
    const anonymous = await t.call('POST', `/api/admin/deals/${deal.id}/clear-review`, {
      body: { note: 'x' },
    });
    expect(anonymous.status).toBe(401);
    expect(await footprint(deal.id)).toEqual(before);
  });

  it('an operator who is a party of the deal may not decide it', async () => {
    const deal = await awaitingPayment(operator);
    expect((await post(`/api/deals/${deal.id}/cancel`, buyer)).status).toBe(200);
    const payment = await pay(deal, { amount: 30_000_000n, at: later() });
    const before = await footprint(deal.id);
    const clear = await post(`/api/admin/deals/${deal.id}/clear-review`, operator, { note: 'mine' });
    expect([clear.status, clear.body.code]).toEqual([403, 'operator_is_party']);
    const decision = await decide(deal.id, payment.id, { decision: 'accept', note: 'mine' });
    expect([decision.status, decision.body.code]).toEqual([403, 'operator_is_party']);
    expect(await footprint(deal.id)).toEqual(before);
  });
});

describe('clearing a review', () => {
  it('clears the flag with a note that goes into the verified activity log; a second clear is a conflict', async () => {
    const { deal } = await lateFundsDeal();
    const missing = await post(`/api/admin/deals/${deal.id}/clear-review`, operator, { note: '  ' });
    expect([missing.status, missing.body.code]).toEqual([400, 'validation_failed']);

    const res = await post(`/api/admin/deals/${deal.id}/clear-review`, operator, {
      note: 'Buyer paid twice by mistake; refund arranged',
    });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.deal).toMatchObject({
      id: deal.id,
      state: 'cancelled',
      needsReview: false,
      reviewReasons: [],
    });
    const last = (await activity(deal.id)).at(-1);
    expect(last).toMatchObject({
      action: 'clear_review',
      stateBefore: 'cancelled',
      stateAfter: 'cancelled',
      facts: { note: 'Buyer paid twice by mistake; refund arranged' },
    });
    expect(last?.actor).toMatchObject({ kind: 'user', role: 'operator' });

    const again = await post(`/api/admin/deals/${deal.id}/clear-review`, operator, { note: 'again' });
    expect([again.status, again.body.code]).toEqual([409, 'review_not_flagged']);
    const unknown = await post(`/api/admin/deals/${crypto.randomUUID()}/clear-review`, operator, {
      note: 'x',
    });
    expect([unknown.status, unknown.body.code]).toEqual([404, 'deal_not_found']);
  });
});

describe('stray funds', () => {
  it('late funds refunded to a sender-confirmed address: one pending leg, a payout job, an activity entry, once', async () => {
    const { deal, payment } = await lateFundsDeal();
    const listed = await t.call('GET', '/api/admin/reviews?limit=100', { token: operator });
    expect(listed.status).toBe(200);
    const item = listed.body.items.find((i: { deal: { id: string } }) => i.deal.id === deal.id);
    expect(item.deal.reviewReasons).toEqual(['late_payment']);
    expect(item.strayPayments).toEqual([
      expect.objectContaining({ id: payment.id, classification: 'late', amount: '30000000', decision: null }),
    ]);

    const badChecksum = await decide(
      deal.id,
      payment.id,
      refundBody({ address: SENDER_CONFIRMED.toLowerCase().replace('0x1d', '0x1D') }),
    );
    expect([badChecksum.status, badChecksum.body.code]).toEqual([400, 'validation_failed']);
    const unconfirmed = await decide(deal.id, payment.id, refundBody({ confirmedBy: undefined }));
    expect([unconfirmed.status, unconfirmed.body.code]).toEqual([400, 'validation_failed']);

    const headers = { 'Idempotency-Key': `refund-${payment.id}` };
    const res = await decide(deal.id, payment.id, refundBody(), operator, headers);
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(res.body.deal.state).toBe('cancelled');
    const cause = res.body.payout.cause as string;
    expect(res.body.payout).toEqual({
      kind: 'stray_refund',
      chainId: 31337,
      token: USDT,
      recipient: SENDER_CONFIRMED,
      amount: '30000000',
      cause,
      status: 'pending',
    });

    expect(await legsOf(deal.id)).toEqual([
      {
        kind: 'stray_refund',
        cause,
        chain_id: 31337,
        token: USDT,
        recipient: SENDER_CONFIRMED,
        amount: '30000000',
        status: 'pending',
      },
    ]);
    expect(await payoutJobs(deal.id)).toEqual([
      { name: 'execute-payout', job_id: `${deal.id}-${cause}`, payload: { dealId: deal.id, cause } },
    ]);
    const entry = (await activity(deal.id)).at(-1);
    expect(entry).toMatchObject({
      seq: Number(cause),
      action: 'decide_stray_funds',
      stateBefore: 'cancelled',
      stateAfter: 'cancelled',
      facts: {
        payment: `31337-${payment.txHash}-0`,
        class: 'late',
        decision: 'refund',
        amount: '30000000',
        asset: { chainId: 31337, token: USDT },
        recipient: SENDER_CONFIRMED,
        recipientConfirmedBy: 'sender',
        paymentId: payment.id,
        payoutLeg: 'stray_refund',
      },
    });

    // A retried request replays its answer; a new decision on the same payment is refused.
    const replay = await decide(deal.id, payment.id, refundBody(), operator, headers);
    expect([replay.status, replay.headers.get('idempotent-replayed'), replay.body.payout.cause]).toEqual([
      201,
      'true',
      cause,
    ]);
    const before = await footprint(deal.id);
    const second = await decide(deal.id, payment.id, { decision: 'accept', note: 'changed my mind' });
    expect([second.status, second.body.code]).toEqual([409, 'stray_funds_already_decided']);
    expect(await footprint(deal.id)).toEqual(before);
    expect(before).toMatchObject({ legs: 1, decisions: 1 });

    // The decision shows in the review list; once the flag is cleared nothing is left to look at.
    const relisted = await t.call('GET', '/api/admin/reviews?limit=100', { token: operator });
    const decided = relisted.body.items.find((i: { deal: { id: string } }) => i.deal.id === deal.id);
    expect(decided.strayPayments[0].decision).toMatchObject({
      decision: 'refund',
      recipient: SENDER_CONFIRMED,
      cause,
      note: 'Sender confirmed the address in a signed message',
      payoutStatus: 'pending',
    });
    await post(`/api/admin/deals/${deal.id}/clear-review`, operator, { note: 'refund recorded' });
    const after = await t.call('GET', '/api/admin/reviews?limit=100', { token: operator });
    expect(after.body.items.map((i: { deal: { id: string } }) => i.deal.id)).not.toContain(deal.id);
  });

  it('lists deals with undecided stray funds even after their flag was cleared, newest first, paged', async () => {
    const older = await lateFundsDeal();
    const newer = await lateFundsDeal();
    const cleared = await post(`/api/admin/deals/${older.deal.id}/clear-review`, operator, {
      note: 'Contacting the sender for a refund address',
    });
    expect(cleared.status).toBe(200);

    const first = await t.call('GET', '/api/admin/reviews?limit=1', { token: operator });
    expect(first.status).toBe(200);
    expect(first.body.items.map((i: { deal: { id: string } }) => i.deal.id)).toEqual([newer.deal.id]);
    expect(typeof first.body.nextCursor).toBe('string');
    const second = await t.call('GET', `/api/admin/reviews?limit=1&cursor=${first.body.nextCursor}`, {
      token: operator,
    });
    expect(second.body.items).toEqual([
      {
        deal: expect.objectContaining({ id: older.deal.id, needsReview: false, yourRole: 'operator' }),
        strayPayments: [
          expect.objectContaining({ id: older.payment.id, classification: 'late', decision: null }),
        ],
        awaitingApproval: [],
        failedPayouts: [],
      },
    ]);
    const bad = await t.call('GET', '/api/admin/reviews?cursor=bm90LWEtY3Vyc29y', { token: operator });
    expect([bad.status, bad.body.code]).toEqual([400, 'cursor_invalid']);
  });

  it("late funds accepted into a deal being released are paid to the seller's payout address, in full", async () => {
    const { deal } = await deliveredDeal([PRICE]);
    expect((await post(`/api/deals/${deal.id}/confirm`, buyer)).body.state).toBe('releasing');
    const topUp = await pay(deal, { amount: 20_000_000n, at: later() });
    const res = await decide(deal.id, topUp.id, { decision: 'accept', note: 'A tip the buyer confirmed' });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(res.body.deal.state).toBe('releasing');
    const legs = await legsOf(deal.id);
    expect(legs.map((l) => [l.kind, l.recipient, l.amount])).toEqual([
      ['seller', PAYOUT, (PRICE - FEE).toString()],
      ['fee', null, FEE.toString()],
      ['stray_accept', PAYOUT, '20000000'],
    ]);
    // Its own cause, so its own payout job beside the release's.
    const jobs = await payoutJobs(deal.id);
    expect(jobs.map((j) => j.payload.cause)).toEqual([legs[0]?.cause, res.body.payout.cause]);
    expect((await activity(deal.id)).at(-1)).toMatchObject({
      action: 'decide_stray_funds',
      facts: { decision: 'accept' },
    });
  });

  it("foreign-asset funds can only be refunded, paid back in the payment's own chain and token", async () => {
    const deal = await awaitingPayment();
    const foreign = await pay(deal, { amount: 7_000_000n, asset: { chainId: 1, token: ETH_USDT } });
    expect(await t.api.ctx.store.get(deal.id)).toMatchObject({
      state: 'awaiting_payment',
      needsReview: true,
      reviewReasons: ['foreign_asset'],
      funding: 'unpaid',
    });

    const before = await footprint(deal.id);
    const accept = await decide(deal.id, foreign.id, { decision: 'accept', note: 'pay the seller' });
    expect([accept.status, accept.body.code]).toEqual([422, 'foreign_asset_not_acceptable']);
    expect(await footprint(deal.id)).toEqual(before);

    const refund = await decide(deal.id, foreign.id, refundBody());
    expect(refund.status, JSON.stringify(refund.body)).toBe(201);
    expect(await legsOf(deal.id)).toEqual([
      expect.objectContaining({
        kind: 'stray_refund',
        chain_id: 1,
        token: ETH_USDT,
        recipient: SENDER_CONFIRMED,
        amount: '7000000',
      }),
    ]);
    expect(refund.body.deal.state).toBe('awaiting_payment');
  });

  it('funds from a denylisted sender are never accepted into the deal', async () => {
    const deal = await awaitingPayment();
    const denied = await pay(deal, { amount: PRICE, from: DENIED });
    const before = await footprint(deal.id);
    expect(before.needs_review).toBe(true);
    const accept = await decide(deal.id, denied.id, { decision: 'accept', note: 'pay the seller' });
    expect([accept.status, accept.body.code]).toEqual([422, 'denylisted_funds_not_acceptable']);
    expect(await footprint(deal.id)).toEqual(before);
  });

  it("refuses a payment that is not the deal's, not confirmed, or not stray, and writes nothing", async () => {
    const deal = await awaitingPayment();
    const counted = await pay(deal, { amount: 100_000_000n });
    const other = await lateFundsDeal();
    const pendingLate = await pay(other.deal, { amount: 9_000_000n, at: later(), status: 'pending' });
    const before = [await footprint(deal.id), await footprint(other.deal.id)];

    const notStray = await decide(deal.id, counted.id, refundBody());
    expect([notStray.status, notStray.body.code]).toEqual([409, 'payment_not_stray']);
    const notConfirmed = await decide(other.deal.id, pendingLate.id, refundBody());
    expect([notConfirmed.status, notConfirmed.body.code]).toEqual([409, 'payment_not_confirmed']);
    const notTheDeals = await decide(deal.id, other.payment.id, refundBody());
    expect([notTheDeals.status, notTheDeals.body.code]).toEqual([404, 'payment_not_found']);
    const noSuch = await decide(deal.id, '999999999999', refundBody());
    expect([noSuch.status, noSuch.body.code]).toEqual([404, 'payment_not_found']);
    const huge = await decide(deal.id, '9999999999999999999', refundBody());
    expect([huge.status, huge.body.code]).toEqual([404, 'payment_not_found']);
    const malformed = await decide(deal.id, 'abc', refundBody());
    expect([malformed.status, malformed.body.code]).toEqual([400, 'validation_failed']);

    expect([await footprint(deal.id), await footprint(other.deal.id)]).toEqual(before);
  });

  it('a payment reorged after the operator looked cannot be decided', async () => {
    const { deal, payment } = await lateFundsDeal();
    // The chain drops the payment: the payments worker writes the row before it recomputes the deal.
    await t.db.pool.query(`UPDATE payments SET status = 'reorged' WHERE id = $1`, [payment.id]);
    const res = await decide(deal.id, payment.id, refundBody());
    expect([res.status, res.body.code]).toEqual([409, 'payment_not_confirmed']);
    expect(await legsOf(deal.id)).toEqual([]);
  });

  it('a reorg landing between the read and the write rolls the whole decision back', async () => {
    const { deal, payment } = await lateFundsDeal();
    const pool = t.db.pool;
    // A pool that lets the reorg land right after the decision read the payment, before it writes.
    const racing = new Proxy(pool, {
      get(target, prop) {
        if (prop === 'query') {
          return async (query: { name?: string }, values?: unknown[]) => {
            const result = await target.query(query as never, values as never);
            if (query?.name === 'stray-payment-get') {
              await target.query(`UPDATE payments SET status = 'reorged' WHERE id = $1`, [payment.id]);
            }
            return result;
          };
        }
        const value = Reflect.get(target, prop);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    }) as Pool;
    const { rows } = await pool.query('SELECT id FROM users WHERE telegram_id = $1', [OPERATOR_TG]);
    const operatorId = rows[0].id as string;
    const before = await footprint(deal.id);
    await expect(
      decideStrayFunds(new DealStore({ pool: racing }), {
        dealId: deal.id,
        paymentId: payment.id,
        decision: { kind: 'refund', address: SENDER_CONFIRMED, confirmedBy: 'sender' },
        note: 'raced',
        actor: { kind: 'user', userId: operatorId, role: 'operator' },
      }),
    ).rejects.toMatchObject({ code: 'payment_changed' });
    expect(await footprint(deal.id)).toEqual(before);
  });
});

describe('resolving a reorg after delivery', () => {
  it('release pays the seller what is confirmed now, less the fee, and clears the flag', async () => {
    const { deal, payments } = await deliveredDeal([300_000_000n, 200_000_000n]);
    await pay(deal, { amount: 200_000_000n, status: 'reorged', txHash: payments[1]?.txHash });
    expect(await t.api.ctx.store.get(deal.id)).toMatchObject({
      state: 'delivered',
      needsReview: true,
      reviewReasons: ['funding_lost_after_progress'],
      funding: 'partially_paid',
      confirmedAmount: 300_000_000n,
    });
    const blocked = await post(`/api/deals/${deal.id}/confirm`, buyer);
    expect([blocked.status, blocked.body.code]).toEqual([409, 'deal_needs_review']);

    const res = await post(`/api/admin/deals/${deal.id}/resolve-review`, operator, {
      outcome: 'release',
      note: 'Seller delivered; buyer will not re-send',
    });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.deal).toMatchObject({ state: 'releasing', needsReview: false, reviewReasons: [] });
    const cause = res.body.payouts[0].cause as string;
    expect(res.body.payouts).toEqual([
      {
        kind: 'seller',
        chainId: 31337,
        token: USDT,
        recipient: PAYOUT,
        amount: '295000000',
        cause,
        status: 'pending',
      },
      {
        kind: 'fee',
        chainId: 31337,
        token: USDT,
        recipient: null,
        amount: FEE.toString(),
        cause,
        status: 'pending',
      },
    ]);
    expect((await legsOf(deal.id)).map((l) => [l.kind, l.cause, l.recipient, l.amount, l.status])).toEqual([
      ['seller', cause, PAYOUT, '295000000', 'pending'],
      ['fee', cause, null, FEE.toString(), 'pending'],
    ]);
    expect(await payoutJobs(deal.id)).toEqual([
      { name: 'execute-payout', job_id: `${deal.id}-${cause}`, payload: { dealId: deal.id, cause } },
    ]);
    expect((await activity(deal.id)).at(-1)).toMatchObject({
      seq: Number(cause),
      action: 'resolve_review',
      stateBefore: 'delivered',
      stateAfter: 'releasing',
      facts: { outcome: { kind: 'release' }, note: 'Seller delivered; buyer will not re-send' },
    });
    const again = await post(`/api/admin/deals/${deal.id}/resolve-review`, operator, {
      outcome: 'refund',
      note: 'x',
    });
    expect([again.status, again.body.code]).toEqual([409, 'action_not_allowed_in_state']);
  });

  it('refund returns what is confirmed now to the buyer', async () => {
    const { deal, payments } = await deliveredDeal([300_000_000n, 200_000_000n]);
    await pay(deal, { amount: 300_000_000n, status: 'reorged', txHash: payments[0]?.txHash });
    const res = await post(`/api/admin/deals/${deal.id}/resolve-review`, operator, {
      outcome: 'refund',
      note: 'Goods returned',
    });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.deal.state).toBe('refunding');
    expect((await legsOf(deal.id)).map((l) => [l.kind, l.recipient, l.amount])).toEqual([
      ['buyer_refund', REFUND, '200000000'],
    ]);
    expect(await payoutJobs(deal.id)).toHaveLength(1);
  });

  it('with nothing confirmed left, release is refused and a refund closes the deal with no payout', async () => {
    const { deal, payments } = await deliveredDeal([PRICE]);
    await pay(deal, { amount: PRICE, status: 'reorged', txHash: payments[0]?.txHash });
    const before = await footprint(deal.id);
    const release = await post(`/api/admin/deals/${deal.id}/resolve-review`, operator, {
      outcome: 'release',
      note: 'x',
    });
    expect([release.status, release.body.code]).toEqual([409, 'not_funded']);
    expect(await footprint(deal.id)).toEqual(before);

    const refund = await post(`/api/admin/deals/${deal.id}/resolve-review`, operator, {
      outcome: 'refund',
      note: 'The payment vanished in a reorg; nothing to return',
    });
    expect(refund.status, JSON.stringify(refund.body)).toBe(200);
    expect([refund.body.deal.state, refund.body.deal.needsReview, refund.body.payouts]).toEqual([
      'refunded',
      false,
      [],
    ]);
    expect(await legsOf(deal.id)).toEqual([]);
    expect(await payoutJobs(deal.id)).toEqual([]);
    expect((await activity(deal.id)).at(-1)).toMatchObject({
      action: 'resolve_review',
      stateAfter: 'refunded',
    });
  });

  it('a flagged deal whose funding is intact is not resolved here: the operator clears the review instead', async () => {
    const { deal } = await deliveredDeal([PRICE]);
    await t.api.ctx.store.act(
      deal.id,
      { type: 'flag_review', reason: 'manual check' },
      { kind: 'system', component: 'test' },
    );
    const before = await footprint(deal.id);
    const res = await post(`/api/admin/deals/${deal.id}/resolve-review`, operator, {
      outcome: 'release',
      note: 'x',
    });
    expect([res.status, res.body.code]).toEqual([409, 'funding_intact']);
    expect(await footprint(deal.id)).toEqual(before);
  });
});

describe('approving a payout above the threshold', () => {
  /**
   * A released deal whose seller leg the payout signer held for approval: the leg awaits it and the deal
   * is flagged with its reason, as workers/src/payouts/execute.ts leaves them.
   */
  async function heldRelease(s = seller) {
    const deal = await awaitingPayment(s);
    await pay(deal, { amount: PRICE });
    const confirmed = await post(`/api/deals/${deal.id}/confirm`, buyer);
    expect(confirmed.status, JSON.stringify(confirmed.body)).toBe(200);
    const { rows } = await t.db.pool.query(
      `SELECT id::text AS id, kind, cause FROM payout_legs WHERE deal_id = $1 ORDER BY id`,
      [deal.id],
    );
    const legs = Object.fromEntries(rows.map((r) => [r.kind, r])) as Record<
      string,
      { id: string; cause: string }
    >;
    const held = legs.seller as { id: string; cause: string };
    expect(await holdForApproval(t.db.pool, BigInt(held.id))).toBe(true);
    await t.api.ctx.store.act(
      deal.id,
      { type: 'flag_review', reason: payoutApprovalReason(held.id) },
      SYSTEM,
    );
    return { deal, held, fee: legs.fee as { id: string } };
  }

  const approve = (id: string, body: unknown, token = operator, headers?: Record<string, string>) =>
    post(`/api/admin/payouts/${id}/approve`, token, body, headers);

  it('lists the held payout; refuses non-operators, a party operator, unknown and unheld payouts', async () => {
    const { deal, held, fee } = await heldRelease();
    const listed = await t.call('GET', '/api/admin/reviews?limit=100', { token: operator });
    const item = listed.body.items.find((i: { deal: { id: string } }) => i.deal.id === deal.id);
    expect(item.deal.reviewReasons).toEqual([`payout_approval_required:${held.id}`]);
    expect(item.awaitingApproval).toEqual([
      {
        id: held.id,
        kind: 'seller',
        chainId: 31337,
        token: USDT,
        recipient: PAYOUT,
        amount: (PRICE - FEE).toString(),
        cause: held.cause,
      },
    ]);

    const before = await footprint(deal.id);
    for (const token of [seller, buyer, arbitrator, outsider]) {
      const res = await approve(held.id, { note: 'x' }, token);
      expect([res.status, res.body.code]).toEqual([403, 'operator_only']);
    }
    const missing = await approve('999999999999', { note: 'x' });
    expect([missing.status, missing.body.code]).toEqual([404, 'payout_not_found']);
    const badId = await approve('leg-1', { note: 'x' });
    expect([badId.status, badId.body.code]).toEqual([400, 'validation_failed']);
    const noNote = await approve(held.id, { note: ' ' });
    expect([noNote.status, noNote.body.code]).toEqual([400, 'validation_failed']);
    const unheld = await approve(fee.id, { note: 'x' });
    expect([unheld.status, unheld.body.code]).toEqual([409, 'payout_not_awaiting_approval']);
    expect(await footprint(deal.id)).toEqual(before);

    const own = await heldRelease(operator);
    const ownBefore = await footprint(own.deal.id);
    const refused = await approve(own.held.id, { note: 'my own money' });
    expect([refused.status, refused.body.code]).toEqual([403, 'operator_is_party']);
    expect(await footprint(own.deal.id)).toEqual(ownBefore);
  });

  it('approves once: the leg is pending again, the approval is logged, the cause is queued anew', async () => {
    const { deal, held } = await heldRelease();
    const version = (await t.api.ctx.store.get(deal.id))?.version;
    const stale = await approve(held.id, { note: 'x', version: (version as number) - 1 });
    expect([stale.status, stale.body.code]).toEqual([409, 'version_conflict']);

    const headers = { 'Idempotency-Key': `approve-${held.id}` };
    const res = await approve(
      held.id,
      { note: 'Seller confirmed the address by phone', version },
      operator,
      headers,
    );
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.payout).toMatchObject({
      id: held.id,
      kind: 'seller',
      recipient: PAYOUT,
      amount: (PRICE - FEE).toString(),
      status: 'pending',
    });
    expect(res.body.deal).toMatchObject({ state: 'releasing', needsReview: false, reviewReasons: [] });
    expect((await legsOf(deal.id)).map((l) => `${l.kind}:${l.status}`)).toEqual([
      'seller:pending',
      'fee:pending',
    ]);
    expect(await payoutJobs(deal.id)).toEqual([
      {
        name: 'execute-payout',
        job_id: `${deal.id}-${held.cause}`,
        payload: { dealId: deal.id, cause: held.cause },
      },
      {
        name: 'execute-payout',
        job_id: `${deal.id}-${held.cause}-approved-${held.id}`,
        payload: { dealId: deal.id, cause: held.cause },
      },
    ]);
    const entry = (await activity(deal.id)).at(-1);
    expect(entry).toMatchObject({
      action: 'approve_payout',
      stateBefore: 'releasing',
      stateAfter: 'releasing',
      facts: { leg: held.id, kind: 'seller', amount: (PRICE - FEE).toString(), recipient: PAYOUT },
    });
    expect(entry?.actor).toMatchObject({ kind: 'user', role: 'operator' });

    const replay = await approve(
      held.id,
      { note: 'Seller confirmed the address by phone', version },
      operator,
      headers,
    );
    expect([replay.status, replay.headers.get('idempotent-replayed')]).toEqual([200, 'true']);
    const again = await approve(held.id, { note: 'again' });
    expect([again.status, again.body.code]).toEqual([409, 'payout_not_awaiting_approval']);
    expect(await payoutJobs(deal.id)).toHaveLength(2);
  });
});

describe('retrying failed payouts', () => {
  /** A released deal whose seller leg the payout signer failed at a check, flagged as execute.ts leaves it. */
  async function failedRelease(s = seller) {
    const deal = await awaitingPayment(s);
    await pay(deal, { amount: PRICE });
    expect((await post(`/api/deals/${deal.id}/confirm`, buyer)).status).toBe(200);
    const { rows } = await t.db.pool.query(
      `SELECT id::text AS id, cause FROM payout_legs WHERE deal_id = $1 AND kind = 'seller'`,
      [deal.id],
    );
    const leg = rows[0] as { id: string; cause: string };
    expect(await markFailed(t.db.pool, { table: 'payout_legs', id: BigInt(leg.id) }, 'token_paused')).toBe(
      true,
    );
    await t.api.ctx.store.act(
      deal.id,
      { type: 'flag_review', reason: 'payout_failed:seller:token_paused' },
      SYSTEM,
    );
    return { deal, leg };
  }

  const retry = (dealId: string, body: unknown, token = operator, headers?: Record<string, string>) =>
    post(`/api/admin/deals/${dealId}/retry-payouts`, token, body, headers);

  it('lists the failed payout; refuses non-operators, a party operator, no note and a deal with none', async () => {
    const { deal, leg } = await failedRelease();
    const listed = await t.call('GET', '/api/admin/reviews?limit=100', { token: operator });
    const item = listed.body.items.find((i: { deal: { id: string } }) => i.deal.id === deal.id);
    expect(item.failedPayouts).toEqual([
      {
        record: 'payout_leg',
        id: leg.id,
        kind: 'seller',
        chainId: 31337,
        token: USDT,
        recipient: PAYOUT,
        amount: (PRICE - FEE).toString(),
        cause: leg.cause,
        failure: 'token_paused',
        retryable: true,
      },
    ]);

    const before = await footprint(deal.id);
    for (const token of [seller, buyer, arbitrator, outsider]) {
      const res = await retry(deal.id, { note: 'x' }, token);
      expect([res.status, res.body.code]).toEqual([403, 'operator_only']);
    }
    const noNote = await retry(deal.id, {});
    expect([noNote.status, noNote.body.code]).toEqual([400, 'validation_failed']);
    const unknown = await retry('00000000-0000-4000-8000-000000000000', { note: 'x' });
    expect([unknown.status, unknown.body.code]).toEqual([404, 'deal_not_found']);
    expect(await footprint(deal.id)).toEqual(before);

    const own = await failedRelease(operator);
    const ownBefore = await footprint(own.deal.id);
    const refused = await retry(own.deal.id, { note: 'my own money' });
    expect([refused.status, refused.body.code]).toEqual([403, 'operator_is_party']);
    expect(await footprint(own.deal.id)).toEqual(ownBefore);

    const clean = await awaitingPayment();
    const none = await retry(clean.id, { note: 'x' });
    expect([none.status, none.body.code]).toEqual([409, 'nothing_to_retry']);
  });

  it('sends the leg again once: pending, logged, queued under a new job id, the flag lowered', async () => {
    const { deal, leg } = await failedRelease();
    const version = (await t.api.ctx.store.get(deal.id))?.version as number;
    const headers = { 'Idempotency-Key': `retry-${deal.id}` };
    const res = await retry(deal.id, { note: 'The issuer unpaused the token', version }, operator, headers);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.retried).toEqual([
      {
        record: 'payout_leg',
        id: leg.id,
        kind: 'seller',
        chainId: 31337,
        token: USDT,
        recipient: PAYOUT,
        amount: (PRICE - FEE).toString(),
        cause: leg.cause,
        failure: 'token_paused',
        status: 'pending',
      },
    ]);
    expect(res.body.deal).toMatchObject({ state: 'releasing', needsReview: false, reviewReasons: [] });
    expect((await legsOf(deal.id)).map((l) => `${l.kind}:${l.status}`)).toEqual([
      'seller:pending',
      'fee:pending',
    ]);
    expect((await payoutJobs(deal.id)).map((j) => j.job_id)).toEqual([
      `${deal.id}-${leg.cause}`,
      `${deal.id}-${leg.cause}-retry-${version + 1}`,
    ]);
    expect((await activity(deal.id)).at(-1)).toMatchObject({
      action: 'retry_payouts',
      stateAfter: 'releasing',
      facts: { note: 'The issuer unpaused the token', records: [{ id: leg.id, failure: 'token_paused' }] },
    });

    const replay = await retry(
      deal.id,
      { note: 'The issuer unpaused the token', version },
      operator,
      headers,
    );
    expect([replay.status, replay.headers.get('idempotent-replayed')]).toEqual([200, 'true']);
    const again = await retry(deal.id, { note: 'again' });
    expect([again.status, again.body.code]).toEqual([409, 'nothing_to_retry']);
    expect(await payoutJobs(deal.id)).toHaveLength(2);
  });
});
