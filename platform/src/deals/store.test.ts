import { DomainError, verifyChain } from '@amanat/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../../devstack/testing.ts';
import { recordPayments } from '../payments.ts';
import { readActivity } from './activity.ts';
import { DealStore } from './store.ts';
import {
  awaitingPaymentDeal,
  BUYER_ADDRESS,
  makeParties,
  newDealInput,
  SELLER_ADDRESS,
} from './test-fixtures.ts';

let db: TestDatabase;
let store: DealStore;
beforeAll(async () => {
  db = await createTestDatabase({ max: 60 });
  store = new DealStore({ pool: db.pool });
});
afterAll(() => db.close());

const system = { kind: 'system', component: 'test' } as const;
const payment = (
  to: string,
  amount: bigint,
  status: 'pending' | 'confirmed' | 'reorged' = 'confirmed',
  logIndex = 0,
) => ({
  chainId: 31337,
  txHash: `0x${'1'.repeat(63)}${logIndex}` as `0x${string}`,
  logIndex,
  token: '0x5FbDB2315678afecb367f032d93F642f64180aa3' as const,
  from: BUYER_ADDRESS as `0x${string}`,
  to: to as `0x${string}`,
  amount,
  blockNumber: 10n,
  blockHash: `0x${'a'.repeat(64)}` as `0x${string}`,
  blockTimestamp: new Date(),
  status,
});
const known = () => true;

const outboxOf = async (dealId: string) =>
  (
    await db.pool.query(
      `SELECT kind, target, name, job_id, payload FROM outbox WHERE payload->>'dealId' = $1 ORDER BY id`,
      [dealId],
    )
  ).rows;

