import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../../devstack/testing.ts';
import { DealStore } from '../deals/store.ts';
import { awaitingPaymentDeal, SELLER_ADDRESS } from '../deals/test-fixtures.ts';
import {
  clearDrift,
  depositLedgers,
  driftKey,
  reconcileTargetsPage,
  recordAttemptGas,
  reportedDrifts,
  saveDrift,
  unmeasuredAttempts,
} from './ledger.ts';
import { insertGasTopup, insertPayoutAttempt } from './store.ts';

let db: TestDatabase;
let store: DealStore;
const TOKEN = '0x5FbDB2315678afecb367f032d93F642f64180aa3';
const token = TOKEN.toLowerCase();
const hex = (bytes: number) => `0x${randomBytes(bytes).toString('hex')}` as `0x${string}`;

beforeAll(async () => {
  db = await createTestDatabase();
  store = new DealStore({ pool: db.pool });
});
afterAll(async () => {
  await db?.close();
});

async function depositDeal(): Promise<{ dealId: string; address: string }> {
  const address = hex(20);
  const { deal } = await awaitingPaymentDeal(store, db.pool, () => address);
  return { dealId: deal.id, address };
}

async function payment(dealId: string, to: string, tok: string, amount: bigint, status: string) {
  await db.pool.query(
    `INSERT INTO payments (chain_id, tx_hash, log_index, deal_id, token, from_address, to_address, amount,
       block_number, block_hash, block_timestamp, status, classification)
     VALUES (31337, $1, 0, $2, $3, $4, $5, $6, 1, $1, now(), $7, 'late')`,
    [hex(32), dealId, tok, SELLER_ADDRESS, to, amount.toString(), status],
  );
}

async function leg(dealId: string, kind: string, tok: string, amount: bigint, status: string) {
  const { rows } = await db.pool.query(
    `INSERT INTO payout_legs (deal_id, cause, kind, chain_id, token, recipient, amount, status, failure)
     VALUES ($1, '5', $2, 31337, $3, $4, $5, $6, CASE WHEN $6 = 'failed' THEN 'x' END) RETURNING id`,
    [dealId, kind, tok, kind === 'fee' ? null : SELLER_ADDRESS, amount.toString(), status],
  );
  return BigInt(rows[0].id);
}

let nonce = 0n;
async function attempt(legId: bigint, from: string, status: string, gasLimit: bigint, maxFee: bigint) {
  const a = await insertPayoutAttempt(db.pool, {
    record: { table: 'payout_legs', id: legId },
    chainId: 31337,
    from,
    nonce: nonce++,
    txHash: hex(32),
    rawTx: '0x02',
    gasLimit,
    maxFeePerGas: maxFee,
    maxPriorityFeePerGas: 1n,
  });
  await db.pool.query('UPDATE payout_attempts SET status = $2 WHERE id = $1', [a.id.toString(), status]);
  return a;
}

describe('depositLedgers', () => {
  it('sums what is settled and reports what is in flight apart, per chain and token', async () => {
    const { dealId, address } = await depositDeal();
    await payment(dealId, address, TOKEN, 100n, 'confirmed');
    await payment(dealId, address, TOKEN, 7n, 'pending');
    await payment(dealId, address, TOKEN, 1000n, 'reorged');
    await payment(dealId, address, 'native', 50_000n, 'confirmed');
    await leg(dealId, 'seller', TOKEN, 60n, 'confirmed');
    const broadcast = await leg(dealId, 'fee', TOKEN, 3n, 'broadcast');
    // Failed with a transaction the node refused that may still go through once funded: in flight.
    const refused = await leg(dealId, 'buyer_excess', TOKEN, 11n, 'failed');
    // Failed with nothing signed, or still pending: none of it has left.
    await leg(dealId, 'buyer_refund', TOKEN, 13n, 'failed');
    await leg(dealId, 'buyer_share', TOKEN, 17n, 'pending');
    const topup = await insertGasTopup(db.pool, {
      dealId,
      cause: '5',
      chainId: 31337,
      address,
      amount: 20_000n,
    });
    await db.pool.query(`UPDATE gas_topups SET status = 'confirmed' WHERE id = $1`, [topup.id.toString()]);

    const [sellerLeg] = (
      await db.pool.query(`SELECT id FROM payout_legs WHERE deal_id = $1 AND kind = 'seller'`, [dealId])
    ).rows;
    const mined = await attempt(BigInt(sellerLeg.id), address, 'mined', 100n, 10n);
    await recordAttemptGas(db.pool, mined.id, { gasUsed: 40n, effectiveGasPrice: 5n });
    await recordAttemptGas(db.pool, mined.id, { gasUsed: 1n, effectiveGasPrice: 1n }); // the first stays
    const unmeasured = await attempt(broadcast, address, 'mined', 100n, 2n);
    await attempt(refused, address, 'signed', 10n, 3n);
    await attempt(broadcast, address, 'replaced', 1000n, 1000n);

    expect(await unmeasuredAttempts(db.pool, [dealId])).toEqual([
      { id: unmeasured.id, chainId: 31337, txHash: unmeasured.txHash },
    ]);
    const ledgers = await depositLedgers(db.pool, [dealId]);
    const byToken = new Map((ledgers.get(dealId) ?? []).map((l) => [l.token, l]));
    expect(byToken.get(token)).toEqual({
      chainId: 31337,
      token,
      expected: 100n - 60n,
      inFlightIn: 7n,
      inFlightOut: 3n + 11n,
    });
    expect(byToken.get('native')).toEqual({
      chainId: 31337,
      token: 'native',
      // payment + top-up − measured gas
      expected: 50_000n + 20_000n - 40n * 5n,
      inFlightIn: 0n,
      // mined but unmeasured (limit × max fee) + signed, never the replaced one
      inFlightOut: 100n * 2n + 10n * 3n,
    });
    expect(ledgers.size).toBe(1);
  });

  it('gives an empty ledger to a deal nothing was recorded for', async () => {
    const { dealId } = await depositDeal();
    expect(await depositLedgers(db.pool, [dealId])).toEqual(new Map([[dealId, []]]));
    expect(await depositLedgers(db.pool, [])).toEqual(new Map());
  });
});

