import {
  type AssetRegistry,
  createRegistry,
  NATIVE_LOG_INDEX,
  type PaymentEventType,
  type PaymentJob,
  paymentJobId,
} from '@amanat/core';
import { createLogger, type DealRecord, DealStore } from '@amanat/platform';
import { type Address, type Hex, parseEther, type TransactionReceipt } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AnvilHandle, DEMO_TOKENS, deployDemoTokens, startAnvil } from '../../../devstack/chain.ts';
import {
  BUYER,
  type ChainClients,
  chainClients,
  deployTestContracts,
  mine,
  mint,
  OTHER,
  reorg,
  sendBatch,
  sendNative,
  sendToken,
} from '../../../devstack/test-chain.ts';
import { createTestDatabase, type TestDatabase } from '../../../devstack/testing.ts';
import { awaitingPaymentDeal, type newDealInput } from '../../../platform/src/deals/test-fixtures.ts';
import { ChainReadRetry } from './chain-reader.ts';
import { PaymentVerifier } from './verify-payment.ts';

const USDT = DEMO_TOKENS.usdt.address as Address;
const USDC = DEMO_TOKENS.usdc.address as Address;
const DUE = 100_000_000n; // 100 USDT, fee paid by the seller
const CONFIRMATIONS = 2;

let anvil: AnvilHandle;
let c: ChainClients;
let db: TestDatabase;
let store: DealStore;
let contracts: Awaited<ReturnType<typeof deployTestContracts>>;
let registry: AssetRegistry;
let verifier: PaymentVerifier;
const DENYLISTED = OTHER;

const freshAddress = () => privateKeyToAccount(generatePrivateKey()).address;

beforeAll(async () => {
  [anvil, db] = await Promise.all([startAnvil(), createTestDatabase()]);
  c = chainClients(anvil.rpcUrl);
  await deployDemoTokens(anvil.rpcUrl);
  contracts = await deployTestContracts(c);
  registry = createRegistry({
    rpcUrls: { 31337: [anvil.rpcUrl] },
    overrides: {
      chains: { 31337: { confirmations: CONFIRMATIONS } },
      tokens: [
        {
          chainId: 31337,
          address: contracts.fee,
          symbol: 'FEE',
          name: 'Fee token',
          decimals: 6,
          minFee: '1',
        },
      ],
    },
  });
  store = new DealStore({ pool: db.pool });
  verifier = new PaymentVerifier({
    store,
    registry,
    denylist: new Set([DENYLISTED.address.toLowerCase()]),
    logger: createLogger('test', 'silent'),
  });
});
afterAll(async () => {
  await Promise.all([anvil?.stop(), db?.close()]);
});

async function newDeal(
  over: Parameters<typeof newDealInput>[1] = {},
): Promise<Omit<DealRecord, 'deposit'> & { deposit: Address }> {
  const { deal } = await awaitingPaymentDeal(store, db.pool, () => freshAddress(), over);
  return { ...deal, deposit: deal.deposit?.address as Address };
}

/** The job the API would enqueue for a scanner's report about one log of a receipt. */
function jobFor(
  receipt: TransactionReceipt,
  logIndex: number,
  type: PaymentEventType = 'payment.detected',
): PaymentJob {
  const data = {
    type,
    chainId: 31337,
    txHash: receipt.transactionHash,
    logIndex,
    blockHash: receipt.blockHash,
    blockNumber: receipt.blockNumber.toString(),
    to: `0x${'0'.repeat(40)}`,
    token: 'native' as const,
  };
  return { ...data, eventId: paymentJobId(data) };
}

/** The log index of the Transfer to `to` in a receipt. */
const logTo = (receipt: TransactionReceipt, to: Address): number => {
  const log = receipt.logs.find((l) => l.topics[2]?.toLowerCase().endsWith(to.slice(2).toLowerCase()));
  if (!log) throw new Error(`no Transfer to ${to} in ${receipt.transactionHash}`);
  return log.logIndex;
};

const reload = async (id: string) => (await store.get(id)) as DealRecord;