describe('DealStore', () => {
  it('creates a draft with its creator, an activity entry and an event in the outbox', async () => {
    const { seller } = await makeParties(db.pool);
    const { deal, entry } = await store.create(newDealInput(seller.id));
    expect(deal.state).toBe('draft');
    expect(deal.seller).toMatchObject({ userId: seller.id, address: SELLER_ADDRESS });
    expect(deal.quote).toEqual({
      price: 100_000_000n,
      fee: 1_000_000n,
      sellerFee: 1_000_000n,
      buyerFee: 0n,
      amountDue: 100_000_000n,
    });
    expect(entry).toMatchObject({ seq: 1, action: 'create', stateAfter: 'draft' });
    expect(deal.inviteCode).toMatch(/^[A-Z2-9]{10}$/);
    const outbox = await outboxOf(deal.id);
    expect(outbox.map((r) => [r.kind, r.target])).toEqual([['deal_event', 'deal-events']]);
    expect(outbox[0]?.payload).toMatchObject({ dealId: deal.id, action: 'create', audience: [seller.id] });
    expect(await store.get(deal.id)).toEqual(deal);
  });

  it('runs a deal from invite to release, allocating a deposit address and recording payout legs', async () => {
    const derived: bigint[] = [];
    const derive = (i: bigint) => {
      derived.push(i);
      return `0x${i.toString(16).padStart(40, '0')}`;
    };
    const { deal, asSeller, asBuyer, buyer } = await awaitingPaymentDeal(store, db.pool, derive);
    expect(deal.state).toBe('awaiting_payment');
    expect(deal.buyer).toMatchObject({ userId: buyer.id, address: BUYER_ADDRESS });
    expect(deal.deposit?.index).toBe(derived[0]);
    expect(deal.deadlines.payment).not.toBeNull();

    const paid = await recordPayments(store, {
      dealId: deal.id,
      payments: [payment(deal.deposit?.address as string, 100_000_000n)],
      denylist: new Set(),
      isKnownAsset: known,
      actor: system,
    });
    expect(paid.transition?.deal.state).toBe('funded');
    const replay = await recordPayments(store, {
      dealId: deal.id,
      payments: [payment(deal.deposit?.address as string, 100_000_000n)],
      denylist: new Set(),
      isKnownAsset: known,
      actor: system,
    });
    expect(replay.changed).toEqual([]);
    expect(replay.transition).toBeNull();

    await store.act(deal.id, { type: 'mark_delivered' }, asSeller);
    const released = await store.act(deal.id, { type: 'confirm_receipt' }, asBuyer);
    expect(released.deal.state).toBe('releasing');
    expect(released.payoutLegs).toEqual([
      { kind: 'seller', amount: 99_000_000n },
      { kind: 'fee', amount: 1_000_000n },
    ]);
    const { rows: legs } = await db.pool.query(
      'SELECT kind, recipient, amount, status FROM payout_legs WHERE deal_id = $1 ORDER BY kind',
      [deal.id],
    );
    expect(legs).toEqual([
      { kind: 'fee', recipient: null, amount: '1000000', status: 'pending' },
      { kind: 'seller', recipient: SELLER_ADDRESS, amount: '99000000', status: 'pending' },
    ]);
    const jobs = (await outboxOf(deal.id)).filter((r) => r.kind === 'job').map((r) => r.target);
    expect(jobs).toContain('payouts');
    expect(jobs).toContain('deadlines');

    const log = await readActivity(db.pool, deal.id);
    expect(log.map((e) => e.action)).toEqual([
      'create',
      'join',
      'accept',
      'accept',
      'record_funding',
      'mark_delivered',
      'confirm_receipt',
    ]);
    expect(verifyChain(deal.id, log)).toMatchObject({ ok: true, count: 7 });
  });

  it('refuses a wrong actor or a stale version and changes nothing', async () => {
    const { deal, asSeller } = await awaitingPaymentDeal(store, db.pool);
    const before = await store.get(deal.id);
    await expect(store.act(deal.id, { type: 'confirm_receipt' }, asSeller)).rejects.toMatchObject({
      code: 'actor_not_permitted',
    });
    await expect(
      store.act(deal.id, { type: 'cancel' }, asSeller, { expectedVersion: deal.version - 1 }),
    ).rejects.toMatchObject({ code: 'version_conflict' });
    expect(await store.get(deal.id)).toEqual(before);
    expect((await readActivity(db.pool, deal.id)).length).toBe(before?.logSeq);
  });

  it('50 concurrent conflicting actions: exactly one wins, the rest get a conflict, the log verifies', async () => {
    const { deal, asSeller, asBuyer } = await awaitingPaymentDeal(store, db.pool);
    await recordPayments(store, {
      dealId: deal.id,
      payments: [payment(`0x${'9'.repeat(40)}`, 100_000_000n, 'confirmed', 5)],
      denylist: new Set(),
      isKnownAsset: known,
      actor: system,
    });
    await store.act(deal.id, { type: 'mark_delivered' }, asSeller);
    const attempts = Array.from({ length: 50 }, (_, i) =>
      i % 2 === 0
        ? store.act(deal.id, { type: 'confirm_receipt' }, asBuyer)
        : store.act(
            deal.id,
            { type: 'open_dispute', reason: `dispute ${i}` },
            i % 4 === 1 ? asBuyer : asSeller,
          ),
    );
    const results = await Promise.allSettled(attempts);
    const won = results.filter((r) => r.status === 'fulfilled');
    const lost = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(won).toHaveLength(1);
    expect(lost).toHaveLength(49);
    for (const r of lost) {
      expect(r.reason).toBeInstanceOf(DomainError);
      expect(r.reason.code).toBe('action_not_allowed_in_state');
    }
    const after = await store.get(deal.id);
    expect(['releasing', 'disputed']).toContain(after?.state);
    const log = await readActivity(db.pool, deal.id);
    expect(verifyChain(deal.id, log).ok).toBe(true);
    expect(log.at(-1)?.stateAfter).toBe(after?.state);
    const { rows } = await db.pool.query('SELECT count(*)::int AS n FROM payout_legs WHERE deal_id = $1', [
      deal.id,
    ]);
    expect(rows[0].n).toBe(after?.state === 'releasing' ? 2 : 0);
  });

  it('deposit indexes are allocated atomically and never reused, even across rolled back transactions', async () => {
    const made = await Promise.all(
      Array.from({ length: 12 }, () =>
        awaitingPaymentDeal(store, db.pool, (i) => `0x${(0xabc000n + i).toString(16).padStart(40, '0')}`),
      ),
    );
    const indexes = made.map((m) => m.deal.deposit?.index);
    expect(new Set(indexes).size).toBe(12);
    // A failing derivation rolls back its transaction; the index it took is skipped, not handed out again.
    const { deal, asBuyer } = await (async () => {
      const p = await makeParties(db.pool);
      const { deal } = await store.create(newDealInput(p.seller.id));
      await store.act(deal.id, { type: 'join', role: 'buyer' }, p.asBuyer, { partyAddress: BUYER_ADDRESS });
      await store.act(deal.id, { type: 'accept' }, p.asSeller);
      return { deal, asBuyer: p.asBuyer };
    })();
    await expect(
      store.act(deal.id, { type: 'accept' }, asBuyer, {
        deriveDepositAddress: () => {
          throw new Error('xpub unavailable');
        },
      }),
    ).rejects.toThrow('xpub unavailable');
    expect((await store.get(deal.id))?.state).toBe('draft');
    const ok = await store.act(deal.id, { type: 'accept' }, asBuyer, {
      deriveDepositAddress: (i) => `0x${(0xdef000n + i).toString(16).padStart(40, '0')}`,
    });
    expect(indexes).not.toContain(ok.deal.deposit?.index);
  });

  it('the activity log is append-only in the database itself', async () => {
    const { deal } = await awaitingPaymentDeal(store, db.pool);
    await expect(
      db.pool.query('UPDATE activity_log SET action = $2 WHERE deal_id = $1', [deal.id, 'x']),
    ).rejects.toThrow(/append-only/);
    await expect(db.pool.query('DELETE FROM activity_log WHERE deal_id = $1', [deal.id])).rejects.toThrow(
      /append-only/,
    );
  });

  it('concurrent and duplicated payment reports for one deal: every log counted exactly once', async () => {
    const { deal } = await awaitingPaymentDeal(store, db.pool);
    const to = `0x${'8'.repeat(40)}`;
    const base = { dealId: deal.id, denylist: new Set<string>(), isKnownAsset: known, actor: system };
    // Ten top-ups of 10 USDT, each reported five times at once, some still pending, in random order.
    const reports = Array.from({ length: 10 }, (_, i) => {
      const txHash = `0x${'c'.repeat(62)}${10 + i}` as `0x${string}`;
      const pending = { ...payment(to, 10_000_000n, 'pending', 100 + i), txHash };
      const confirmed = { ...pending, status: 'confirmed' as const };
      return [pending, confirmed, confirmed, confirmed, confirmed];
    }).flat();
    reports.sort(() => Math.random() - 0.5);
    // Out of order too: a "detected" arriving after "confirmed" must not step the payment back.
    await Promise.all(reports.map((p) => recordPayments(store, { ...base, payments: [p] })));
    const after = await store.get(deal.id);
    expect(after).toMatchObject({ state: 'funded', funding: 'funded', confirmedAmount: 100_000_000n });
    const { rows } = await db.pool.query(
      `SELECT count(*)::int AS n, sum(amount)::text AS total FROM payments WHERE deal_id = $1 AND status = 'confirmed'`,
      [deal.id],
    );
    expect(rows[0]).toEqual({ n: 10, total: '100000000' });
    expect(verifyChain(deal.id, await readActivity(db.pool, deal.id)).ok).toBe(true);
    const replay = await recordPayments(store, { ...base, payments: reports });
    expect(replay.transition).toBeNull();
  });

  it('money that arrives after a deal stopped receiving is late: recorded, flagged, never counted', async () => {
    const { deal, asBuyer } = await awaitingPaymentDeal(store, db.pool);
    const cancelled = await store.act(deal.id, { type: 'cancel' }, asBuyer);
    expect(cancelled.deal.closedAt).not.toBeNull();
    const late = {
      ...payment(`0x${'5'.repeat(40)}`, 100_000_000n, 'confirmed', 31),
      blockTimestamp: new Date(Date.now() + 1000),
    };
    const base = { dealId: deal.id, denylist: new Set<string>(), isKnownAsset: known, actor: system };
    const r = await recordPayments(store, { ...base, payments: [late] });
    expect(r.transition?.deal).toMatchObject({
      state: 'cancelled',
      funding: 'unpaid',
      confirmedAmount: 0n,
      needsReview: true,
      reviewReasons: ['late_payment'],
    });
    // Cleared by an operator, the same report does not flag the deal again.
    const op = { kind: 'user', userId: deal.createdBy, role: 'operator' } as const;
    await store.act(deal.id, { type: 'clear_review', note: 'refund arranged with the sender' }, op);
    expect((await recordPayments(store, { ...base, payments: [late] })).transition).toBeNull();
    expect((await store.get(deal.id))?.needsReview).toBe(false);
  });

  it('a month-long delivery period schedules its deadline by due time; clearing a review re-arms deadlines', async () => {
    const month = 30 * 24 * 3600;
    const p = await makeParties(db.pool);
    const { deal } = await store.create(
      newDealInput(p.seller.id, {
        periods: { paymentWindowSec: month, deliveryPeriodSec: month, inspectionPeriodSec: month },
      }),
    );
    await store.act(deal.id, { type: 'join', role: 'buyer' }, p.asBuyer, { partyAddress: BUYER_ADDRESS });
    await store.act(deal.id, { type: 'accept' }, p.asSeller);
    await store.act(deal.id, { type: 'accept' }, p.asBuyer);
    const funded = await recordPayments(store, {
      dealId: deal.id,
      payments: [payment(`0x${'6'.repeat(40)}`, 100_000_000n, 'confirmed', 41)],
      denylist: new Set(),
      isKnownAsset: known,
      actor: system,
    });
    const delivery = funded.transition?.deal.deadlines.delivery as Date;
    expect(delivery.getTime() - Date.now()).toBeGreaterThan((month - 60) * 1000);
    const deadlineRows = async () =>
      (
        await db.pool.query(
          `SELECT name, run_at FROM outbox WHERE target = 'deadlines' AND payload->>'dealId' = $1 ORDER BY id`,
          [deal.id],
        )
      ).rows;
    expect((await deadlineRows()).map((r) => [r.name, r.run_at.getTime()])).toContainEqual([
      'delivery-deadline',
      delivery.getTime(),
    ]);
    const before = (await deadlineRows()).length;
    const op = { kind: 'user', userId: deal.createdBy, role: 'operator' } as const;
    await store.act(deal.id, { type: 'flag_review', reason: 'manual check' }, op);
    await store.act(deal.id, { type: 'clear_review', note: 'checked' }, op);
    const rearmed = (await deadlineRows()).slice(before).map((r) => r.name);
    expect(rearmed).toEqual(['delivery-deadline']);
  });

  it('a party cannot accept without the address its money would go to', async () => {
    const p = await makeParties(db.pool);
    const { deal } = await store.create(newDealInput(p.seller.id));
    await store.act(deal.id, { type: 'join', role: 'buyer' }, p.asBuyer);
    await expect(store.act(deal.id, { type: 'accept' }, p.asBuyer)).rejects.toMatchObject({
      code: 'address_required',
    });
    // And the database refuses a payout leg without a recipient whatever the code does.
    await expect(
      db.pool.query(
        `INSERT INTO payout_legs (deal_id, cause, kind, chain_id, token, recipient, amount) VALUES ($1, 'x', 'seller', 1, 'native', NULL, 1)`,
        [deal.id],
      ),
    ).rejects.toThrow(/check constraint/);
  });

  it('a reorg after delivery keeps the state, flags review and blocks release', async () => {
    const { deal, asSeller, asBuyer } = await awaitingPaymentDeal(store, db.pool);
    const to = `0x${'7'.repeat(40)}`;
    const base = { dealId: deal.id, denylist: new Set<string>(), isKnownAsset: known, actor: system };
    await recordPayments(store, { ...base, payments: [payment(to, 100_000_000n, 'confirmed', 7)] });
    await store.act(deal.id, { type: 'mark_delivered' }, asSeller);
    const reorged = await recordPayments(store, {
      ...base,
      payments: [payment(to, 100_000_000n, 'reorged', 7)],
    });
    expect(reorged.transition?.deal).toMatchObject({
      state: 'delivered',
      needsReview: true,
      funding: 'unpaid',
    });
    await expect(store.act(deal.id, { type: 'confirm_receipt' }, asBuyer)).rejects.toMatchObject({
      code: 'deal_needs_review',
    });
  });
});
