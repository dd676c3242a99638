import { redisKeys } from '@amanat/core';
import {
  attemptsOf,
  createLogger,
  type DealStore,
  encodeObservedTx,
  liveAttempt,
  type PayoutAttempt,
  type PayoutRecordRef,
  payoutRecordState,
  payoutSenders,
  ScannerView,
} from '@amanat/platform';
import { type Address, erc20Abi, type PublicClient, parseEther } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_MNEMONIC, TEST_XPUB } from '../../../api/src/testing.ts';
import { DEMO_TOKENS } from '../../../devstack/chain.ts';
import { type ChainClients, mine, reorg, sendToken } from '../../../devstack/test-chain.ts';
import type { TestDatabase, TestRedis } from '../../../devstack/testing.ts';
import { makeParties, newDealInput } from '../../../platform/src/deals/test-fixtures.ts';
import type { TestScanner } from '../../../scanner/src/test-scanner.ts';
import { failureCode } from './execute.ts';
import { loadPayoutKeys, type PayoutKeys } from './keys.ts';
import { bumpFee, type SendContext, sendOnce } from './send.ts';
import { type SignerTestRig, startSignerTestRig } from './test-rig.ts';
import type { OutgoingTransfer, SendState, SignerAccount } from './types.ts';

const USDT = DEMO_TOKENS.usdt.address as Address;
const CONFIRMATIONS = 2;

let rig: SignerTestRig;
let c: ChainClients;
let db: TestDatabase;
let redis: TestRedis;
/** The real scanner over the test's anvil: sendOnce confirms nothing it has not seen. */
let scanner: TestScanner;
let store: DealStore;
let keys: PayoutKeys;
let ctx: SendContext;
// Deposit indexes above anvil's ten funded dev accounts (the test mnemonic is anvil's): empty addresses.
let nextIndex = 100n;

beforeAll(async () => {
  rig = await startSignerTestRig(CONFIRMATIONS);
  ({ c, db, redis, scanner, store } = rig);
  keys = loadPayoutKeys({
    PAYOUT_MNEMONIC: TEST_MNEMONIC,
    GAS_TANK_KEY: generatePrivateKey(),
    DEPOSIT_XPUB: TEST_XPUB,
  });
  ctx = {
    pool: db.pool,
    chain: c.publicClient as PublicClient,
    confirmations: CONFIRMATIONS,
    scannerView: new ScannerView(redis.redis, redis.prefix),
    logger: createLogger('test', 'silent'),
  };
});
afterAll(async () => {
  await rig?.close();
});

/** Mines `blocks` and waits for the scanner to have scanned them. */
async function mineScanned(blocks: number): Promise<void> {
  await mine(c, blocks);
  await scanner.caughtUp();
}
const watchedSenders = () => payoutSenders(redis.redis, redis.prefix, 31337);

const freshAddress = () => privateKeyToAccount(generatePrivateKey()).address;
const tokenBalance = (who: Address) =>
  c.publicClient.readContract({ address: USDT, abi: erc20Abi, functionName: 'balanceOf', args: [who] });
const nativeBalance = (who: Address) => c.publicClient.getBalance({ address: who });
const sentCount = (who: Address) => c.publicClient.getTransactionCount({ address: who, blockTag: 'pending' });

/** A deposit address holding `tokens` USDT and `gas` wei. */
async function fundedDeposit(tokens: bigint, gas = parseEther('1')): Promise<SignerAccount> {
  const signer = keys.depositSigner(nextIndex++);
  if (tokens > 0n) await sendToken(c, USDT, signer.address, tokens);
  if (gas > 0n) await c.testClient.setBalance({ address: signer.address, value: gas });
  return signer;
}

