import { type Actor, type DealAction, type PaymentRecord, redisKeys } from '@amanat/core';
import { recordPayments } from '@amanat/platform';
import { mnemonicToAccount } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { until } from '../../../devstack/testing.ts';
import {
  ARBITRATOR_TG,
  newDealBody,
  PAYOUT_ADDRESS as PAYOUT,
  REFUND_ADDRESS as REFUND,
  startTestApi,
  TEST_MNEMONIC,
  type TestApi,
  LOCAL_USDT as USDT,
} from '../testing.ts';

/** The deal lifecycle over REST, from creation to the payout decision, against PostgreSQL and Redis. */

// From outside the test mnemonic too, like the shared party addresses.
const NEW_PAYOUT = '0x1Db3439a222C519ab44bb1144fC28167b4Fa6EE6';
const SYSTEM: Actor = { kind: 'system', component: 'test' };
/** 500 USDT: the 1% fee (5 USDT) is above the 1 USDT minimum, so the figures below are easy to check. */
const PRICE = 500_000_000n;
const FEE = 5_000_000n;

let t: TestApi;
let seller: string;
let buyer: string;
let arbitrator: string;
let nextTg = 200_000;

beforeAll(async () => {
  t = await startTestApi();
  [seller, buyer, arbitrator] = await Promise.all([
    t.signIn(100_001, { username: 'seller' }),
    t.signIn(100_002, { username: 'buyer' }),
    t.signIn(ARBITRATOR_TG),
  ]);
});
afterAll(async () => {
  await t?.close();
});

const freshUser = () => t.signIn(++nextTg);

const createBody = (over: Record<string, unknown> = {}) =>
  newDealBody({ description: 'Blue, 21 gears', ...over });

async function post(path: string, token: string, body: unknown = {}) {
  return t.call('POST', path, { token, body });
}

async function createDeal(token: string, over: Record<string, unknown> = {}) {
  const res = await post('/api/deals', token, createBody(over));
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body;
}

/** A deal the seller created and the buyer joined, not yet accepted by the buyer. */
/** Joined, and the creator has accepted the person who joined: the joiner's acceptance starts it. */
async function joinedDeal(s = seller, b = buyer) {
  const deal = await createDeal(s);
  const joined = await post('/api/deals/join', b, { code: deal.invite.code, address: REFUND });
  expect(joined.status, JSON.stringify(joined.body)).toBe(200);
  const creatorAccepted = await post(`/api/deals/${deal.id}/accept`, s);
  expect(creatorAccepted.status, JSON.stringify(creatorAccepted.body)).toBe(200);
  return joined.body;
}

async function awaitingPayment(s = seller, b = buyer) {
  const deal = await joinedDeal(s, b);
  const accepted = await post(`/api/deals/${deal.id}/accept`, b);
  expect(accepted.status, JSON.stringify(accepted.body)).toBe(200);
  return accepted.body;
}

const systemAct = (id: string, action: DealAction) => t.api.ctx.store.act(id, action, SYSTEM);

const recordFunding = (id: string, confirmed: bigint, confirming = 0n) =>
  systemAct(id, {
    type: 'record_funding',
    funding: confirmed >= PRICE ? 'funded' : confirmed > 0n ? 'partially_paid' : 'unpaid',
    confirmed,
    confirming,
    reviewReasons: [],
  });

async function fundedDeal(s = seller, b = buyer) {
  const deal = await awaitingPayment(s, b);
  await recordFunding(deal.id, PRICE);
  return deal;
}

async function disputedDeal() {
  const deal = await fundedDeal();
  const res = await post(`/api/deals/${deal.id}/dispute`, buyer, { reason: 'The bicycle has no wheels' });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  expect(res.body.state).toBe('disputed');
  return res.body;
}

async function depositIndex(dealId: string): Promise<number> {
  const { rows } = await t.db.pool.query(
    'SELECT derivation_index::int AS i, address FROM deposit_addresses WHERE deal_id = $1',
    [dealId],
  );
  expect(rows).toHaveLength(1);
  return rows[0].i;
}

