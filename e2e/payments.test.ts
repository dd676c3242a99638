// The whole payment path on real processes: anvil → scanner → signed callback → API → payments queue →
// workers → PostgreSQL. Edge cases the worker alone cannot show (what the scanner sees, reorgs before
// confirmation, other chains, old addresses) are checked here.

import { redisKeys } from '@amanat/core';
import { createRedis } from '@amanat/platform';
import { type Address, type Hex, parseAbi, parseEther } from 'viem';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AnvilHandle, DEMO_TOKENS, deployDemoTokens, startAnvil } from '../devstack/chain.ts';
import {
  BUYER,
  type ChainClients,
  chainClients,
  mine,
  reorg,
  sendNative,
  sendToken,
} from '../devstack/test-chain.ts';
import { type Pipeline, startPipeline } from './harness.ts';

const USDT = DEMO_TOKENS.usdt.address as Address;
const CONFIRMATIONS = 2;
const OTHER_CHAIN = 31338;

let anvil: AnvilHandle;
let second: AnvilHandle;
let c: ChainClients;
let c2: ChainClients;
let p: Pipeline;

beforeAll(async () => {
  [anvil, second] = await Promise.all([startAnvil(), startAnvil({ chainId: OTHER_CHAIN })]);
  c = chainClients(anvil.rpcUrl);
  c2 = chainClients(second.rpcUrl, OTHER_CHAIN);
  await deployDemoTokens(anvil.rpcUrl);
  p = await startPipeline({
    rpcUrls: { 31337: [anvil.rpcUrl], [OTHER_CHAIN]: [second.rpcUrl] },
    registry: {
      chains: {
        31337: { confirmations: CONFIRMATIONS },
        [OTHER_CHAIN]: { name: 'Second local chain', nativeSymbol: 'ETH', confirmations: CONFIRMATIONS },
      },
    },
  });
  await p.startAll();
}, 120_000);

afterAll(async () => {
  await p?.close();
  await Promise.all([anvil?.stop(), second?.stop()]);
});

const paymentRows = async (dealId: string) =>
  (
    await p.db.pool.query(
      `SELECT chain_id, status, classification, amount::text FROM payments WHERE deal_id = $1 ORDER BY id`,
      [dealId],
    )
  ).rows;