/** Payout legs of a fresh deal, one per amount, paying `token`. */
async function legs(token: 'native' | Address, amounts: bigint[]): Promise<PayoutRecordRef[]> {
  const parties = await makeParties(db.pool);
  const { deal } = await store.create(newDealInput(parties.seller.id));
  const kinds = ['seller', 'buyer_excess', 'buyer_refund', 'buyer_share'];
  const refs: PayoutRecordRef[] = [];
  for (const [i, amount] of amounts.entries()) {
    const { rows } = await db.pool.query(
      `INSERT INTO payout_legs (deal_id, cause, kind, chain_id, token, recipient, amount)
       VALUES ($1, '9', $2, 31337, $3, $4, $5) RETURNING id`,
      [deal.id, kinds[i], token, freshAddress(), amount.toString()],
    );
    refs.push({ table: 'payout_legs', id: BigInt(rows[0].id) });
  }
  return refs;
}

const transfer = (
  record: PayoutRecordRef,
  from: SignerAccount,
  to: Address,
  amount: bigint,
  token: 'native' | Address = USDT,
): OutgoingTransfer => ({ record, chainId: 31337, from, to, token, amount });

const crash = (what: string) => async () => {
  throw new Error(`simulated crash ${what}`);
};

describe('sendOnce', () => {
  it('pays a token leg (no return value) and confirms it at the confirmation count', async () => {
    const from = await fundedDeposit(100_000_000n);
    const [leg] = await legs(USDT, [99_000_000n]);
    const to = freshAddress();
    const t = transfer(leg as PayoutRecordRef, from, to, 99_000_000n);

    const first = await sendOnce(ctx, t);
    // anvil mined it at once: one block deep, two needed.
    expect(first).toMatchObject({ status: 'broadcast', nonce: 0n });
    expect(await payoutRecordState(db.pool, t.record)).toMatchObject({ status: 'broadcast' });
    // Its sender is watched by the scanner while it is in flight, and no longer once it is final.
    expect(await watchedSenders()).toContain(from.address.toLowerCase());
    await mineScanned(1);
    const done = await sendOnce(ctx, t);
    expect(done).toMatchObject({ status: 'confirmed', txHash: first.txHash });
    expect(await payoutRecordState(db.pool, t.record)).toEqual({
      status: 'confirmed',
      failure: null,
      txHash: first.txHash,
    });
    expect((await liveAttempt(db.pool, 'payout_legs', t.record.id))?.status).toBe('mined');
    expect(await watchedSenders()).not.toContain(from.address.toLowerCase());
    // Called again: the same answer, and nothing more sent.
    expect(await sendOnce(ctx, t)).toEqual(done);
    expect(await tokenBalance(to)).toBe(99_000_000n);
    expect(await tokenBalance(from.address)).toBe(1_000_000n);
    expect(await sentCount(from.address)).toBe(1);
  });

  it('pays a native leg to the wei', async () => {
    const from = await fundedDeposit(0n, parseEther('2'));
    const [leg] = await legs('native', [parseEther('1.5')]);
    const to = freshAddress();
    const t = transfer(leg as PayoutRecordRef, from, to, parseEther('1.5'), 'native');
    const sent = await sendOnce(ctx, t);
    expect(sent.status).toBe('broadcast');
    await mineScanned(CONFIRMATIONS);
    expect(await sendOnce(ctx, t)).toMatchObject({ status: 'confirmed', txHash: sent.txHash });
    expect(await nativeBalance(to)).toBe(parseEther('1.5'));
    const receipt = await c.publicClient.getTransactionReceipt({ hash: sent.txHash as `0x${string}` });
    expect(await nativeBalance(from.address)).toBe(
      parseEther('0.5') - receipt.gasUsed * receipt.effectiveGasPrice,
    );
  });

  it('after a crash between signing and broadcasting, broadcasts the same transaction: paid once', async () => {
    const from = await fundedDeposit(50_000_000n);
    const [leg] = await legs(USDT, [50_000_000n]);
    const to = freshAddress();
    const t = transfer(leg as PayoutRecordRef, from, to, 50_000_000n);

    await expect(sendOnce({ ...ctx, hooks: { afterSign: crash('after signing') } }, t)).rejects.toThrow(
      'after signing',
    );
    const signed = await liveAttempt(db.pool, 'payout_legs', t.record.id);
    expect(signed).toMatchObject({ status: 'signed', nonce: 0n });
    expect(await payoutRecordState(db.pool, t.record)).toMatchObject({ status: 'signed' });
    expect(await sentCount(from.address)).toBe(0);
    expect(await tokenBalance(to)).toBe(0n);

    const again = await sendOnce(ctx, t);
    expect(again).toMatchObject({ status: 'broadcast', txHash: signed?.txHash });
    await mineScanned(CONFIRMATIONS);
    expect(await sendOnce(ctx, t)).toMatchObject({ status: 'confirmed', txHash: signed?.txHash });
    expect(await attemptsOf(db.pool, 'payout_legs', t.record.id)).toHaveLength(1);
    expect(await tokenBalance(to)).toBe(50_000_000n);
    expect(await tokenBalance(from.address)).toBe(0n);
    expect(await sentCount(from.address)).toBe(1);
  });

  it('after a crash between broadcasting and recording it, finds the same transaction: paid once', async () => {
    const from = await fundedDeposit(30_000_000n);
    const [leg] = await legs(USDT, [30_000_000n]);
    const to = freshAddress();
    const t = transfer(leg as PayoutRecordRef, from, to, 30_000_000n);

    await expect(
      sendOnce({ ...ctx, hooks: { afterBroadcast: crash('after broadcasting') } }, t),
    ).rejects.toThrow('after broadcasting');
    const signed = await liveAttempt(db.pool, 'payout_legs', t.record.id);
    // The node has it (anvil mined it), the database still says signed.
    expect(await payoutRecordState(db.pool, t.record)).toMatchObject({ status: 'signed' });
    expect(await tokenBalance(to)).toBe(30_000_000n);

    await mineScanned(CONFIRMATIONS);
    expect(await sendOnce(ctx, t)).toMatchObject({ status: 'confirmed', txHash: signed?.txHash });
    expect(await attemptsOf(db.pool, 'payout_legs', t.record.id)).toHaveLength(1);
    expect(await tokenBalance(to)).toBe(30_000_000n);
    expect(await sentCount(from.address)).toBe(1);
  });

  it('re-broadcasts a transaction still waiting in the mempool without an error, and confirms it once', async () => {
    const from = await fundedDeposit(40_000_000n);
    const [leg] = await legs(USDT, [40_000_000n]);
    const to = freshAddress();
    const t = transfer(leg as PayoutRecordRef, from, to, 40_000_000n);
    await c.testClient.setAutomine(false);
    try {
      await expect(
        sendOnce({ ...ctx, hooks: { afterBroadcast: crash('after broadcasting') } }, t),
      ).rejects.toThrow('after broadcasting');
      const signed = await liveAttempt(db.pool, 'payout_legs', t.record.id);
      // The node already knows it: sending it again is not an error.
      expect(await sendOnce(ctx, t)).toEqual({ status: 'broadcast', txHash: signed?.txHash, nonce: 0n });
      expect(await sendOnce(ctx, t)).toEqual({ status: 'broadcast', txHash: signed?.txHash, nonce: 0n });
      expect(await payoutRecordState(db.pool, t.record)).toMatchObject({ status: 'broadcast' });
    } finally {
      await c.testClient.setAutomine(true);
    }
    await mineScanned(CONFIRMATIONS);
    expect((await sendOnce(ctx, t)).status).toBe('confirmed');
    expect(await tokenBalance(to)).toBe(40_000_000n);
    expect(await sentCount(from.address)).toBe(1);
  });

  it('sends one transaction when the same record is sent twice at once', async () => {
    const from = await fundedDeposit(20_000_000n);
    const [leg] = await legs(USDT, [20_000_000n]);
    const to = freshAddress();
    const t = transfer(leg as PayoutRecordRef, from, to, 20_000_000n);

    const [a, b] = await Promise.all([sendOnce(ctx, t), sendOnce(ctx, t)]);
    expect(a.txHash).toBe(b.txHash);
    await mineScanned(CONFIRMATIONS);
    expect(await sendOnce(ctx, t)).toMatchObject({ status: 'confirmed', txHash: a.txHash });
    expect(await attemptsOf(db.pool, 'payout_legs', t.record.id)).toHaveLength(1);
    expect(await tokenBalance(to)).toBe(20_000_000n);
    expect(await tokenBalance(from.address)).toBe(0n);
    expect(await sentCount(from.address)).toBe(1);
  });

  it('gives two records from one address consecutive nonces', async () => {
    const from = await fundedDeposit(10_000_000n);
    const [first, second] = await legs(USDT, [7_000_000n, 3_000_000n]);
    const [to1, to2] = [freshAddress(), freshAddress()];
    const t1 = transfer(first as PayoutRecordRef, from, to1, 7_000_000n);
    const t2 = transfer(second as PayoutRecordRef, from, to2, 3_000_000n);

    await Promise.all([sendOnce(ctx, t1), sendOnce(ctx, t2)]);
    const nonces = await Promise.all(
      [t1, t2].map(async (t) => (await liveAttempt(db.pool, 'payout_legs', t.record.id))?.nonce),
    );
    expect(nonces.sort()).toEqual([0n, 1n]);
    await mineScanned(CONFIRMATIONS);
    expect((await sendOnce(ctx, t1)).status).toBe('confirmed');
    expect((await sendOnce(ctx, t2)).status).toBe('confirmed');
    expect([await tokenBalance(to1), await tokenBalance(to2), await tokenBalance(from.address)]).toEqual([
      7_000_000n,
      3_000_000n,
      0n,
    ]);
    expect(await sentCount(from.address)).toBe(2);
  });

  it('marks a reverted token transfer failed, with the reason, and never retries it', async () => {
    // Two legs each of the whole balance: both estimate fine, the second to be mined reverts.
    const from = await fundedDeposit(5_000_000n);
    const [first, second] = await legs(USDT, [5_000_000n, 5_000_000n]);
    const [to1, to2] = [freshAddress(), freshAddress()];
    const t1 = transfer(first as PayoutRecordRef, from, to1, 5_000_000n);
    const t2 = transfer(second as PayoutRecordRef, from, to2, 5_000_000n);

    await expect(sendOnce({ ...ctx, hooks: { afterSign: crash('after signing') } }, t1)).rejects.toThrow();
    const signed = await liveAttempt(db.pool, 'payout_legs', t1.record.id);
    expect(signed?.nonce).toBe(0n);
    // Nonce 1 waits behind the unsent nonce 0.
    expect(await sendOnce(ctx, t2)).toMatchObject({ status: 'broadcast', nonce: 1n });
    expect(await sendOnce(ctx, t1)).toMatchObject({ txHash: signed?.txHash });
    await mineScanned(CONFIRMATIONS + 1);

    expect((await sendOnce(ctx, t1)).status).toBe('confirmed');
    const failed = await sendOnce(ctx, t2);
    expect(failed).toMatchObject({
      status: 'failed',
      reason: expect.stringMatching(/^reverted in block \d+/),
    });
    expect(failed.status === 'failed' && failed.reason).toContain('USDT: transfer amount exceeds balance');
    expect(await payoutRecordState(db.pool, t2.record)).toMatchObject({
      status: 'failed',
      txHash: failed.txHash,
      failure: (failed as { reason: string }).reason,
    });
    // Final: asked again, it stays failed and sends nothing.
    expect(await sendOnce(ctx, t2)).toEqual(failed);
    expect([await tokenBalance(to1), await tokenBalance(to2), await tokenBalance(from.address)]).toEqual([
      5_000_000n,
      0n,
      0n,
    ]);
    expect(await sentCount(from.address)).toBe(2);
  });

  it('keeps a transfer the node refuses for lack of gas signed, and sends that same one once funded', async () => {
    const from = await fundedDeposit(1_000_000n, 0n);
    const [leg] = await legs(USDT, [1_000_000n]);
    const to = freshAddress();
    const t = transfer(leg as PayoutRecordRef, from, to, 1_000_000n);
    const state = await sendOnce(ctx, t);
    const signed = await liveAttempt(db.pool, 'payout_legs', t.record.id);
    const cost = (signed?.gasLimit ?? 0n) * (signed?.maxFeePerGas ?? 0n);
    expect(state).toEqual({
      status: 'needs_gas',
      txHash: signed?.txHash,
      nonce: 0n,
      address: from.address,
      shortfall: cost,
    });
    // Not failed: the record keeps its transaction (and its nonce), and calling again asks again.
    expect(await payoutRecordState(db.pool, t.record)).toMatchObject({ status: 'signed', failure: null });
    expect(signed?.status).toBe('signed');
    expect(await sendOnce(ctx, t)).toEqual(state);

    await c.testClient.setBalance({ address: from.address, value: cost });
    expect(await sendOnce(ctx, t)).toMatchObject({ status: 'broadcast', txHash: signed?.txHash, nonce: 0n });
    await mineScanned(CONFIRMATIONS);
    expect(await sendOnce(ctx, t)).toMatchObject({ status: 'confirmed', txHash: signed?.txHash });
    expect(await attemptsOf(db.pool, 'payout_legs', t.record.id)).toHaveLength(1);
    expect(await tokenBalance(to)).toBe(1_000_000n);
    expect(await tokenBalance(from.address)).toBe(0n);
    expect(await sentCount(from.address)).toBe(1);
  });
});