describe('reconcileTargetsPage', () => {
  const settle = (dealId: string, ago = '30 days') =>
    db.pool.query(`UPDATE deals SET state = 'released', updated_at = now() - $2::interval WHERE id = $1`, [
      dealId,
      ago,
    ]);
  const all = async (recentSince: Date, limit = 2) => {
    const seen: string[] = [];
    let afterIndex = -1n;
    for (;;) {
      const page = await reconcileTargetsPage(db.pool, { afterIndex, limit, recentSince });
      seen.push(...page.map((t) => t.dealId));
      if (page.length < limit) return seen;
      afterIndex = page[page.length - 1]?.derivationIndex ?? afterIndex;
    }
  };

  it('pages through deals that may still hold or owe money, and recently settled ones', async () => {
    const open = await depositDeal();
    const old = await depositDeal();
    const owing = await depositDeal();
    const drifted = await depositDeal();
    const recent = await depositDeal();
    await settle(old.dealId);
    await settle(owing.dealId);
    await leg(owing.dealId, 'seller', TOKEN, 5n, 'failed');
    await settle(drifted.dealId);
    await saveDrift(db.pool, {
      dealId: drifted.dealId,
      chainId: 31337,
      token: 'native',
      onchain: 1n,
      ledger: 0n,
    });
    await settle(recent.dealId, '1 hour');

    const week = new Date(Date.now() - 7 * 86_400_000);
    const seen = await all(week);
    expect(seen).toEqual(expect.arrayContaining([open.dealId, owing.dealId, drifted.dealId, recent.dealId]));
    expect(seen).not.toContain(old.dealId);
    expect(new Set(seen).size).toBe(seen.length);
    // A shorter "recent" window leaves the recently settled deal out.
    expect(await all(new Date())).not.toContain(recent.dealId);
  });
});

describe('balance drifts', () => {
  it('remembers the last reported drift per asset and forgets it once cleared', async () => {
    const { dealId } = await depositDeal();
    const first = { dealId, chainId: 31337, token: TOKEN, onchain: 5n, ledger: 9n };
    await saveDrift(db.pool, first);
    const [seen] = [...(await reportedDrifts(db.pool, [dealId])).values()];
    expect(seen).toEqual({ ...first, token, flagged: false, seenAt: expect.any(Date) });
    // The same difference (4 − 8 = 5 − 9) keeps when it was first seen; another one starts again.
    await saveDrift(db.pool, { ...first, onchain: 4n, ledger: 8n, flagged: true });
    const reported = await reportedDrifts(db.pool, [dealId]);
    expect([...reported.values()]).toEqual([
      { ...first, token, onchain: 4n, ledger: 8n, flagged: true, seenAt: seen?.seenAt },
    ]);
    await db.pool.query(
      `UPDATE balance_drifts SET reported_at = now() - interval '1 hour' WHERE deal_id = $1`,
      [dealId],
    );
    await saveDrift(db.pool, { ...first, onchain: 1n });
    const changed = [...(await reportedDrifts(db.pool, [dealId])).values()][0];
    expect(Date.now() - (changed?.seenAt?.getTime() ?? 0)).toBeLessThan(30 * 60_000);
    expect(reported.get(driftKey({ dealId, chainId: 31337, token: TOKEN }))).toBeDefined();
    await clearDrift(db.pool, first);
    expect((await reportedDrifts(db.pool, [dealId])).size).toBe(0);
  });
});
