import { type AssetRegistry, createRegistry, QUEUES, redisKeys } from '@amanat/core';
import {
  createLogger,
  type DealStore,
  insertGasTopup,
  type PayoutRecordRef,
  ScannerView,
} from '@amanat/platform';
import { type Job, Queue } from 'bullmq';
import { type Address, erc20Abi, type Hex, type PublicClient, parseEther } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AnvilHandle, DEMO_TOKENS } from '../../../devstack/chain.ts';
import {
  BUYER,
  type ChainClients,
  mine,
  OTHER,
  sendNative,
  sendToken,
} from '../../../devstack/test-chain.ts';
import { createTestRedis, type TestDatabase, type TestRedis } from '../../../devstack/testing.ts';
import { awaitingPaymentDeal } from '../../../platform/src/deals/test-fixtures.ts';
import type { TestScanner } from '../../../scanner/src/test-scanner.ts';
import { createMaintenanceHandlers, scheduleMaintenance } from '../maintenance/handlers.ts';
import { balanceDriftReason, type ReconcileSummary, reconcileBalances } from './reconcile.ts';
import { sendOnce } from './send.ts';
import { type SignerTestRig, startSignerTestRig } from './test-rig.ts';
import type { SignerAccount } from './types.ts';

const USDT = DEMO_TOKENS.usdt.address as Address;
const usdt = USDT.toLowerCase();
const CHAIN = 31337;
const logger = createLogger('test', 'silent');

let rig: SignerTestRig;
let anvil: AnvilHandle;
let c: ChainClients;
let db: TestDatabase;
let store: DealStore;
let registry: AssetRegistry;
/** The scanner's Redis, and the real scanner whose view of a payout confirms it. */
let scanRedis: TestRedis;
let scanner: TestScanner;

beforeAll(async () => {
  rig = await startSignerTestRig(1);
  ({ anvil, c, db, redis: scanRedis, scanner, store } = rig);
  registry = createRegistry({ rpcUrls: { [CHAIN]: [anvil.rpcUrl] } });
});
afterAll(async () => {
  await rig?.close();
});

const reconcile = (over: { graceMs?: number; now?: () => Date } = {}): Promise<ReconcileSummary> =>
  reconcileBalances({
    pool: db.pool,
    registry,
    chainFor: (chainId) => (chainId === CHAIN ? (c.publicClient as PublicClient) : null),
    store,
    logger,
    settleMs: 0,
    // Flag on the second sighting, however soon (the grace period is about wall time in production).
    graceMs: 0,
    ...over,
  });

/** A deal awaiting payment whose deposit address is a fresh key (empty on chain) the test holds. */
async function depositDeal(): Promise<{ dealId: string; signer: SignerAccount; address: Address }> {
  const account = privateKeyToAccount(generatePrivateKey());
  const { deal } = await awaitingPaymentDeal(store, db.pool, () => account.address);
  const signer: SignerAccount = {
    address: account.address,
    signTransaction: (tx) => account.signTransaction({ type: 'eip1559', ...tx }),
  };
  return { dealId: deal.id, signer, address: account.address };
}

let nextLog = 0;
/** Money actually sent to the address, and recorded in payments as the pipeline would. */
async function paid(dealId: string, to: Address, token: 'native' | Address, amount: bigint): Promise<void> {
  const receipt =
    token === 'native' ? await sendNative(c, to, amount) : await sendToken(c, token, to, amount);
  await db.pool.query(
    `INSERT INTO payments (chain_id, tx_hash, log_index, deal_id, token, from_address, to_address, amount,
       block_number, block_hash, block_timestamp, status, classification)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, now(), 'confirmed', 'counted')`,
    [
      CHAIN,
      receipt.transactionHash,
      token === 'native' ? -1 : nextLog++,
      dealId,
      token,
      BUYER.address,
      to,
      amount.toString(),
      receipt.blockNumber.toString(),
      receipt.blockHash,
    ],
  );
}

/** Native coin from the gas tank (another account here), recorded as a confirmed top-up. */
async function toppedUp(dealId: string, to: Address, amount: bigint): Promise<void> {
  const receipt = await sendNative(c, to, amount, OTHER);
  const topup = await insertGasTopup(db.pool, { dealId, cause: '9', chainId: CHAIN, address: to, amount });
  await db.pool.query(`UPDATE gas_topups SET status = 'confirmed', tx_hash = $2 WHERE id = $1`, [
    topup.id.toString(),
    receipt.transactionHash,
  ]);
}