async function legsOf(dealId: string) {
  const { rows } = await t.db.pool.query(
    'SELECT kind, recipient, amount::text AS amount, status FROM payout_legs WHERE deal_id = $1 ORDER BY kind',
    [dealId],
  );
  return rows;
}

const expectedDepositAddress = (index: number) =>
  mnemonicToAccount(TEST_MNEMONIC, { addressIndex: index }).address;

describe('creating and joining', () => {
  it('a seller creates a draft with an invite, the buyer joins and accepts, and the deal awaits payment at child 0/i', async () => {
    const created = await createDeal(seller);
    expect(created).toMatchObject({
      state: 'draft',
      yourRole: 'seller',
      price: PRICE.toString(),
      amountDue: PRICE.toString(),
      fee: FEE.toString(),
      asset: { chainId: 31337, token: USDT, symbol: 'USDT', decimals: 6 },
      display: { price: '500', amountDue: '500', fee: '5' },
      seller: { address: PAYOUT },
      buyer: null,
      depositAddress: null,
      funding: { status: 'unpaid', confirmed: '0', remaining: PRICE.toString() },
    });
    // Nobody has accepted yet: acceptance comes once the counterparty is known.
    expect(created.seller.acceptedAt).toBeNull();
    const code = created.invite.code;
    expect(code).toMatch(/^[A-HJ-NP-Z2-9]{10}$/);
    expect(created.invite.telegramLink).toMatch(/^https:\/\/t\.me\/amanat_test_bot\/[^/?]+\?startapp=deal_/);
    expect(created.invite.telegramLink.endsWith(`?startapp=deal_${code}`)).toBe(true);
    expect(created.invite.webLink).toBe(`http://app.test/join/${code}`);

    const joined = await post('/api/deals/join', buyer, { code, address: REFUND });
    expect(joined.status).toBe(200);
    expect(joined.body).toMatchObject({
      id: created.id,
      state: 'draft',
      yourRole: 'buyer',
      seller: { acceptedAt: null },
      buyer: { address: REFUND, acceptedAt: null },
    });

    // Nothing starts until both accept: the creator agrees to the person who joined, then the joiner.
    const sellerAccepted = await post(`/api/deals/${created.id}/accept`, seller);
    expect(sellerAccepted.body).toMatchObject({ state: 'draft', depositAddress: null });
    expect(sellerAccepted.body.seller.acceptedAt).not.toBeNull();
    const accepted = await post(`/api/deals/${created.id}/accept`, buyer);
    expect(accepted.status).toBe(200);
    expect(accepted.body.state).toBe('awaiting_payment');
    expect(accepted.body.invite).toBeNull();
    expect(accepted.body.deadlines.payment).not.toBeNull();

    const index = await depositIndex(created.id);
    expect(accepted.body.depositAddress).toBe(expectedDepositAddress(index));

    const watched = await t.redis.redis.sismember(
      redisKeys(t.config.REDIS_PREFIX).watchSet(31337),
      accepted.body.depositAddress.toLowerCase(),
    );
    expect(watched).toBe(1);
  });

  it('a buyer creates a deal and the seller who joins takes the open seller role', async () => {
    const created = await createDeal(buyer, { role: 'buyer', address: REFUND });
    expect(created).toMatchObject({ yourRole: 'buyer', seller: null, buyer: { address: REFUND } });
    const joined = await post('/api/deals/join', seller, { code: created.invite.code, address: PAYOUT });
    expect(joined.status).toBe(200);
    expect(joined.body).toMatchObject({ yourRole: 'seller', seller: { address: PAYOUT } });
    // Here the joiner accepts first; the creator's acceptance then starts the deal.
    expect((await post(`/api/deals/${created.id}/accept`, seller)).body.state).toBe('draft');
    const accepted = await post(`/api/deals/${created.id}/accept`, buyer);
    expect(accepted.status).toBe(200);
    expect(accepted.body.state).toBe('awaiting_payment');
    expect(accepted.body.depositAddress).toBe(expectedDepositAddress(await depositIndex(created.id)));
  });

  it('refuses joins that cannot be: unknown code, the creator, a third person, an accepted deal', async () => {
    const unknown = await post('/api/deals/join', buyer, { code: 'ABCDEFGHJK', address: REFUND });
    expect(unknown.status).toBe(404);
    expect(unknown.body.code).toBe('invite_not_found');

    const created = await createDeal(seller);
    const own = await post('/api/deals/join', seller, { code: created.invite.code, address: REFUND });
    expect(own.status).toBe(409);
    expect(own.body.code).toBe('already_a_party');

    const joined = await post('/api/deals/join', buyer, { code: created.invite.code, address: REFUND });
    const third = await post('/api/deals/join', await freshUser(), {
      code: created.invite.code,
      address: REFUND,
    });
    // Whoever holds the code learns only that it no longer works, not who joined or where the deal is.
    expect(third.status).toBe(409);
    expect(third.body.code).toBe('invite_not_available');
    expect(third.body.details).toBeUndefined();

    // The refused joiner took nothing: the buyer is still the one who joined first.
    const detail = await t.call('GET', `/api/deals/${created.id}`, { token: seller });
    expect(detail.body.buyer.userId).toBe(joined.body.buyer.userId);
  });

  it('allocates a new deposit index to every accepted deal, also when many are accepted at once', async () => {
    const joined = await Promise.all(Array.from({ length: 8 }, () => joinedDeal()));
    const accepted = await Promise.all(joined.map((d) => post(`/api/deals/${d.id}/accept`, buyer)));
    for (const res of accepted) expect(res.status).toBe(200);
    const one = await awaitingPayment();

    const all = [...accepted.map((r) => r.body), one];
    const indexes = await Promise.all(all.map((d) => depositIndex(d.id)));
    expect(new Set(indexes).size).toBe(all.length);
    expect(new Set(all.map((d) => d.depositAddress)).size).toBe(all.length);
    all.forEach((d, i) => {
      expect(d.depositAddress).toBe(expectedDepositAddress(indexes[i] as number));
    });

    const { rows } = await t.db.pool.query(
      'SELECT count(*)::int AS n, count(DISTINCT derivation_index)::int AS distinct_indexes, count(DISTINCT address)::int AS distinct_addresses FROM deposit_addresses',
    );
    expect(rows[0].distinct_indexes).toBe(rows[0].n);
    expect(rows[0].distinct_addresses).toBe(rows[0].n);

    const watchSet = redisKeys(t.config.REDIS_PREFIX).watchSet(31337);
    for (const d of all) {
      expect(await t.redis.redis.sismember(watchSet, d.depositAddress.toLowerCase())).toBe(1);
    }
  });
});

