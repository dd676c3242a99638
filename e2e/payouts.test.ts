// Payouts on real processes: deals are funded through the pipeline (anvil → scanner → API → workers),
// decided over the API, and the payout signer (workers, payouts role) moves the money on anvil. After each
// case the chain and the ledger agree to the base unit: every party got exactly its payout legs, the
// deposit address is empty (of the deal's token), and every leg was paid by exactly one transaction.
import { QUEUES, redisKeys } from '@amanat/core';
import { createRedis } from '@amanat/platform';
import { Queue } from 'bullmq';
import { type Address, type Hex, parseAbi, parseEther, recoverTransactionAddress } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ARBITRATOR_TG,
  LOCAL_USDT,
  OPERATOR_TG,
  PAYOUT_ADDRESS,
  REFUND_ADDRESS,
} from '../api/src/testing.ts';
import { type AnvilHandle, deployDemoTokens, startAnvil } from '../devstack/chain.ts';
import { type ChainClients, chainClients, sendNative, sendToken } from '../devstack/test-chain.ts';
import { type RpcProxy, startRpcProxy } from '../scanner/src/rpc/test-proxy.ts';
import { type PayoutPipeline, startPayoutPipeline, TEST_FEE_ADDRESS, TEST_GAS_TANK_KEY } from './harness.ts';

const USDT = LOCAL_USDT as Address;
const CONFIRMATIONS = 2;
const GAS_TANK = privateKeyToAccount(TEST_GAS_TANK_KEY).address;
const BUYER_KINDS = ['buyer_excess', 'buyer_refund', 'buyer_share'];
const erc20 = parseAbi(['function balanceOf(address) view returns (uint256)']);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let anvil: AnvilHandle;
let c: ChainClients;
let p: PayoutPipeline;
let call: PayoutPipeline['call'];
/** The workers reach anvil through this proxy, so a test can hold their broadcasts where it wants. */
let workersRpc: RpcProxy;
/** Per raw transaction the workers broadcast: forward it, hold it before the node sees it, or after. */
let broadcastPolicy: (from: Address) => 'forward' | 'hold-before' | 'hold-after' = () => 'forward';
const held = new Set<Address>();
let releaseHeld: () => void = () => {};
const heldGate = new Promise<void>((resolve) => {
  releaseHeld = resolve;
});

beforeAll(async () => {
  anvil = await startAnvil();
  c = chainClients(anvil.rpcUrl);
  await deployDemoTokens(anvil.rpcUrl);
  workersRpc = await startRpcProxy({
    target: anvil.rpcUrl,
    behaviour: {
      kind: 'intercept',
      handle: async (rpc) => {
        if (rpc.method !== 'eth_sendRawTransaction') return undefined;
        const raw = (rpc.params as [Hex])[0];
        const from = await recoverTransactionAddress({ serializedTransaction: raw as never });
        const policy = broadcastPolicy(from);
        if (policy === 'forward') return undefined;
        held.add(from);
        if (policy === 'hold-after')
          await c.publicClient.request({ method: 'eth_sendRawTransaction', params: [raw] });
        // The process that asked is killed meanwhile; the answer goes nowhere.
        await heldGate;
        return { error: { code: -32000, message: 'held by the test' } };
      },
    },
  });
  p = await startPayoutPipeline(anvil.rpcUrl, {
    rpcUrls: { 31337: [anvil.rpcUrl] },
    registry: { chains: { 31337: { confirmations: CONFIRMATIONS } } },
    env: {
      api: { ARBITRATOR_TELEGRAM_IDS: String(ARBITRATOR_TG), OPERATOR_TELEGRAM_IDS: String(OPERATOR_TG) },
      workers: { RPC_URLS: JSON.stringify({ 31337: [workersRpc.url] }) },
    },
  });
  call = p.call;
}, 120_000);

afterAll(async () => {
  releaseHeld();
  await p?.close();
  await workersRpc?.close();
  await anvil?.stop();
});

type Asset = Address | 'native';

const balanceOf = (asset: Asset, who: Address): Promise<bigint> =>
  asset === 'native'
    ? c.publicClient.getBalance({ address: who })
    : c.publicClient.readContract({ address: asset, abi: erc20, functionName: 'balanceOf', args: [who] });

/** The shared recipients' balances and each deal's deposit address's, in one asset. */
async function balances(asset: Asset, deposits: Address[]) {
  const [seller, buyer, fee, ...deps] = await Promise.all(
    [PAYOUT_ADDRESS, REFUND_ADDRESS, TEST_FEE_ADDRESS, ...deposits].map((a) =>
      balanceOf(asset, a as Address),
    ),
  );
  return { seller, buyer, fee, deposits: deps } as {
    seller: bigint;
    buyer: bigint;
    fee: bigint;
    deposits: bigint[];
  };
}

