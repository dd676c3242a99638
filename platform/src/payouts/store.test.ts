import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../../devstack/testing.ts';
import { withTransaction } from '../db.ts';
import { DealStore } from '../deals/store.ts';
import { makeParties, newDealInput, SELLER_ADDRESS } from '../deals/test-fixtures.ts';
import {
  allocateNonce,
  attemptsOf,
  gasTopupOf,
  insertGasTopup,
  insertPayoutAttempt,
  liveAttempt,
  lockPayoutRecord,
  markAttemptBroadcast,
  markConfirmed,
  markFailed,
  type NewPayoutAttempt,
  type PayoutRecordRef,
  payoutLegsOf,
  payoutLegsOfForUpdate,
  payoutRecordState,
  setPayoutRecordStatus,
} from './store.ts';

let db: TestDatabase;
let store: DealStore;
const TOKEN = '0x5FbDB2315678afecb367f032d93F642f64180aa3';
const FROM = '0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266';

beforeAll(async () => {
  db = await createTestDatabase();
  store = new DealStore({ pool: db.pool });
});
afterAll(async () => {
  await db?.close();
});

async function dealWithLegs(cause = '7') {
  const parties = await makeParties(db.pool);
  const { deal } = await store.create(newDealInput(parties.seller.id));
  const { rows } = await db.pool.query(
    `INSERT INTO payout_legs (deal_id, cause, kind, chain_id, token, recipient, amount, status)
     VALUES ($1, $2, 'seller', 31337, $3, $4, 99000000, 'pending'),
            ($1, $2, 'fee', 31337, $3, NULL, 1000000, 'pending'),
            ($1, $2, 'buyer_excess', 31337, $3, $4, 5, 'awaiting_approval')
     RETURNING id`,
    [deal.id, cause, TOKEN, SELLER_ADDRESS],
  );
  return { dealId: deal.id, legIds: rows.map((r) => BigInt(r.id)) };
}

let nextHash = 1n;
const attemptOf = (record: PayoutRecordRef, nonce: bigint, from = FROM): NewPayoutAttempt => {
  const hash = `0x${(nextHash++).toString(16).padStart(64, '0')}` as const;
  return {
    record,
    chainId: 31337,
    from,
    nonce,
    txHash: hash,
    rawTx: `0x02${hash.slice(2)}`,
    gasLimit: 60_000n,
    maxFeePerGas: 2_000_000_000n,
    maxPriorityFeePerGas: 1_000_000n,
  };
};

describe('payout legs and top-ups', () => {
  it('reads the legs of (deal, cause) in order, and locks them in a transaction', async () => {
    const { dealId, legIds } = await dealWithLegs();
    const legs = await payoutLegsOf(db.pool, dealId, '7');
    expect(legs.map((l) => [l.id, l.kind, l.recipient, l.amount, l.status])).toEqual([
      [legIds[0], 'seller', SELLER_ADDRESS, 99_000_000n, 'pending'],
      [legIds[1], 'fee', null, 1_000_000n, 'pending'],
      [legIds[2], 'buyer_excess', SELLER_ADDRESS, 5n, 'awaiting_approval'],
    ]);
    expect(await payoutLegsOf(db.pool, dealId, '8')).toEqual([]);

    await withTransaction(db.pool, async (client) => {
      expect(await payoutLegsOfForUpdate(client, dealId, '7')).toHaveLength(3);
      // Another session cannot lock them meanwhile.
      await expect(
        withTransaction(db.pool, (other) =>
          other.query('SELECT id FROM payout_legs WHERE deal_id = $1 FOR UPDATE NOWAIT', [dealId]),
        ),
      ).rejects.toThrow(/could not obtain lock/);
    });
  });

  it('creates one gas top-up per (deal, cause), even when asked twice at once', async () => {
    const { dealId } = await dealWithLegs();
    const input = { dealId, cause: '7', chainId: 31337, address: FROM, amount: 1000n };
    expect(await gasTopupOf(db.pool, dealId, '7')).toBeNull();
    const [a, b] = await Promise.all([insertGasTopup(db.pool, input), insertGasTopup(db.pool, input)]);
    expect(a.id).toBe(b.id);
    const again = await insertGasTopup(db.pool, { ...input, amount: 5000n });
    expect(again).toMatchObject({ id: a.id, amount: 1000n, status: 'pending', failure: null, txHash: null });
    expect(await gasTopupOf(db.pool, dealId, '7')).toEqual(again);
  });
});