describe('from funding to the payout decision', () => {
  it('funded → delivered (seller) → confirmed (buyer) → releasing with the seller and fee legs', async () => {
    const deal = await fundedDeal();
    const funded = await t.call('GET', `/api/deals/${deal.id}`, { token: seller });
    expect(funded.body).toMatchObject({
      state: 'funded',
      funding: { status: 'funded', confirmed: PRICE.toString(), remaining: '0' },
    });
    expect(funded.body.deadlines.delivery).not.toBeNull();

    const delivered = await post(`/api/deals/${deal.id}/deliver`, seller);
    expect(delivered.status).toBe(200);
    expect(delivered.body.state).toBe('delivered');
    expect(delivered.body.deadlines.inspection).not.toBeNull();

    const confirmed = await post(`/api/deals/${deal.id}/confirm`, buyer);
    expect(confirmed.status).toBe(200);
    expect(confirmed.body.state).toBe('releasing');

    expect(await legsOf(deal.id)).toEqual([
      { kind: 'fee', recipient: null, amount: FEE.toString(), status: 'pending' },
      { kind: 'seller', recipient: PAYOUT, amount: (PRICE - FEE).toString(), status: 'pending' },
    ]);
  });

  it('the buyer may confirm straight from funded', async () => {
    const deal = await fundedDeal();
    const confirmed = await post(`/api/deals/${deal.id}/confirm`, buyer);
    expect(confirmed.status).toBe(200);
    expect(confirmed.body.state).toBe('releasing');
    expect((await legsOf(deal.id)).map((l) => l.kind)).toEqual(['fee', 'seller']);
  });

  it('shows the payments and the funding on GET /api/deals/:id', async () => {
    const deal = await awaitingPayment();
    const payment: PaymentRecord = {
      chainId: 31337,
      txHash: `0x${'ab'.repeat(32)}`,
      logIndex: 3,
      token: USDT,
      from: '0x90F79bf6EB2c4f870365E785982E1f101E93b906',
      to: deal.depositAddress,
      amount: PRICE,
      blockNumber: 1234n,
      blockHash: `0x${'cd'.repeat(32)}`,
      blockTimestamp: new Date(),
      status: 'confirmed',
    };
    await recordPayments(t.api.ctx.store, {
      dealId: deal.id,
      payments: [payment],
      denylist: new Set(),
      isKnownAsset: (ref) => t.api.ctx.registry.findToken(ref) !== undefined,
      actor: SYSTEM,
    });

    const res = await t.call('GET', `/api/deals/${deal.id}`, { token: buyer });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      state: 'funded',
      funding: { status: 'funded', confirmed: PRICE.toString(), confirming: '0', remaining: '0' },
    });
    expect(res.body.payments).toEqual([
      {
        id: expect.any(String),
        chainId: 31337,
        txHash: payment.txHash,
        logIndex: 3,
        token: USDT,
        from: payment.from,
        amount: PRICE.toString(),
        blockNumber: '1234',
        blockTimestamp: payment.blockTimestamp.toISOString(),
        status: 'confirmed',
        classification: 'counted',
        confirmations: null,
      },
    ]);
  });

  it("counts a confirming payment's blocks from the head the chain's scanner last recorded", async () => {
    const deal = await awaitingPayment();
    const payment: PaymentRecord = {
      chainId: 31337,
      txHash: `0x${'ef'.repeat(32)}`,
      logIndex: 0,
      token: USDT,
      from: '0x90F79bf6EB2c4f870365E785982E1f101E93b906',
      to: deal.depositAddress,
      amount: PRICE,
      blockNumber: 5000n,
      blockHash: `0x${'12'.repeat(32)}`,
      blockTimestamp: new Date(),
      status: 'pending',
    };
    await recordPayments(t.api.ctx.store, {
      dealId: deal.id,
      payments: [payment],
      denylist: new Set(),
      isKnownAsset: (ref) => t.api.ctx.registry.findToken(ref) !== undefined,
      actor: SYSTEM,
    });
    const read = async () =>
      (await t.call('GET', `/api/deals/${deal.id}`, { token: buyer })).body.payments[0];

    // No scanner has reported the chain yet: unknown, not zero.
    await t.redis.redis.hdel(redisKeys(t.config.REDIS_PREFIX).scanState(31337), 'head');
    expect(await read()).toMatchObject({ status: 'pending', confirmations: null });
    await t.redis.redis.hset(redisKeys(t.config.REDIS_PREFIX).scanState(31337), 'head', '5002');
    // The read cache keeps a rendered answer for DEAL_READ_CACHE_MS; a later read sees the new head.
    await until('confirmations to reach 3', async () => (await read()).confirmations === 3);
  });
});