interface LegRow {
  id: string;
  kind: string;
  amount: string;
  status: string;
  tx_hash: string | null;
}

const legsOf = async (dealId: string): Promise<LegRow[]> =>
  (
    await p.db.pool.query(
      `SELECT id::text, kind, amount::text, status, tx_hash FROM payout_legs WHERE deal_id = $1 ORDER BY id`,
      [dealId],
    )
  ).rows;

const sum = (legs: LegRow[], kinds: string[]) =>
  legs.filter((l) => kinds.includes(l.kind)).reduce((s, l) => s + BigInt(l.amount), 0n);

/** A deal paid in full through the pipeline (scanner, API, workers). */
async function fundedDeal(opts: { native?: boolean; extra?: bigint } = {}) {
  const deal = await p.startDeal(
    opts.native ? { asset: { chainId: 31337, token: 'native' }, amount: '0.5' } : {},
  );
  const paid = deal.amountDue + (opts.extra ?? 0n);
  if (opts.native) await sendNative(c, deal.deposit, paid);
  else await sendToken(c, USDT, deal.deposit, paid);
  await p.waitForDeal(deal.id, (d) => d.state === 'funded', 'funded');
  return { ...deal, paid, asset: (opts.native ? 'native' : USDT) as Asset };
}

/** What the deposit address's own transactions cost it in gas. */
async function gasSpentBy(deposit: Address): Promise<bigint> {
  const { rows } = await p.db.pool.query(
    `SELECT tx_hash FROM payout_attempts WHERE lower(from_address) = lower($1) AND status = 'mined'`,
    [deposit],
  );
  let spent = 0n;
  for (const { tx_hash } of rows) {
    const r = await c.publicClient.getTransactionReceipt({ hash: tx_hash });
    spent += r.gasUsed * r.effectiveGasPrice;
  }
  return spent;
}

type PaidDeal = { id: string; deposit: Address; paid: bigint; asset: Asset };

/**
 * The chain agrees with the ledger: each party's balance moved by exactly its legs, each deposit address
 * paid out everything it held, and each leg was paid by one transaction (the address's nonce counts them).
 */
async function expectLedgerOnChain(deals: PaidDeal[], before: Awaited<ReturnType<typeof balances>>) {
  const asset = (deals[0] as PaidDeal).asset;
  const after = await balances(
    asset,
    deals.map((d) => d.deposit),
  );
  const all: LegRow[] = [];
  for (const [i, deal] of deals.entries()) {
    const legs = await legsOf(deal.id);
    all.push(...legs);
    expect(legs.every((l) => l.status === 'confirmed' && l.tx_hash)).toBe(true);
    expect(sum(legs, ['seller', 'fee', ...BUYER_KINDS])).toBe(deal.paid);
    const { rows: topups } = await p.db.pool.query(
      `SELECT amount::text, status FROM gas_topups WHERE deal_id = $1`,
      [deal.id],
    );
    expect(topups.every((t) => t.status === 'confirmed')).toBe(true);
    const topup = topups.reduce((s, t) => s + BigInt(t.amount), 0n);
    const gas = await gasSpentBy(deal.deposit);
    const [was, is] = [before.deposits[i] as bigint, after.deposits[i] as bigint];
    if (asset === 'native') {
      // What arrived and the gas top-up, less the payouts and the gas they burned: to the wei.
      expect(is).toBe(was + topup - deal.paid - gas);
    } else {
      expect(is).toBe(was - deal.paid);
      expect(is).toBe(0n);
      expect(await c.publicClient.getBalance({ address: deal.deposit })).toBe(topup - gas);
    }
    // Exactly one signed transaction per leg, mined; the deposit address sent nothing else.
    const { rows: attempts } = await p.db.pool.query(
      `SELECT leg_id::text, status FROM payout_attempts WHERE leg_id = ANY($1::bigint[])`,
      [legs.map((l) => l.id)],
    );
    expect(attempts.map((a) => a.leg_id).sort()).toEqual(legs.map((l) => l.id).sort());
    expect(attempts.every((a) => a.status === 'mined')).toBe(true);
    expect(await c.publicClient.getTransactionCount({ address: deal.deposit })).toBe(legs.length);
    // The activity entry that settled the deal names every transaction.
    const { rows: entries } = await p.db.pool.query(
      `SELECT facts FROM activity_log WHERE deal_id = $1 AND action = 'payouts_confirmed'`,
      [deal.id],
    );
    expect(entries).toHaveLength(1);
    expect(
      (entries[0].facts.transactions as Array<{ kind: string; txHash: string }>)
        .map((t) => `${t.kind}:${t.txHash}`)
        .sort(),
    ).toEqual(legs.map((l) => `${l.kind}:${l.tx_hash}`).sort());
  }
  expect(after.seller - before.seller).toBe(sum(all, ['seller']));
  expect(after.buyer - before.buyer).toBe(sum(all, BUYER_KINDS));
  expect(after.fee - before.fee).toBe(sum(all, ['fee']));
  return all;
}