async function payAndConfirm(deal: { deposit: Address }, amount: bigint, token: Address = USDT) {
  const receipt = await sendToken(c, token, deal.deposit, amount);
  await verifier.verify(jobFor(receipt, logTo(receipt, deal.deposit)));
  await mine(c, CONFIRMATIONS);
  await verifier.verify(jobFor(receipt, logTo(receipt, deal.deposit), 'payment.confirmed'));
  return receipt;
}

const paymentRows = async (dealId: string) =>
  (
    await db.pool.query(
      'SELECT status, classification, amount::text FROM payments WHERE deal_id = $1 ORDER BY id',
      [dealId],
    )
  ).rows;

describe('payments worker: what the chain says, not what the report says', () => {
  it('an exact payment is pending at inclusion and funds the deal at its confirmation count', async () => {
    const deal = await newDeal();
    const receipt = await sendToken(c, USDT, deal.deposit, DUE);
    const detected = await verifier.verify(jobFor(receipt, logTo(receipt, deal.deposit)));
    expect(detected).toMatchObject({ outcome: 'recorded', status: 'pending', funding: 'unpaid' });
    expect(await reload(deal.id)).toMatchObject({ state: 'awaiting_payment', confirmingAmount: DUE });

    await mine(c, CONFIRMATIONS);
    await verifier.verify(jobFor(receipt, logTo(receipt, deal.deposit), 'payment.confirmed'));
    expect(await reload(deal.id)).toMatchObject({ state: 'funded', funding: 'funded', confirmedAmount: DUE });
    expect(await paymentRows(deal.id)).toEqual([
      { status: 'confirmed', classification: 'counted', amount: DUE.toString() },
    ]);
  });

  it('a replayed or reordered report changes nothing the second time', async () => {
    const deal = await newDeal();
    const receipt = await sendToken(c, USDT, deal.deposit, DUE);
    await mine(c, CONFIRMATIONS);
    const log = logTo(receipt, deal.deposit);
    // confirmed arrives first: the worker reads the chain and funds
    const first = await verifier.verify(jobFor(receipt, log, 'payment.confirmed'));
    expect(first).toMatchObject({ outcome: 'recorded', status: 'confirmed', funding: 'funded' });
    const version = (await reload(deal.id)).version;
    // the late "detected" and a replay of "confirmed" find nothing to change
    for (const type of ['payment.detected', 'payment.confirmed'] as const) {
      expect(await verifier.verify(jobFor(receipt, log, type))).toMatchObject({ changed: [] });
    }
    expect((await reload(deal.id)).version).toBe(version);
  });

  it('concurrent reports for one deal keep the totals exact', async () => {
    const deal = await newDeal();
    const receipts = [];
    for (let i = 0; i < 4; i++) receipts.push(await sendToken(c, USDT, deal.deposit, DUE / 4n));
    await mine(c, CONFIRMATIONS);
    await Promise.all(
      receipts.flatMap((r) =>
        Array.from({ length: 5 }, () =>
          verifier.verify(jobFor(r, logTo(r, deal.deposit), 'payment.confirmed')),
        ),
      ),
    );
    expect(await reload(deal.id)).toMatchObject({ state: 'funded', confirmedAmount: DUE });
    expect(await paymentRows(deal.id)).toHaveLength(4);
  });

  it('underpaid beyond tolerance is partially paid, and top-ups add up to funded', async () => {
    const deal = await newDeal();
    await payAndConfirm(deal, DUE - 30_000_000n);
    expect(await reload(deal.id)).toMatchObject({ state: 'partially_paid', confirmedAmount: 70_000_000n });
    await payAndConfirm(deal, 30_000_000n);
    expect(await reload(deal.id)).toMatchObject({ state: 'funded', confirmedAmount: DUE });
  });

  it('underpaid within the tolerance funds the deal; overpaid funds it with the excess recorded', async () => {
    const tolerant = await newDeal({ underpayTolerance: 500_000n });
    await payAndConfirm(tolerant, DUE - 400_000n);
    expect(await reload(tolerant.id)).toMatchObject({ state: 'funded', funding: 'funded' });

    const over = await newDeal();
    await payAndConfirm(over, DUE + 5_000_000n);
    expect(await reload(over.id)).toMatchObject({
      state: 'funded',
      funding: 'overpaid',
      confirmedAmount: DUE + 5_000_000n,
    });
  });

  it('an 18-decimal asset is counted in its own base units (nothing assumes 6 decimals)', async () => {
    const price = 250n * 10n ** 18n;
    const deal = await newDeal({
      asset: { chainId: 31337, token: USDC },
      price,
      feeTerms: { feeBps: 100, feeMin: 10n ** 18n, feePayer: 'seller' },
      dustThreshold: 10n ** 12n,
    });
    await payAndConfirm(deal, price, USDC);
    expect(await reload(deal.id)).toMatchObject({
      state: 'funded',
      funding: 'funded',
      confirmedAmount: price,
    });
  });

  it('several Transfer logs in one transaction each count once', async () => {
    const deal = await newDeal();
    const receipt = await sendBatch(c, contracts, USDT, [
      { to: deal.deposit, amount: 60_000_000n },
      { to: deal.deposit, amount: 40_000_000n },
    ]);
    await mine(c, CONFIRMATIONS);
    const logs = receipt.logs.filter((l) => l.address.toLowerCase() === USDT.toLowerCase());
    expect(logs).toHaveLength(2);
    for (const log of [...logs, ...logs])
      await verifier.verify(jobFor(receipt, log.logIndex, 'payment.confirmed'));
    expect(await reload(deal.id)).toMatchObject({ state: 'funded', confirmedAmount: DUE });
  });

  it('a fee-on-transfer token is credited what its log says arrived', async () => {
    const deal = await newDeal({
      asset: { chainId: 31337, token: contracts.fee },
      feeTerms: { feeBps: 100, feeMin: 1_000_000n, feePayer: 'seller' },
    });
    await payAndConfirm(deal, DUE, contracts.fee);
    // 1% kept by the token: 99 of the 100 sent arrived
    expect(await reload(deal.id)).toMatchObject({ state: 'partially_paid', confirmedAmount: 99_000_000n });
  });

  it('a wrong registry token or the native coin is foreign: recorded, not counted, flagged', async () => {
    const deal = await newDeal();
    await payAndConfirm(deal, 100n * 10n ** 18n, USDC);
    const native = await sendNative(c, deal.deposit, parseEther('0.5'));
    await mine(c, CONFIRMATIONS);
    await verifier.verify(jobFor(native, NATIVE_LOG_INDEX, 'payment.confirmed'));
    const after = await reload(deal.id);
    expect(after).toMatchObject({ state: 'awaiting_payment', confirmedAmount: 0n, needsReview: true });
    expect(after.reviewReasons).toContain('foreign_asset');
    expect((await paymentRows(deal.id)).map((r) => r.classification)).toEqual(['foreign', 'foreign']);
  });

  it("the payout signer's gas top-up to a deposit address is not a payment", async () => {
    const deal = await newDeal();
    const topup = await sendNative(c, deal.deposit, parseEther('0.01'));
    // What the signer stores before it broadcasts a top-up: the deal's top-up record and its attempt.
    const { rows } = await db.pool.query(
      `INSERT INTO gas_topups (deal_id, cause, chain_id, address, amount, status)
       VALUES ($1, '1', 31337, $2, $3, 'broadcast') RETURNING id`,
      [deal.id, deal.deposit, parseEther('0.01').toString()],
    );
    await db.pool.query(
      `INSERT INTO payout_attempts (topup_id, chain_id, from_address, nonce, tx_hash, raw_tx, gas_limit,
         max_fee_per_gas, max_priority_fee_per_gas, status)
       VALUES ($1, 31337, $2, 0, $3, '0x', 21000, 1, 1, 'broadcast')`,
      [rows[0].id, topup.from, topup.transactionHash],
    );
    await mine(c, CONFIRMATIONS);
    expect(await verifier.verify(jobFor(topup, NATIVE_LOG_INDEX, 'payment.confirmed'))).toEqual({
      outcome: 'ignored',
      reason: 'gas top-up by the payout signer',
    });
    expect(await reload(deal.id)).toMatchObject({ needsReview: false, reviewReasons: [] });
    expect(await paymentRows(deal.id)).toEqual([]);
  });

  it('an impostor "USDT", a zero-value transfer and dust are ignored', async () => {
    const deal = await newDeal();
    await payAndConfirm(deal, DUE, contracts.impostor);
    const zero = await sendToken(c, USDT, deal.deposit, 0n);
    expect(await verifier.verify(jobFor(zero, logTo(zero, deal.deposit)))).toEqual({
      outcome: 'ignored',
      reason: 'zero value',
    });
    await payAndConfirm(deal, 9_999n); // below the deal's dust threshold of 10_000
    const after = await reload(deal.id);
    expect(after).toMatchObject({ state: 'awaiting_payment', confirmedAmount: 0n, needsReview: false });
    expect((await paymentRows(deal.id)).map((r) => r.classification)).toEqual(['ignored', 'ignored']);
  });

  it('money from a denylisted sender is recorded, not counted, and flags the deal', async () => {
    const deal = await newDeal();
    const receipt = await sendToken(c, USDT, deal.deposit, DUE, BUYER);
    // the denylisted account pays too
    await mint(c, USDT, DENYLISTED.address, DUE);
    const bad = await sendToken(c, USDT, deal.deposit, DUE, DENYLISTED);
    await mine(c, CONFIRMATIONS);
    await verifier.verify(jobFor(receipt, logTo(receipt, deal.deposit), 'payment.confirmed'));
    await verifier.verify(jobFor(bad, logTo(bad, deal.deposit), 'payment.confirmed'));
    const after = await reload(deal.id);
    expect(after).toMatchObject({ state: 'funded', confirmedAmount: DUE, needsReview: true });
    expect(after.reviewReasons).toContain('denylisted_sender');
  });

  it('a payment made after the window (by block time) is late: recorded, flagged, never funds', async () => {
    const deal = await newDeal({
      periods: { paymentWindowSec: 60, deliveryPeriodSec: 3600, inspectionPeriodSec: 3600 },
    });
    const deadline = (deal.deadlines.payment as Date).getTime() / 1000;
    await c.testClient.setNextBlockTimestamp({ timestamp: BigInt(Math.ceil(deadline) + 30) });
    await payAndConfirm(deal, DUE);
    const after = await reload(deal.id);
    expect(after).toMatchObject({ confirmedAmount: 0n, needsReview: true });
    expect(after.state).not.toBe('funded');
    expect(after.reviewReasons).toContain('late_payment');
  });

  it('money to an address no deal owns is recorded without a deal', async () => {
    const stranger = freshAddress();
    const receipt = await sendToken(c, USDT, stranger, 5_000_000n);
    expect(await verifier.verify(jobFor(receipt, logTo(receipt, stranger)))).toEqual({
      outcome: 'unattributed',
      status: 'pending',
    });
    const { rows } = await db.pool.query('SELECT deal_id, amount::text FROM payments WHERE to_address = $1', [
      stranger.toLowerCase(),
    ]);
    expect(rows).toEqual([{ deal_id: null, amount: '5000000' }]);
  });

  it('a report naming another deal is recorded for the deal the chain says was paid', async () => {
    const paid = await newDeal();
    const other = await newDeal();
    const receipt = await sendToken(c, USDT, paid.deposit, DUE);
    await mine(c, CONFIRMATIONS);
    const job = { ...jobFor(receipt, logTo(receipt, paid.deposit), 'payment.confirmed'), to: other.deposit };
    await verifier.verify(job);
    expect((await reload(paid.id)).state).toBe('funded');
    expect((await reload(other.id)).state).toBe('awaiting_payment');
  });

  it('a report of a log that is not a transfer, or of a transaction that never happened, records nothing', async () => {
    const deal = await newDeal();
    const receipt = await sendToken(c, USDT, deal.deposit, DUE);
    expect(await verifier.verify(jobFor(receipt, 99))).toMatchObject({ outcome: 'not_on_chain' });
    const fake = { ...receipt, transactionHash: `0x${'ab'.repeat(32)}` as Hex };
    expect(await verifier.verify(jobFor(fake, 0))).toMatchObject({ outcome: 'not_on_chain' });
    expect(await paymentRows(deal.id)).toEqual([]);
  });

  it('a "confirmed" report the worker cannot see confirmed yet is recorded pending and retried', async () => {
    const deal = await newDeal();
    const receipt = await sendToken(c, USDT, deal.deposit, DUE);
    await expect(
      verifier.verify(jobFor(receipt, logTo(receipt, deal.deposit), 'payment.confirmed')),
    ).rejects.toBeInstanceOf(ChainReadRetry);
    expect(await reload(deal.id)).toMatchObject({ state: 'awaiting_payment', confirmingAmount: DUE });
  });

  it('a reorg that drops a payment un-funds the deal; after delivery it goes to review', async () => {
    const deal = await newDeal();
    const receipt = await payAndConfirm(deal, DUE);
    expect((await reload(deal.id)).state).toBe('funded');
    await reorg(c, CONFIRMATIONS + 1);
    const outcome = await verifier.verify(jobFor(receipt, logTo(receipt, deal.deposit), 'payment.reorged'));
    expect(outcome).toMatchObject({ outcome: 'reorged', dealId: deal.id });
    expect(await reload(deal.id)).toMatchObject({ state: 'awaiting_payment', confirmedAmount: 0n });
    expect(await paymentRows(deal.id)).toEqual([
      { status: 'reorged', classification: 'reorged', amount: DUE.toString() },
    ]);
  });

  it('a reorg after delivery flags the deal for review instead of stepping back', async () => {
    const { deal: d, asSeller } = await awaitingPaymentDeal(store, db.pool, () => freshAddress());
    const deal = { ...d, deposit: d.deposit?.address as Address };
    const receipt = await payAndConfirm(deal, DUE);
    await store.act(deal.id, { type: 'mark_delivered' }, asSeller);
    await reorg(c, CONFIRMATIONS + 1);
    await verifier.verify(jobFor(receipt, logTo(receipt, deal.deposit), 'payment.reorged'));
    const after = await reload(deal.id);
    expect(after).toMatchObject({ state: 'delivered', needsReview: true, confirmedAmount: 0n });
    expect(after.reviewReasons).toContain('funding_lost_after_progress');
  });
});