describe('disputes', () => {
  it('either party disputes with a reason; both parties and the arbitrator post messages into the log', async () => {
    const deal = await disputedDeal();
    const empty = await post(`/api/deals/${deal.id}/dispute/messages`, seller, { text: '   ' });
    expect(empty.status).toBe(400);

    for (const [token, text] of [
      [buyer, 'Photo attached: no wheels'],
      [seller, 'The wheels ship separately'],
      [arbitrator, 'Seller, send the tracking number'],
    ] as const) {
      const res = await post(`/api/deals/${deal.id}/dispute/messages`, token, { text });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      expect(res.body.state).toBe('disputed');
    }

    const activity = await t.call('GET', `/api/deals/${deal.id}/activity`, { token: arbitrator });
    expect(activity.status).toBe(200);
    const messages = activity.body.entries.filter((e: { action: string }) => e.action === 'dispute_message');
    expect(
      messages.map((e: { actor: { role: string }; facts: { text: string } }) => [e.actor.role, e.facts.text]),
    ).toEqual([
      ['buyer', 'Photo attached: no wheels'],
      ['seller', 'The wheels ship separately'],
      ['arbitrator', 'Seller, send the tracking number'],
    ]);
    const opened = activity.body.entries.find((e: { action: string }) => e.action === 'open_dispute');
    expect(opened.facts.reason).toBe('The bicycle has no wheels');
    expect(activity.body.verification.ok).toBe(true);
  });

  it('a dispute needs a reason, and messages only go to a disputed deal', async () => {
    const deal = await fundedDeal();
    const noReason = await post(`/api/deals/${deal.id}/dispute`, buyer, {});
    expect(noReason.status).toBe(400);
    expect(noReason.body.code).toBe('validation_failed');
    const early = await post(`/api/deals/${deal.id}/dispute/messages`, buyer, { text: 'hello' });
    expect(early.status).toBe(409);
    expect(early.body.code).toBe('action_not_allowed_in_state');
  });

  it('the arbitrator resolves with release', async () => {
    const deal = await disputedDeal();
    const res = await post(`/api/deals/${deal.id}/resolve`, arbitrator, { outcome: 'release', note: 'ok' });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body).toMatchObject({ state: 'releasing', yourRole: 'arbitrator' });
    expect(await legsOf(deal.id)).toEqual([
      { kind: 'fee', recipient: null, amount: FEE.toString(), status: 'pending' },
      { kind: 'seller', recipient: PAYOUT, amount: (PRICE - FEE).toString(), status: 'pending' },
    ]);
  });

  it('the arbitrator resolves with refund: everything back to the buyer', async () => {
    const deal = await disputedDeal();
    const res = await post(`/api/deals/${deal.id}/resolve`, arbitrator, { outcome: 'refund' });
    expect(res.status).toBe(200);
    expect(res.body.state).toBe('refunding');
    expect(await legsOf(deal.id)).toEqual([
      { kind: 'buyer_refund', recipient: REFUND, amount: PRICE.toString(), status: 'pending' },
    ]);
  });

  it('the arbitrator resolves with a split in base units; the fee comes from the seller share', async () => {
    const deal = await disputedDeal();
    const tooMuch = await post(`/api/deals/${deal.id}/resolve`, arbitrator, {
      outcome: 'split',
      buyerAmount: (PRICE + 1n).toString(),
    });
    expect(tooMuch.status).toBe(422);
    expect(tooMuch.body.code).toBe('split_out_of_range');
    const decimal = await post(`/api/deals/${deal.id}/resolve`, arbitrator, {
      outcome: 'split',
      buyerAmount: '200.5',
    });
    expect(decimal.status).toBe(400);

    const res = await post(`/api/deals/${deal.id}/resolve`, arbitrator, {
      outcome: 'split',
      buyerAmount: '200000000',
    });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.state).toBe('splitting');
    // Seller share 300 USDT, 1% fee of it = 3 USDT.
    expect(await legsOf(deal.id)).toEqual([
      { kind: 'buyer_share', recipient: REFUND, amount: '200000000', status: 'pending' },
      { kind: 'fee', recipient: null, amount: '3000000', status: 'pending' },
      { kind: 'seller', recipient: PAYOUT, amount: '297000000', status: 'pending' },
    ]);
    const again = await post(`/api/deals/${deal.id}/resolve`, arbitrator, { outcome: 'refund' });
    expect(again.status).toBe(409);
    expect(again.body.code).toBe('action_not_allowed_in_state');
  });
});