describe('statuses and attempts', () => {
  it('moves a record forward only, stamping updated_at', async () => {
    const { legIds } = await dealWithLegs();
    const leg: PayoutRecordRef = { table: 'payout_legs', id: legIds[0] as bigint };
    const gated: PayoutRecordRef = { table: 'payout_legs', id: legIds[2] as bigint };
    const updatedAt = async () =>
      (await db.pool.query('SELECT updated_at FROM payout_legs WHERE id = $1', [leg.id.toString()])).rows[0]
        .updated_at as Date;
    const before = await updatedAt();
    expect(await setPayoutRecordStatus(db.pool, leg, 'broadcast')).toBe(false);
    expect(await setPayoutRecordStatus(db.pool, leg, 'signed')).toBe(true);
    expect((await updatedAt()).getTime()).toBeGreaterThan(before.getTime());
    expect(await setPayoutRecordStatus(db.pool, leg, 'signed')).toBe(false);
    expect(await setPayoutRecordStatus(db.pool, leg, 'broadcast')).toBe(true);
    expect(await setPayoutRecordStatus(db.pool, leg, 'pending')).toBe(false);
    expect(await setPayoutRecordStatus(db.pool, gated, 'signed')).toBe(false);
    expect(await setPayoutRecordStatus(db.pool, gated, 'pending')).toBe(true);
    expect(await payoutRecordState(db.pool, leg)).toEqual({
      status: 'broadcast',
      failure: null,
      txHash: null,
    });
    expect(await payoutRecordState(db.pool, { table: 'payout_legs', id: 999_999_999n })).toBeNull();
    await withTransaction(db.pool, async (client) => {
      expect(await lockPayoutRecord(client, gated)).toEqual({
        status: 'pending',
        failure: null,
        txHash: null,
      });
    });
  });

  it('keeps one live attempt per record and per (chain, address, nonce)', async () => {
    const { legIds } = await dealWithLegs();
    const leg: PayoutRecordRef = { table: 'payout_legs', id: legIds[0] as bigint };
    const other: PayoutRecordRef = { table: 'payout_legs', id: legIds[1] as bigint };
    expect(await liveAttempt(db.pool, 'payout_legs', leg.id)).toBeNull();
    const input = attemptOf(leg, 900n);
    const first = await insertPayoutAttempt(db.pool, input);
    expect(first).toMatchObject({
      record: leg,
      nonce: 900n,
      status: 'signed',
      rawTx: input.rawTx,
      gasLimit: 60_000n,
    });
    expect(await liveAttempt(db.pool, 'payout_legs', leg.id)).toEqual(first);
    // The same nonce of the same address (any case) cannot be live twice, whatever record it pays.
    await expect(insertPayoutAttempt(db.pool, attemptOf(other, 900n, FROM.toLowerCase()))).rejects.toThrow(
      /payout_attempts_live_nonce_idx/,
    );
    // A replaced attempt is kept for the record, and no longer live.
    await db.pool.query(`UPDATE payout_attempts SET status = 'replaced' WHERE id = $1`, [
      first.id.toString(),
    ]);
    const replacement = await insertPayoutAttempt(db.pool, attemptOf(leg, 900n));
    expect((await liveAttempt(db.pool, 'payout_legs', leg.id))?.id).toBe(replacement.id);
    expect((await attemptsOf(db.pool, 'payout_legs', leg.id)).map((a) => a.id)).toEqual([
      first.id,
      replacement.id,
    ]);
    await markAttemptBroadcast(db.pool, replacement.id);
    expect((await liveAttempt(db.pool, 'payout_legs', leg.id))?.status).toBe('broadcast');
  });

  it('confirms and fails a record once, with the transaction and its attempt', async () => {
    const { dealId, legIds } = await dealWithLegs();
    const leg: PayoutRecordRef = { table: 'payout_legs', id: legIds[0] as bigint };
    const reverted: PayoutRecordRef = { table: 'payout_legs', id: legIds[1] as bigint };
    const a = await insertPayoutAttempt(db.pool, attemptOf(leg, 950n));
    expect(await markConfirmed(db.pool, leg, a.id, a.txHash.toUpperCase().replace('0X', '0x'))).toBe(true);
    expect(await payoutRecordState(db.pool, leg)).toEqual({
      status: 'confirmed',
      failure: null,
      txHash: a.txHash,
    });
    expect((await liveAttempt(db.pool, 'payout_legs', leg.id))?.status).toBe('mined');
    expect(await markConfirmed(db.pool, leg, a.id, a.txHash)).toBe(false);
    expect(await markFailed(db.pool, leg, 'too late')).toBe(false);

    const b = await insertPayoutAttempt(db.pool, attemptOf(reverted, 951n));
    expect(await markFailed(db.pool, reverted, 'reverted', { attemptId: b.id, txHash: b.txHash })).toBe(true);
    expect(await payoutRecordState(db.pool, reverted)).toEqual({
      status: 'failed',
      failure: 'reverted',
      txHash: b.txHash,
    });
    expect((await liveAttempt(db.pool, 'payout_legs', reverted.id))?.status).toBe('mined');

    const topup = await insertGasTopup(db.pool, {
      dealId,
      cause: '7',
      chainId: 31337,
      address: FROM,
      amount: 1n,
    });
    const ref: PayoutRecordRef = { table: 'gas_topups', id: topup.id };
    expect(await markFailed(db.pool, ref, 'insufficient funds')).toBe(true);
    expect(await gasTopupOf(db.pool, dealId, '7')).toMatchObject({
      status: 'failed',
      failure: 'insufficient funds',
    });
  });
});