describe('payments worker with two RPC endpoints', () => {
  it('a confirmation only one endpoint shows cannot fund a deal', async () => {
    // A second chain with the same id that never saw the payment: a lying (or forked) endpoint.
    const liar = await startAnvil();
    try {
      await chainClients(liar.rpcUrl).testClient.mine({ blocks: 500 });
      const twoEndpoints = createRegistry({
        rpcUrls: { 31337: [anvil.rpcUrl, liar.rpcUrl] },
        overrides: { chains: { 31337: { confirmations: CONFIRMATIONS } } },
      });
      const cautious = new PaymentVerifier({
        store,
        registry: twoEndpoints,
        denylist: new Set(),
        logger: createLogger('test', 'silent'),
      });
      const deal = await newDeal();
      const receipt = await sendToken(c, USDT, deal.deposit, DUE);
      await mine(c, CONFIRMATIONS);
      const job = jobFor(receipt, logTo(receipt, deal.deposit), 'payment.confirmed');
      // Whichever endpoint is asked first, the other one disagrees.
      for (let i = 0; i < 2; i++) await expect(cautious.verify(job)).rejects.toThrow(/disagree/);
      expect(await reload(deal.id)).toMatchObject({ state: 'awaiting_payment', confirmedAmount: 0n });

      // Two honest endpoints agree, and the deal is funded.
      const honest = new PaymentVerifier({
        store,
        registry: createRegistry({
          rpcUrls: { 31337: [anvil.rpcUrl, `${anvil.rpcUrl}/`] },
          overrides: { chains: { 31337: { confirmations: CONFIRMATIONS } } },
        }),
        denylist: new Set(),
        logger: createLogger('test', 'silent'),
      });
      await honest.verify(job);
      expect((await reload(deal.id)).state).toBe('funded');
    } finally {
      await liar.stop();
    }
  });
});