interface Leg {
  record: PayoutRecordRef;
  to: Address;
  amount: bigint;
}

/** A seller leg of `amount` USDT to a fresh address. */
async function sellerLeg(dealId: string, amount: bigint): Promise<Leg> {
  const to = privateKeyToAccount(generatePrivateKey()).address;
  const { rows } = await db.pool.query(
    `INSERT INTO payout_legs (deal_id, cause, kind, chain_id, token, recipient, amount)
     VALUES ($1, '9', 'seller', $2, $3, $4, $5) RETURNING id`,
    [dealId, CHAIN, USDT, to, amount.toString()],
  );
  return { record: { table: 'payout_legs', id: BigInt(rows[0].id) }, to, amount };
}

/** The payout signer's own send (confirmed at one block deep here, once the scanner saw it). */
const pay = (leg: Leg, from: SignerAccount) =>
  sendOnce(
    {
      pool: db.pool,
      chain: c.publicClient as PublicClient,
      confirmations: 1,
      scannerView: new ScannerView(scanRedis.redis, scanRedis.prefix),
      logger,
    },
    { record: leg.record, chainId: CHAIN, from, to: leg.to, token: USDT, amount: leg.amount },
  );

/** Sends a leg (anvil mines it at once) and settles it once the scanner has scanned its block. */
async function payAndSettle(leg: Leg, from: SignerAccount) {
  await pay(leg, from);
  await scanner.caughtUp();
  return pay(leg, from);
}

async function review(dealId: string) {
  const { rows } = await db.pool.query(
    `SELECT d.needs_review, d.review_reasons,
       (SELECT count(*)::int FROM activity_log a WHERE a.deal_id = d.id AND a.action = 'flag_review') AS flags
     FROM deals d WHERE d.id = $1`,
    [dealId],
  );
  return rows[0] as { needs_review: boolean; review_reasons: string[]; flags: number };
}

const drifts = async (dealId: string) =>
  (
    await db.pool.query(
      'SELECT chain_id, token, onchain::text, ledger::text FROM balance_drifts WHERE deal_id = $1 ORDER BY token',
      [dealId],
    )
  ).rows;