describe('sendOnce and the scanner', () => {
  it('does not confirm before the scanner has scanned the confirmation count past it, and confirms once it has', async () => {
    const from = await fundedDeposit(8_000_000n);
    const [leg] = await legs(USDT, [8_000_000n]);
    const to = freshAddress();
    const t = transfer(leg as PayoutRecordRef, from, to, 8_000_000n);
    await scanner.stop();
    try {
      const sent = await sendOnce(ctx, t);
      await mine(c, CONFIRMATIONS);
      const receipt = await c.publicClient.getTransactionReceipt({ hash: sent.txHash as `0x${string}` });
      const head = await c.publicClient.getBlockNumber({ cacheTime: 0 });
      // The receipt alone would do: mined with success, the confirmation count deep, the Transfer log there.
      expect(receipt.status).toBe('success');
      expect(head - receipt.blockNumber + 1n).toBeGreaterThanOrEqual(BigInt(CONFIRMATIONS));
      expect((await scanner.cursor()) ?? -1n).toBeLessThan(receipt.blockNumber);
      expect(await sendOnce(ctx, t)).toEqual({ status: 'broadcast', txHash: sent.txHash, nonce: 0n });
      expect(await payoutRecordState(db.pool, t.record)).toMatchObject({ status: 'broadcast' });
    } finally {
      await scanner.start();
    }
    await scanner.caughtUp();
    expect(await sendOnce(ctx, t)).toMatchObject({ status: 'confirmed' });
    expect(await tokenBalance(to)).toBe(8_000_000n);
    expect(await sentCount(from.address)).toBe(1);
  });

  it('a payout a reorg moves into another block waits for the scanner to follow, and is confirmed there', async () => {
    const from = await fundedDeposit(0n, parseEther('1'));
    const [leg] = await legs('native', [12_345n]);
    const to = freshAddress();
    const t = transfer(leg as PayoutRecordRef, from, to, 12_345n, 'native');
    const sent = await sendOnce(ctx, t);
    const hash = sent.txHash as `0x${string}`;
    const first = await c.publicClient.getTransactionReceipt({ hash });
    await scanner.caughtUp();
    expect((await ctx.scannerView.look(31337, hash)).seen?.blockHash).toBe(first.blockHash);

    await scanner.stop();
    let moved: Awaited<ReturnType<typeof c.publicClient.getTransactionReceipt>>;
    try {
      const attempt = (await liveAttempt(db.pool, 'payout_legs', t.record.id)) as PayoutAttempt;
      await mine(c, 1);
      await reorg(c, 2, [[attempt.rawTx, 1]]);
      moved = await c.publicClient.getTransactionReceipt({ hash });
      expect(moved.blockHash).not.toBe(first.blockHash);
      await mine(c, CONFIRMATIONS);
      // The receipt is deep enough in its new block; the scanner saw the transaction in the old one.
      expect(await sendOnce(ctx, t)).toEqual({ status: 'broadcast', txHash: hash, nonce: 0n });
    } finally {
      await scanner.start();
    }
    await scanner.caughtUp();
    expect((await ctx.scannerView.look(31337, hash)).seen?.blockHash).toBe(moved.blockHash);
    expect(await sendOnce(ctx, t)).toMatchObject({ status: 'confirmed', txHash: hash });
    expect(await nativeBalance(to)).toBe(12_345n);
    expect(await sentCount(from.address)).toBe(1);
  });

  it('fails a payout the scanner saw move something else than its receipt, for a person to look at', async () => {
    const from = await fundedDeposit(9_000_000n);
    const [leg] = await legs(USDT, [9_000_000n]);
    const to = freshAddress();
    const t = transfer(leg as PayoutRecordRef, from, to, 9_000_000n);
    const sent = await sendOnce(ctx, t);
    await mineScanned(CONFIRMATIONS);
    // The scanner's own record of the transaction, made wrong: one base unit less arrived.
    const seen = (await ctx.scannerView.look(31337, sent.txHash as string)).seen;
    expect(seen?.transfers).toEqual([
      {
        token: USDT.toLowerCase(),
        from: from.address.toLowerCase(),
        to: to.toLowerCase(),
        amount: 9_000_000n,
      },
    ]);
    if (!seen) throw new Error('the scanner did not see the payout');
    const wrong = { ...seen, transfers: seen.transfers.map((x) => ({ ...x, amount: x.amount - 1n })) };
    await redis.redis.hset(redisKeys(redis.prefix).outgoingSeen(31337), seen.txHash, encodeObservedTx(wrong));

    const failed = await sendOnce(ctx, t);
    expect(failed).toMatchObject({ status: 'failed', txHash: sent.txHash });
    const reason = failed.status === 'failed' ? failed.reason : '';
    expect(reason).toContain(`8999999 of ${USDT.toLowerCase()}`);
    expect(failureCode(reason)).toBe('scanner_mismatch');
    expect(await payoutRecordState(db.pool, t.record)).toEqual({
      status: 'failed',
      failure: reason,
      txHash: sent.txHash,
    });
    expect(await watchedSenders()).not.toContain(from.address.toLowerCase());
    // Final: nothing is sent again.
    expect(await sendOnce(ctx, t)).toEqual(failed);
    expect(await sentCount(from.address)).toBe(1);
  });
});