/** One deal decided by `decide`, paid out, and checked against the chain. */
async function payOut(deal: PaidDeal, decide: () => Promise<unknown>, state: string) {
  const before = await balances(deal.asset, [deal.deposit]);
  await decide();
  await p.waitForDeal(deal.id, (d) => d.state === state, state);
  return expectLedgerOnChain([deal], before);
}

describe('payouts on a real chain', () => {
  it('release: the buyer confirms, the seller and the fee are paid', async () => {
    const deal = await fundedDeal();
    const legs = await payOut(
      deal,
      () => call('POST', `/api/deals/${deal.id}/confirm`, deal.buyer, {}),
      'released',
    );
    expect(legs.map((l) => l.kind).sort()).toEqual(['fee', 'seller']);
  });

  it('refund: the seller cancels a funded deal and the buyer gets everything back', async () => {
    const deal = await fundedDeal();
    const cancel = () =>
      call('POST', `/api/deals/${deal.id}/cancel`, deal.seller, { reason: 'out of stock' });
    const legs = await payOut(deal, cancel, 'refunded');
    expect(legs.map((l) => l.kind)).toEqual(['buyer_refund']);
  });

  it('a dispute split by the arbitrator pays both sides and the fee', async () => {
    const deal = await fundedDeal();
    await call('POST', `/api/deals/${deal.id}/dispute`, deal.buyer, { reason: 'half of it is missing' });
    const arbitrator = await p.signIn(ARBITRATOR_TG);
    const resolve = () =>
      call('POST', `/api/deals/${deal.id}/resolve`, arbitrator, {
        outcome: 'split',
        buyerAmount: (deal.paid / 2n).toString(),
      });
    const legs = await payOut(deal, resolve, 'split');
    expect(legs.map((l) => l.kind).sort()).toEqual(['buyer_share', 'fee', 'seller']);
    expect(sum(legs, ['buyer_share'])).toBe(deal.paid / 2n);
  });

  it('an overpaid deal returns the excess to the buyer on release', async () => {
    const deal = await fundedDeal({ extra: 7_654_321n });
    const legs = await payOut(
      deal,
      () => call('POST', `/api/deals/${deal.id}/confirm`, deal.buyer, {}),
      'released',
    );
    expect(sum(legs, ['buyer_excess'])).toBe(7_654_321n);
  });

  it('a native-coin deal is paid out in the native coin', async () => {
    const deal = await fundedDeal({ native: true });
    const legs = await payOut(
      deal,
      () => call('POST', `/api/deals/${deal.id}/confirm`, deal.buyer, {}),
      'released',
    );
    expect(sum(legs, ['seller']) + sum(legs, ['fee'])).toBe(parseEther('0.5'));
  });

  it('the signer killed between signing and broadcasting, and between broadcasting and recording, pays once', async () => {
    const [a, b] = [await fundedDeal(), await fundedDeal()];
    const before = await balances(USDT, [a.deposit, b.deposit]);
    // a's first leg is signed and stored but never reaches the node; b's reaches the node (and is mined)
    // but the signer never hears back. Then the signer dies.
    broadcastPolicy = (from) =>
      from.toLowerCase() === a.deposit.toLowerCase()
        ? 'hold-before'
        : from.toLowerCase() === b.deposit.toLowerCase()
          ? 'hold-after'
          : 'forward';
    await call('POST', `/api/deals/${a.id}/confirm`, a.buyer, {});
    await call('POST', `/api/deals/${b.id}/confirm`, b.buyer, {});
    for (const deadline = Date.now() + 30_000; held.size < 2; await sleep(50)) {
      if (Date.now() > deadline) throw new Error('the payouts never reached the node');
    }
    const signed = await p.db.pool.query(
      `SELECT count(*)::int AS n FROM payout_legs WHERE deal_id = ANY($1::uuid[]) AND status = 'signed'`,
      [[a.id, b.id]],
    );
    expect(signed.rows[0].n).toBe(2);
    await p.services.get('workers')?.stop('SIGKILL');
    broadcastPolicy = () => 'forward';
    releaseHeld();
    await p.start('workers');

    for (const deal of [a, b])
      await p.waitForDeal(deal.id, (d) => d.state === 'released', 'released', 60_000);
    await expectLedgerOnChain([a, b], before);
  }, 90_000);

  it('an empty gas tank fails the payout clearly and flags the deal; refilled, an operator retries it', async () => {
    const tank = await c.publicClient.getBalance({ address: GAS_TANK });
    await c.testClient.setBalance({ address: GAS_TANK, value: 0n });
    try {
      const deal = await fundedDeal();
      await call('POST', `/api/deals/${deal.id}/confirm`, deal.buyer, {});
      const flagged = await p.waitForDeal(deal.id, (d) => d.needsReview, 'flagged for review');
      expect(flagged.state).toBe('releasing');
      expect(flagged.reviewReasons).toEqual(['payout_failed:gas_topup:gas_tank_empty']);
      expect((await legsOf(deal.id)).map((l) => l.status)).toEqual(['pending', 'pending']);
      const { rows } = await p.db.pool.query(`SELECT status, failure FROM gas_topups WHERE deal_id = $1`, [
        deal.id,
      ]);
      expect(rows).toEqual([{ status: 'failed', failure: 'gas_tank_empty' }]);
      expect(await balanceOf(USDT, deal.deposit)).toBe(deal.paid);
      expect(await c.publicClient.getTransactionCount({ address: deal.deposit })).toBe(0);
      // The job completed (no retry storm), and the operators' alert is queued.
      const prefix = redisKeys(p.prefix).bullPrefix;
      const redis = createRedis(p.redisUrl, 'worker', 'e2e-payouts');
      const queues = [QUEUES.payouts, QUEUES.notifications].map(
        (name) => new Queue(name, { connection: redis, prefix }),
      );
      try {
        const [payouts, notifications] = queues as [Queue, Queue];
        for (const deadline = Date.now() + 10_000; ; await sleep(100)) {
          const done = await payouts.getCompleted();
          const mine = done.find((j) => j.data.dealId === deal.id);
          if (mine) {
            expect(mine.returnvalue).toMatchObject({ outcome: 'held' });
            // Completed at its first attempt: nothing failed, nothing is retried.
            expect(mine.attemptsMade).toBe(1);
            expect(mine.stacktrace ?? []).toEqual([]);
            break;
          }
          if (Date.now() > deadline) throw new Error('the payout job never completed');
        }
        const alerts = await notifications.getJobs(['waiting', 'active', 'completed', 'delayed']);
        expect(alerts.some((j) => j.name === 'review-alert' && j.data.dealId === deal.id)).toBe(true);
      } finally {
        await Promise.all(queues.map((q) => q.close()));
        redis.disconnect();
      }

      // The tank is refilled: an operator sends the failed top-up again, and the release goes through.
      await c.testClient.setBalance({ address: GAS_TANK, value: tank });
      const operator = await p.signIn(OPERATOR_TG);
      const retried = (await call('POST', `/api/admin/deals/${deal.id}/retry-payouts`, operator, {
        note: 'The gas tank is refilled',
      })) as { retried: Array<{ record: string; failure: string }> };
      expect(retried.retried.map((r) => [r.record, r.failure])).toEqual([['gas_topup', 'gas_tank_empty']]);
      const released = await p.waitForDeal(deal.id, (d) => d.state === 'released', 'released');
      expect([released.needsReview, released.reviewReasons]).toEqual([false, []]);
      expect((await legsOf(deal.id)).map((l) => l.status)).toEqual(['confirmed', 'confirmed']);
      expect(await balanceOf(USDT, deal.deposit)).toBe(0n);
      // One top-up, sent once after the retry; then the seller's and the fee's transfers.
      const { rows: after } = await p.db.pool.query(
        `SELECT g.status, count(a.id)::int AS attempts FROM gas_topups g
         LEFT JOIN payout_attempts a ON a.topup_id = g.id WHERE g.deal_id = $1 GROUP BY g.id`,
        [deal.id],
      );
      expect(after).toEqual([{ status: 'confirmed', attempts: 1 }]);
      expect(await c.publicClient.getTransactionCount({ address: deal.deposit })).toBe(2);
    } finally {
      await c.testClient.setBalance({ address: GAS_TANK, value: tank });
    }
  });
});