describe('reconcileBalances', () => {
  it('finds no drift where the chain matches the ledger: payments, a gas top-up, a paid leg and its gas', async () => {
    const { dealId, signer, address } = await depositDeal();
    await paid(dealId, address, USDT, 100_000_000n);
    await toppedUp(dealId, address, parseEther('0.01'));
    const leg = await sellerLeg(dealId, 99_000_000n);
    expect(await payAndSettle(leg, signer)).toMatchObject({ status: 'confirmed' });

    const summary = await reconcile();
    expect(summary.errors).toBe(0);
    expect(summary.addresses).toBeGreaterThanOrEqual(1);
    expect(await review(dealId)).toEqual({ needs_review: false, review_reasons: [], flags: 0 });
    expect(await drifts(dealId)).toEqual([]);
    // The leg's gas was measured from its receipt, and the native ledger is the top-up less exactly that.
    const { rows } = await db.pool.query(
      'SELECT gas_used::text, effective_gas_price::text FROM payout_attempts WHERE leg_id = $1',
      [leg.record.id.toString()],
    );
    const spent = BigInt(rows[0].gas_used) * BigInt(rows[0].effective_gas_price);
    expect(spent).toBeGreaterThan(0n);
    expect(await c.publicClient.getBalance({ address })).toBe(parseEther('0.01') - spent);
  });

  it('flags native coin no payment recorded when a second run still sees it, once, and again when it changes', async () => {
    const { dealId, address } = await depositDeal();
    await sendNative(c, address, parseEther('1'));

    // Seen once: the pipeline may simply not have recorded it yet.
    const seen = await reconcile();
    expect(seen.flagged).toBe(0);
    expect((await review(dealId)).flags).toBe(0);
    const first = await reconcile();
    expect(first.flagged).toBeGreaterThanOrEqual(1);
    const reason = balanceDriftReason({
      chainId: CHAIN,
      token: 'native',
      onchain: parseEther('1'),
      ledger: 0n,
    });
    expect(reason).toBe(`balance_drift:31337:native:${parseEther('1')}:0`);
    expect(await review(dealId)).toEqual({ needs_review: true, review_reasons: [reason], flags: 1 });
    expect(await drifts(dealId)).toEqual([
      { chain_id: CHAIN, token: 'native', onchain: parseEther('1').toString(), ledger: '0' },
    ]);

    await reconcile();
    expect((await review(dealId)).flags).toBe(1);

    await sendNative(c, address, parseEther('0.5'));
    await reconcile();
    expect((await review(dealId)).flags).toBe(1);
    await reconcile();
    const after = await review(dealId);
    expect(after.flags).toBe(2);
    expect(after.review_reasons).toContain(
      balanceDriftReason({ chainId: CHAIN, token: 'native', onchain: parseEther('1.5'), ledger: 0n }),
    );

    // Once the money is in the ledger, the drift is forgotten (a new one would be reported again).
    const { rows } = await db.pool.query(
      `INSERT INTO payments (chain_id, tx_hash, log_index, deal_id, token, from_address, to_address, amount,
         block_number, block_hash, block_timestamp, status, classification)
       VALUES ($1, $2, -1, $3, 'native', $4, $5, $6, 1, $2, now(), 'confirmed', 'foreign') RETURNING id`,
      [CHAIN, `0x${'ab'.repeat(32)}`, dealId, BUYER.address, address, parseEther('1.5').toString()],
    );
    expect(rows).toHaveLength(1);
    await reconcile();
    expect(await drifts(dealId)).toEqual([]);
    expect((await review(dealId)).flags).toBe(2);
  });

  it('waits out the grace period: a difference the pipeline may still record is not drift yet', async () => {
    const { dealId, address } = await depositDeal();
    await sendNative(c, address, 4_321n);
    const graceMs = 10 * 60_000;
    await reconcile({ graceMs });
    // Still the same difference, five minutes on: not yet.
    await reconcile({ graceMs, now: () => new Date(Date.now() + 5 * 60_000) });
    expect((await review(dealId)).flags).toBe(0);
    // Past the grace period: drift.
    const late = await reconcile({ graceMs, now: () => new Date(Date.now() + graceMs + 60_000) });
    expect(late.flagged).toBeGreaterThanOrEqual(1);
    expect(await review(dealId)).toMatchObject({ needs_review: true, flags: 1 });
  });

  it('flags tokens that left the address without a payout record', async () => {
    const { dealId, address } = await depositDeal();
    await paid(dealId, address, USDT, 50_000_000n);
    // Someone holding the key moves 20 USDT out behind the signer's back; the gas given to do it is
    // taken back, so only the token drifts.
    await c.testClient.impersonateAccount({ address });
    await c.testClient.setBalance({ address, value: parseEther('1') });
    try {
      const hash = await c.wallet({ address, type: 'json-rpc' } as never).writeContract({
        address: USDT,
        abi: erc20Abi,
        functionName: 'transfer',
        args: [OTHER.address, 20_000_000n],
        chain: null,
        gas: 200_000n,
      });
      await c.publicClient.waitForTransactionReceipt({ hash });
    } finally {
      await c.testClient.stopImpersonatingAccount({ address });
      await c.testClient.setBalance({ address, value: 0n });
    }

    await reconcile();
    await reconcile();
    const reason = balanceDriftReason({
      chainId: CHAIN,
      token: usdt,
      onchain: 30_000_000n,
      ledger: 50_000_000n,
    });
    expect(reason).toBe(`balance_drift:31337:${usdt}:30000000:50000000`);
    expect(await review(dealId)).toEqual({ needs_review: true, review_reasons: [reason], flags: 1 });
    expect(await drifts(dealId)).toEqual([
      { chain_id: CHAIN, token: usdt, onchain: '30000000', ledger: '50000000' },
    ]);
  });

  it('a payout in flight (broadcast, not mined, then mined but not yet recorded) is not drift', async () => {
    const { dealId, signer, address } = await depositDeal();
    await paid(dealId, address, USDT, 80_000_000n);
    await toppedUp(dealId, address, parseEther('0.01'));
    const leg = await sellerLeg(dealId, 80_000_000n);
    await c.testClient.setAutomine(false);
    let txHash: Hex;
    try {
      const sent = await pay(leg, signer);
      expect(sent.status).toBe('broadcast');
      txHash = sent.txHash as Hex;
      // Not mined: the chain still holds the money the ledger counts as leaving.
      expect(await reconcile()).toMatchObject({ errors: 0 });
      expect(await review(dealId)).toMatchObject({ needs_review: false, flags: 0 });
      await mine(c, 1);
    } finally {
      await c.testClient.setAutomine(true);
    }
    // Mined, but the signer has not recorded it yet: the leg is still broadcast in the ledger.
    expect(await c.publicClient.getTransactionReceipt({ hash: txHash })).toMatchObject({ status: 'success' });
    await reconcile();
    expect(await review(dealId)).toMatchObject({ needs_review: false, flags: 0 });
    // Recorded: settled, and still no drift to the wei.
    await scanner.caughtUp();
    expect(await pay(leg, signer)).toMatchObject({ status: 'confirmed' });
    await reconcile();
    expect(await review(dealId)).toEqual({ needs_review: false, review_reasons: [], flags: 0 });
    expect(await drifts(dealId)).toEqual([]);
  });
});