describe('sendOnce with a stuck transaction', () => {
  /** Blocks are mined only when a test says so (broadcastLeg stops automine), from a base fee it sets. */
  async function withoutAutomine(body: () => Promise<void>) {
    try {
      await body();
    } finally {
      await c.testClient.setAutomine(true);
    }
  }
  /** One block, at this base fee, that a transaction bidding less per gas cannot be in. */
  async function mineAtBaseFee(baseFeePerGas: bigint) {
    await c.testClient.setNextBlockBaseFeePerGas({ baseFeePerGas });
    await c.testClient.mine({ blocks: 1 });
  }
  const receiptOf = (hash: `0x${string}`) => c.publicClient.getTransactionReceipt({ hash }).catch(() => null);
  /** A token leg paying `amount` from a fresh deposit address, and its first transaction, broadcast. */
  async function broadcastLeg(amount: bigint, context: SendContext = ctx) {
    const from = await fundedDeposit(amount);
    const [leg] = await legs(USDT, [amount]);
    const to = freshAddress();
    const t = transfer(leg as PayoutRecordRef, from, to, amount);
    await c.testClient.setAutomine(false);
    expect(await sendOnce(context, t)).toMatchObject({ status: 'broadcast', nonce: 0n });
    const original = (await liveAttempt(db.pool, 'payout_legs', t.record.id)) as PayoutAttempt;
    return { from, to, t, original };
  }
  /** Paid once, by `hash`, with one nonce of the deposit address spent. */
  async function expectPaidOnceBy(
    { from, to, t }: { from: SignerAccount; to: Address; t: OutgoingTransfer },
    hash: string,
  ) {
    await scanner.caughtUp();
    expect(await sendOnce(ctx, t)).toMatchObject({ status: 'confirmed', txHash: hash });
    expect(await payoutRecordState(db.pool, t.record)).toEqual({
      status: 'confirmed',
      failure: null,
      txHash: hash,
    });
    const attempts = await attemptsOf(db.pool, 'payout_legs', t.record.id);
    const mined = await Promise.all(attempts.map((a) => receiptOf(a.txHash)));
    expect(mined.filter(Boolean)).toHaveLength(1);
    expect(attempts.filter((a) => a.status === 'mined').map((a) => a.txHash)).toEqual([hash]);
    expect(attempts.filter((a) => a.status !== 'mined').every((a) => a.status === 'replaced')).toBe(true);
    expect(await tokenBalance(to)).toBe(t.amount);
    expect(await tokenBalance(from.address)).toBe(0n);
    expect(await c.publicClient.getTransactionCount({ address: from.address })).toBe(1);
  }

  it('replaces a transaction the base fee outgrew with a higher fee under the same nonce: paid once', async () => {
    let leg!: Awaited<ReturnType<typeof broadcastLeg>>;
    let replacement!: PayoutAttempt;
    await withoutAutomine(async () => {
      leg = await broadcastLeg(60_000_000n);
      const { t, original } = leg;
      await mineAtBaseFee(original.maxFeePerGas * 4n);
      expect(await receiptOf(original.txHash)).toBeNull();

      const state = await sendOnce(ctx, t);
      expect(state).toMatchObject({ status: 'broadcast', nonce: 0n });
      expect(state.txHash).not.toBe(original.txHash);
      const attempts = await attemptsOf(db.pool, 'payout_legs', t.record.id);
      expect(attempts.map((a) => [a.status, a.nonce])).toEqual([
        ['replaced', 0n],
        ['broadcast', 0n],
      ]);
      replacement = attempts[1] as PayoutAttempt;
      expect(replacement.txHash).toBe(state.txHash);
      expect(replacement.gasLimit).toBe(original.gasLimit);
      expect(replacement.maxFeePerGas).toBeGreaterThanOrEqual(bumpFee(original.maxFeePerGas));
      expect(replacement.maxPriorityFeePerGas).toBeGreaterThanOrEqual(bumpFee(original.maxPriorityFeePerGas));
      // Fresh: asked again, it waits rather than replacing the replacement.
      expect(await sendOnce(ctx, t)).toMatchObject({ status: 'broadcast', txHash: replacement.txHash });
      expect(await attemptsOf(db.pool, 'payout_legs', t.record.id)).toHaveLength(2);
    });
    await mine(c, CONFIRMATIONS);
    expect(await receiptOf(leg.original.txHash)).toBeNull();
    await expectPaidOnceBy(leg, replacement.txHash);
  });

  it('settles on the original when it, not its replacement, is the one mined', async () => {
    let leg!: Awaited<ReturnType<typeof broadcastLeg>>;
    await withoutAutomine(async () => {
      // Stuck by waiting: one block passes without it (its fee is fine, the block just left it out).
      const patient = { ...ctx, replaceAfterBlocks: 1 };
      leg = await broadcastLeg(70_000_000n, patient);
      const { t, original } = leg;
      await mineAtBaseFee(original.maxFeePerGas * 4n);
      const replaced = await sendOnce(patient, t);
      expect(replaced.txHash).not.toBe(original.txHash);
      // The replacement never makes it; the original, sent again, does (another node kept it).
      await c.testClient.dropTransaction({ hash: replaced.txHash as `0x${string}` });
      await c.testClient.setNextBlockBaseFeePerGas({ baseFeePerGas: 1n });
      await c.publicClient.sendRawTransaction({ serializedTransaction: original.rawTx });
      await c.testClient.mine({ blocks: 1 });
      expect((await receiptOf(original.txHash))?.status).toBe('success');

      // Not deep enough yet: it waits on the mined original, and replaces nothing.
      expect(await sendOnce(patient, t)).toMatchObject({ status: 'broadcast', txHash: original.txHash });
      expect(await attemptsOf(db.pool, 'payout_legs', t.record.id)).toHaveLength(2);
      await c.testClient.mine({ blocks: CONFIRMATIONS });
    });
    await expectPaidOnceBy(leg, leg.original.txHash);
    const attempts = await attemptsOf(db.pool, 'payout_legs', leg.t.record.id);
    expect(attempts.map((a) => a.status)).toEqual(['mined', 'replaced']);
  });

  it('never bids above the fee cap: at the cap it stops replacing and waits', async () => {
    let leg!: Awaited<ReturnType<typeof broadcastLeg>>;
    let capped!: PayoutAttempt;
    await withoutAutomine(async () => {
      leg = await broadcastLeg(80_000_000n);
      const { t, original } = leg;
      const cap = bumpFee(original.maxFeePerGas) + 1n;
      const limited = { ...ctx, maxFeePerGas: cap };
      await mineAtBaseFee(original.maxFeePerGas * 4n);
      // The estimate is above the cap; the cap is still a 12.5 % raise, so it is what the replacement bids.
      const replaced = await sendOnce(limited, t);
      capped = (await liveAttempt(db.pool, 'payout_legs', t.record.id)) as PayoutAttempt;
      expect(capped).toMatchObject({ txHash: replaced.txHash, maxFeePerGas: cap });
      await mineAtBaseFee(original.maxFeePerGas * 4n);
      expect(await receiptOf(capped.txHash)).toBeNull();
      // Another raise would pass the cap: nothing new is signed, the capped one is sent again.
      expect(await sendOnce(limited, t)).toMatchObject({ status: 'broadcast', txHash: capped.txHash });
      expect(await attemptsOf(db.pool, 'payout_legs', t.record.id)).toHaveLength(2);
      // Fees fall: it gets in (sent again: anvil, unlike geth, refused it below the base fee).
      await c.testClient.setNextBlockBaseFeePerGas({ baseFeePerGas: 1n });
      expect(await sendOnce(limited, t)).toMatchObject({ status: 'broadcast', txHash: capped.txHash });
      await c.testClient.mine({ blocks: 1 });
    });
    await mine(c, CONFIRMATIONS);
    await expectPaidOnceBy(leg, capped.txHash);
  });

  it('a replacement the address cannot pay for waits for gas, and that same replacement goes out', async () => {
    let leg!: Awaited<ReturnType<typeof broadcastLeg>>;
    let needs!: SendState;
    await withoutAutomine(async () => {
      leg = await broadcastLeg(90_000_000n);
      const { from, t, original } = leg;
      // Exactly what the first transaction may cost: not what a higher fee needs.
      await c.testClient.setBalance({
        address: from.address,
        value: original.gasLimit * original.maxFeePerGas,
      });
      await mineAtBaseFee(original.maxFeePerGas * 4n);
      needs = await sendOnce(ctx, t);
      const replacement = (await liveAttempt(db.pool, 'payout_legs', t.record.id)) as PayoutAttempt;
      expect(needs).toEqual({
        status: 'needs_gas',
        txHash: replacement.txHash,
        nonce: 0n,
        address: from.address,
        shortfall: replacement.gasLimit * (replacement.maxFeePerGas - original.maxFeePerGas),
      });
      expect(await payoutRecordState(db.pool, t.record)).toMatchObject({ status: 'broadcast' });
      await c.testClient.setBalance({
        address: from.address,
        value: replacement.gasLimit * replacement.maxFeePerGas,
      });
      expect(await sendOnce(ctx, t)).toMatchObject({ status: 'broadcast', txHash: replacement.txHash });
      expect(await attemptsOf(db.pool, 'payout_legs', t.record.id)).toHaveLength(2);
    });
    await mine(c, CONFIRMATIONS);
    await expectPaidOnceBy(leg, needs.txHash as string);
  });
});