describe('allocateNonce', () => {
  const counter = (value: bigint) => {
    const calls = { n: 0 };
    const read = async () => {
      calls.n += 1;
      return value;
    };
    return { calls, read };
  };

  it('starts from the chain once, then counts in the database; a rollback gives the nonce back', async () => {
    const address = '0x000000000000000000000000000000000000A001';
    const chain = counter(5n);
    const take = () => withTransaction(db.pool, (c) => allocateNonce(c, 31337, address, chain.read));
    expect(await take()).toBe(5n);
    expect(await take()).toBe(6n);
    await expect(
      withTransaction(db.pool, async (c) => {
        expect(await allocateNonce(c, 31337, address, chain.read)).toBe(7n);
        throw new Error('signing failed');
      }),
    ).rejects.toThrow('signing failed');
    // The chain is asked only at the first use; the address's case does not matter.
    expect(
      await withTransaction(db.pool, (c) => allocateNonce(c, 31337, address.toLowerCase(), counter(0n).read)),
    ).toBe(7n);
    expect(chain.calls.n).toBe(1);
    // Per chain: the same address elsewhere starts from that chain's count.
    expect(await withTransaction(db.pool, (c) => allocateNonce(c, 1, address, counter(2n).read))).toBe(2n);
  });

  it('starts past the attempts already stored when they are ahead of the chain', async () => {
    const { legIds } = await dealWithLegs();
    const address = '0x000000000000000000000000000000000000a002';
    await insertPayoutAttempt(
      db.pool,
      attemptOf({ table: 'payout_legs', id: legIds[0] as bigint }, 41n, address),
    );
    expect(await withTransaction(db.pool, (c) => allocateNonce(c, 31337, address, counter(3n).read))).toBe(
      42n,
    );
  });

  it('hands out distinct consecutive nonces to concurrent senders of one address', async () => {
    const address = '0x000000000000000000000000000000000000a003';
    const taken = await Promise.all(
      Array.from({ length: 8 }, () =>
        withTransaction(db.pool, (c) => allocateNonce(c, 31337, address, async () => 10n)),
      ),
    );
    expect(taken.sort((x, y) => Number(x - y))).toEqual([10n, 11n, 12n, 13n, 14n, 15n, 16n, 17n]);
  });
});