describe('racing actions', () => {
  it('two people joining at once: exactly one becomes the buyer', async () => {
    const deal = await createDeal(seller);
    const [a, b] = await Promise.all([freshUser(), freshUser()]);
    const answers = await Promise.all(
      [a, b].map((token) => post('/api/deals/join', token, { code: deal.invite.code, address: REFUND })),
    );
    expect(answers.map((r) => r.status).sort()).toEqual([200, 409]);
    expect(answers.find((r) => r.status === 409)?.body.code).toBe('invite_not_available');
    const winner = answers.find((r) => r.status === 200)?.body.buyer.userId;
    expect((await t.call('GET', `/api/deals/${deal.id}`, { token: seller })).body.buyer.userId).toBe(winner);
  });

  it('the seller cancelling while the buyer confirms: one wins, and only its payout is decided', async () => {
    const deal = await fundedDeal();
    const [cancel, confirm] = await Promise.all([
      post(`/api/deals/${deal.id}/cancel`, seller, {}),
      post(`/api/deals/${deal.id}/confirm`, buyer),
    ]);
    expect([cancel.status, confirm.status].sort()).toEqual([200, 409]);
    const final = await t.call('GET', `/api/deals/${deal.id}`, { token: seller });
    const legs = (await legsOf(deal.id)).map((l) => l.kind);
    if (cancel.status === 200) {
      expect(final.body.state).toBe('refunding');
      expect(legs).toEqual(['buyer_refund']);
    } else {
      expect(final.body.state).toBe('releasing');
      expect(legs).toEqual(['fee', 'seller']);
    }
  });
});