describe('payment pipeline on a real chain', () => {
  it('a payment is seen at inclusion and funds the deal at its confirmation count', async () => {
    const deal = await p.startDeal();
    await sendToken(c, USDT, deal.deposit, deal.amountDue);
    await p.waitForDeal(deal.id, (d) => d.confirmingAmount === deal.amountDue, 'confirming the payment');
    expect((await p.deal(deal.id)).state).toBe('awaiting_payment');
    await mine(c, CONFIRMATIONS);
    const funded = await p.waitForDeal(deal.id, (d) => d.state === 'funded', 'funded');
    expect(funded).toMatchObject({
      confirmedAmount: deal.amountDue,
      confirmingAmount: 0n,
      needsReview: false,
    });
    expect(await paymentRows(deal.id)).toEqual([
      { chain_id: 31337, status: 'confirmed', classification: 'counted', amount: deal.amountDue.toString() },
    ]);
  });

  it('a payment reorged out before its confirmations never funds; mined again elsewhere it does', async () => {
    const deal = await p.startDeal();
    const receipt = await sendToken(c, USDT, deal.deposit, deal.amountDue);
    await p.waitForDeal(deal.id, (d) => d.confirmingAmount === deal.amountDue, 'confirming the payment');
    const raw = (await c.publicClient.request({
      method: 'eth_getRawTransactionByHash' as never,
      params: [receipt.transactionHash] as never,
    })) as Hex;

    await reorg(c, 1);
    await p.waitForDeal(deal.id, (d) => d.confirmingAmount === 0n, 'rid of the reorged payment');
    await mine(c, CONFIRMATIONS + 1);
    expect((await p.deal(deal.id)).state).toBe('awaiting_payment');
    expect((await paymentRows(deal.id)).map((r) => r.status)).toEqual(['reorged']);

    // The same transaction mined again in a new block: the same payment, counted once.
    await reorg(c, 1, [[raw, 0]]);
    await mine(c, CONFIRMATIONS);
    await p.waitForDeal(deal.id, (d) => d.state === 'funded', 'funded by the re-included payment');
    expect(await paymentRows(deal.id)).toEqual([
      { chain_id: 31337, status: 'confirmed', classification: 'counted', amount: deal.amountDue.toString() },
    ]);
  });

  it('a transaction dropped before inclusion is never counted', async () => {
    const deal = await p.startDeal();
    await c.testClient.setAutomine(false);
    try {
      const hash = await c.wallet(BUYER).writeContract({
        address: USDT,
        abi: parseAbi(['function transfer(address to, uint256 value)']),
        functionName: 'transfer',
        args: [deal.deposit, deal.amountDue],
        chain: null,
        gas: 200_000n,
      });
      await c.testClient.dropTransaction({ hash });
      await mine(c, 1);
    } finally {
      await c.testClient.setAutomine(true);
    }
    // A real payment afterwards: once it is recorded, every earlier block has been scanned.
    await sendToken(c, USDT, deal.deposit, 1_000_000n);
    await mine(c, CONFIRMATIONS);
    await p.waitForDeal(deal.id, (d) => d.confirmedAmount === 1_000_000n, 'credited the included payment');
    expect(await paymentRows(deal.id)).toEqual([
      { chain_id: 31337, status: 'confirmed', classification: 'counted', amount: '1000000' },
    ]);
  });

  it('money on another configured chain to the same address is found and held as a foreign asset', async () => {
    const deal = await p.startDeal();
    await sendNative(c2, deal.deposit, parseEther('1'));
    await mine(c2, CONFIRMATIONS);
    const flagged = await p.waitForDeal(deal.id, (d) => d.needsReview, 'flagged for review');
    expect(flagged).toMatchObject({ state: 'awaiting_payment', confirmedAmount: 0n });
    expect(flagged.reviewReasons).toContain('foreign_asset');
    expect(await paymentRows(deal.id)).toEqual([
      {
        chain_id: OTHER_CHAIN,
        status: 'confirmed',
        classification: 'foreign',
        amount: parseEther('1').toString(),
      },
    ]);
  });

  it('money sent to the address of a closed deal is still found, and goes to review as late', async () => {
    const deal = await p.startDeal();
    // The deal is cancelled before any payment: its address moves to the cold (slow) watch set.
    const { rows } = await p.db.pool.query(
      `SELECT user_id FROM deal_parties WHERE deal_id = $1 AND role = 'seller'`,
      [deal.id],
    );
    await p.store.act(deal.id, { type: 'cancel' }, { kind: 'user', userId: rows[0].user_id, role: 'seller' });
    // The workers' maintenance moves it from the hot set to the cold one (scanned every few ticks only).
    const redis = createRedis(p.redisUrl, 'worker', 'e2e-watch');
    try {
      const keys = redisKeys(p.prefix);
      const lower = deal.deposit.toLowerCase();
      for (const deadline = Date.now() + 30_000; ; ) {
        const [hot, cold] = await Promise.all([
          redis.sismember(keys.watchSet(31337), lower),
          redis.sismember(keys.coldWatchSet(31337), lower),
        ]);
        if (hot === 0 && cold === 1) break;
        if (Date.now() > deadline) throw new Error('the address never moved to the cold watch set');
        await new Promise((r) => setTimeout(r, 100));
      }
    } finally {
      redis.disconnect();
    }
    // Months later, as far as the chain's clock goes.
    const latest = await c.publicClient.getBlock();
    await c.testClient.setNextBlockTimestamp({ timestamp: latest.timestamp + 90n * 86_400n });
    await sendToken(c, USDT, deal.deposit, deal.amountDue);
    await mine(c, CONFIRMATIONS + 5);
    const flagged = await p.waitForDeal(deal.id, (d) => d.needsReview, 'flagged for review');
    expect(flagged).toMatchObject({ state: 'cancelled', confirmedAmount: 0n });
    expect(flagged.reviewReasons).toContain('late_payment');
    expect((await paymentRows(deal.id)).map((r) => r.classification)).toEqual(['late']);
  });
});