describe('reconcileBalances: settling', () => {
  it('does not flag a difference the pipeline records before the second look', async () => {
    const { dealId, address } = await depositDeal();
    const receipt = await sendNative(c, address, 12_345n);
    let waited = 0;
    await reconcileBalances({
      pool: db.pool,
      registry,
      chainFor: () => c.publicClient as PublicClient,
      store,
      logger,
      settleMs: 1000,
      // Meanwhile the payments worker records what had just arrived.
      wait: async (ms) => {
        waited = ms;
        await db.pool.query(
          `INSERT INTO payments (chain_id, tx_hash, log_index, deal_id, token, from_address, to_address, amount,
             block_number, block_hash, block_timestamp, status, classification)
           VALUES ($1, $2, -1, $3, 'native', $4, $5, 12345, $6, $7, now(), 'pending', NULL)`,
          [
            CHAIN,
            receipt.transactionHash,
            dealId,
            BUYER.address,
            address,
            receipt.blockNumber.toString(),
            receipt.blockHash,
          ],
        );
      },
    });
    expect(waited).toBe(1000);
    expect(await review(dealId)).toEqual({ needs_review: false, review_reasons: [], flags: 0 });
    expect(await drifts(dealId)).toEqual([]);
  });
});

describe('the reconcile-balances maintenance job', () => {
  let redis: TestRedis;
  beforeAll(async () => {
    redis = await createTestRedis();
  });
  afterAll(async () => {
    await redis?.close();
  });

  it('runs the reconciliation, and is scheduled at its own interval', async () => {
    const { dealId, address } = await depositDeal();
    await sendNative(c, address, 777n);
    const deps = {
      pool: db.pool,
      redis: redis.redis,
      prefix: redis.prefix,
      registry,
      logger,
      intervalSec: 60,
    };
    const maintenance = createMaintenanceHandlers({ ...deps, store, reconcile: { settleMs: 0, graceMs: 0 } });
    const withoutStore = createMaintenanceHandlers(deps);
    try {
      const job = { name: 'reconcile-balances', data: {} } as Job;
      // The default clients come from the registry's RPC URLs (anvil's here). Two runs: a difference is
      // drift once a later run still sees it.
      await maintenance.handlers['reconcile-balances']?.(job);
      const summary = (await maintenance.handlers['reconcile-balances']?.(job)) as ReconcileSummary;
      expect(summary.errors).toBe(0);
      expect((await review(dealId)).review_reasons).toEqual([
        balanceDriftReason({ chainId: CHAIN, token: 'native', onchain: 777n, ledger: 0n }),
      ]);
      await expect(withoutStore.handlers['reconcile-balances']?.(job)).rejects.toThrow(/DealStore/);
    } finally {
      await Promise.all([maintenance.close(), withoutStore.close()]);
    }

    const queue = new Queue(QUEUES.maintenance, {
      connection: redis.redis,
      prefix: redisKeys(redis.prefix).bullPrefix,
    });
    try {
      await scheduleMaintenance(queue, 60, { 'reconcile-balances': 600 });
      const every = Object.fromEntries((await queue.getJobSchedulers()).map((s) => [s.key, s.every]));
      expect(every).toEqual({
        'sweep-deadlines': 60_000,
        'rebuild-watch-sets': 60_000,
        'recheck-payments': 60_000,
        'reconcile-balances': 600_000,
      });
    } finally {
      await queue.obliterate({ force: true });
      await queue.close();
    }
  });
});