describe('cancelling', () => {
  it('a draft is cancelled by its creator', async () => {
    const deal = await createDeal(seller);
    const res = await post(`/api/deals/${deal.id}/cancel`, seller, { reason: 'sold elsewhere' });
    expect(res.status).toBe(200);
    expect(res.body.state).toBe('cancelled');
    const join = await post('/api/deals/join', buyer, { code: deal.invite.code, address: REFUND });
    expect(join.status).toBe(409);
  });

  it('a deal awaiting payment is cancelled freely while nothing arrived', async () => {
    const deal = await awaitingPayment();
    const res = await post(`/api/deals/${deal.id}/cancel`, buyer, {});
    expect(res.status).toBe(200);
    expect(res.body.state).toBe('cancelled');
    expect(await legsOf(deal.id)).toEqual([]);
  });

  it('once money is on its way, a deal awaiting payment can no longer be cancelled', async () => {
    const deal = await awaitingPayment();
    await recordFunding(deal.id, 0n, 10_000_000n);
    const res = await post(`/api/deals/${deal.id}/cancel`, seller, {});
    expect(res.status).toBe(409);
    expect(res.body.code).toBe('payment_already_received');
  });

  it('a funded deal: the seller may back out (buyer refunded); the buyer not before the delivery deadline', async () => {
    const deal = await fundedDeal();
    const byBuyer = await post(`/api/deals/${deal.id}/cancel`, buyer, {});
    expect(byBuyer.status).toBe(409);
    expect(byBuyer.body.code).toBe('delivery_deadline_not_passed');

    const bySeller = await post(`/api/deals/${deal.id}/cancel`, seller, { reason: 'out of stock' });
    expect(bySeller.status).toBe(200);
    expect(bySeller.body.state).toBe('refunding');
    expect(await legsOf(deal.id)).toEqual([
      { kind: 'buyer_refund', recipient: REFUND, amount: PRICE.toString(), status: 'pending' },
    ]);
  });
});

describe('addresses', () => {
  it('a party changes their own address before money arrives, and not after', async () => {
    const deal = await awaitingPayment();
    const changed = await post(`/api/deals/${deal.id}/address`, seller, {
      address: NEW_PAYOUT.toLowerCase(),
    });
    expect(changed.status).toBe(200);
    // Stored in its EIP-55 form, and only the caller's own address changed.
    expect(changed.body.seller.address).toBe(NEW_PAYOUT);
    expect(changed.body.buyer.address).toBe(REFUND);

    await recordFunding(deal.id, 0n, 1_000_000n);
    const frozen = await post(`/api/deals/${deal.id}/address`, seller, { address: PAYOUT });
    expect(frozen.status).toBe(409);
    expect(frozen.body.code).toBe('payment_already_received');

    await recordFunding(deal.id, PRICE);
    const funded = await post(`/api/deals/${deal.id}/address`, buyer, { address: PAYOUT });
    expect(funded.status).toBe(409);

    const confirmed = await post(`/api/deals/${deal.id}/confirm`, buyer);
    expect(confirmed.status).toBe(200);
    expect((await legsOf(deal.id)).find((l) => l.kind === 'seller')?.recipient).toBe(NEW_PAYOUT);
  });
});

