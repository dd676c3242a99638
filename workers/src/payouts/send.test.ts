import {
  attemptsOf,
  createLogger,
  DealStore,
  liveAttempt,
  type PayoutRecordRef,
  payoutRecordState,
} from '@amanat/platform';
import { type Address, erc20Abi, type PublicClient, parseEther } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_MNEMONIC, TEST_XPUB } from '../../../api/src/testing.ts';
import { type AnvilHandle, DEMO_TOKENS, deployDemoTokens, startAnvil } from '../../../devstack/chain.ts';
import { type ChainClients, chainClients, mine, sendToken } from '../../../devstack/test-chain.ts';
import { createTestDatabase, type TestDatabase } from '../../../devstack/testing.ts';
import { makeParties, newDealInput } from '../../../platform/src/deals/test-fixtures.ts';
import { loadPayoutKeys, type PayoutKeys } from './keys.ts';
import { type SendContext, sendOnce } from './send.ts';
import type { OutgoingTransfer, SignerAccount } from './types.ts';

const USDT = DEMO_TOKENS.usdt.address as Address;
const CONFIRMATIONS = 2;

let anvil: AnvilHandle;
let c: ChainClients;
let db: TestDatabase;
let store: DealStore;
let keys: PayoutKeys;
let ctx: SendContext;
// Deposit indexes above anvil's ten funded dev accounts (the test mnemonic is anvil's): empty addresses.
let nextIndex = 100n;

beforeAll(async () => {
  [anvil, db] = await Promise.all([startAnvil(), createTestDatabase()]);
  c = chainClients(anvil.rpcUrl);
  await deployDemoTokens(anvil.rpcUrl);
  store = new DealStore({ pool: db.pool });
  keys = loadPayoutKeys({
    PAYOUT_MNEMONIC: TEST_MNEMONIC,
    GAS_TANK_KEY: generatePrivateKey(),
    DEPOSIT_XPUB: TEST_XPUB,
  });
  ctx = {
    pool: db.pool,
    chain: c.publicClient as PublicClient,
    confirmations: CONFIRMATIONS,
    logger: createLogger('test', 'silent'),
  };
});
afterAll(async () => {
  await Promise.all([anvil?.stop(), db?.close()]);
});

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
    await mine(c, 1);
    const done = await sendOnce(ctx, t);
    expect(done).toMatchObject({ status: 'confirmed', txHash: first.txHash });
    expect(await payoutRecordState(db.pool, t.record)).toEqual({
      status: 'confirmed',
      failure: null,
      txHash: first.txHash,
    });
    expect((await liveAttempt(db.pool, 'payout_legs', t.record.id))?.status).toBe('mined');
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
    await mine(c, CONFIRMATIONS);
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
    await mine(c, CONFIRMATIONS);
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

    await mine(c, CONFIRMATIONS);
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
    await mine(c, CONFIRMATIONS);
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
    await mine(c, CONFIRMATIONS);
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
    await mine(c, CONFIRMATIONS);
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
    await mine(c, CONFIRMATIONS + 1);

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

  it('marks a transfer the node refuses for lack of gas failed, keeping the signed transaction', async () => {
    const from = await fundedDeposit(1_000_000n, 0n);
    const [leg] = await legs(USDT, [1_000_000n]);
    const t = transfer(leg as PayoutRecordRef, from, freshAddress(), 1_000_000n);
    const state = await sendOnce(ctx, t);
    expect(state).toMatchObject({ status: 'failed', reason: expect.stringMatching(/insufficient funds/) });
    expect(await payoutRecordState(db.pool, t.record)).toMatchObject({ status: 'failed' });
    expect((await liveAttempt(db.pool, 'payout_legs', t.record.id))?.status).toBe('signed');
    expect(await tokenBalance(from.address)).toBe(1_000_000n);
  });
});