describe('listing', () => {
  it('walks every page of a cursor listing with no duplicates and nothing missing, also with ties', async () => {
    const me = await freshUser();
    // Created at once, so several share a creation instant and the cursor's tie-break on id matters.
    const created = await Promise.all(
      Array.from({ length: 23 }, (_, i) => createDeal(me, { title: `Deal ${i}` })),
    );
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const query: string = `?limit=5${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
      const page = await t.call('GET', `/api/deals${query}`, { token: me });
      expect(page.status).toBe(200);
      expect(page.body.deals.length).toBeLessThanOrEqual(5);
      seen.push(...page.body.deals.map((d: { id: string }) => d.id));
      cursor = page.body.nextCursor;
      pages++;
      expect(pages).toBeLessThan(10);
    } while (cursor);
    expect(pages).toBe(5);
    expect(seen).toHaveLength(23);
    expect(new Set(seen)).toEqual(new Set(created.map((d) => d.id)));
  });

  it('lists newest first and filters by status', async () => {
    const me = await freshUser();
    const other = await freshUser();
    const draft = await createDeal(me);
    const waiting = await joinedDeal(me, other);
    await post(`/api/deals/${waiting.id}/accept`, other);
    const cancelled = await createDeal(me);
    await post(`/api/deals/${cancelled.id}/cancel`, me, {});

    const all = await t.call('GET', '/api/deals', { token: me });
    expect(all.body.deals.map((d: { id: string }) => d.id)).toEqual([cancelled.id, waiting.id, draft.id]);
    expect(all.body.nextCursor).toBeNull();

    const drafts = await t.call('GET', '/api/deals?status=draft', { token: me });
    expect(drafts.body.deals.map((d: { id: string }) => d.id)).toEqual([draft.id]);

    const two = await t.call('GET', '/api/deals?status=awaiting_payment,cancelled', { token: me });
    expect(two.body.deals.map((d: { id: string }) => d.id)).toEqual([cancelled.id, waiting.id]);

    // The counterparty sees the shared deal, as buyer.
    const theirs = await t.call('GET', '/api/deals', { token: other });
    expect(theirs.body.deals.map((d: { id: string; yourRole: string }) => [d.id, d.yourRole])).toEqual([
      [waiting.id, 'buyer'],
    ]);

    const bad = await t.call('GET', '/api/deals?status=draft,nonsense', { token: me });
    expect(bad.status).toBe(400);
    const badCursor = await t.call('GET', '/api/deals?cursor=not-a-cursor', { token: me });
    expect(badCursor.status).toBe(400);
    expect(badCursor.body.code).toBe('cursor_invalid');
  });
});

describe('activity', () => {
  it('returns the hash chain of every step and verifies it', async () => {
    const deal = await fundedDeal();
    await post(`/api/deals/${deal.id}/deliver`, seller);
    await post(`/api/deals/${deal.id}/confirm`, buyer);

    const res = await t.call('GET', `/api/deals/${deal.id}/activity`, { token: buyer });
    expect(res.status).toBe(200);
    const entries = res.body.entries;
    expect(entries.map((e: { action: string }) => e.action)).toEqual([
      'create',
      'join',
      'accept',
      'accept',
      'record_funding',
      'mark_delivered',
      'confirm_receipt',
    ]);
    expect(entries.map((e: { seq: number }) => e.seq)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    for (let i = 1; i < entries.length; i++) expect(entries[i].prevHash).toBe(entries[i - 1].hash);
    // The second acceptance starts the deal and names its deposit address.
    expect(entries[3].facts.depositAddress).toBe(deal.depositAddress);
    expect(entries.at(-1).stateAfter).toBe('releasing');
    expect(res.body.verification).toEqual({ ok: true, problems: [] });
  });
});
