// The payout signer's checks on real processes: a token its issuer paused, a deposit address the issuer
// blacklisted (both in a controlled test token), and a partly paid deal refunded when its payment window
// closes. After each case the chain agrees with the ledger in PostgreSQL to the base unit.
import { QUEUES, redisKeys } from '@amanat/core';
import { createRedis } from '@amanat/platform';
import { type Job, Queue } from 'bullmq';
import { type Address, parseAbi } from 'viem';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOCAL_USDT, OPERATOR_TG, PAYOUT_ADDRESS, REFUND_ADDRESS } from '../api/src/testing.ts';
import { type AnvilHandle, deployDemoTokens, startAnvil } from '../devstack/chain.ts';
import {
  BUYER,
  type ChainClients,
  chainClients,
  deployControlledToken,
  mint,
  sendToken,
} from '../devstack/test-chain.ts';
import { type PayoutPipeline, startPayoutPipeline, TEST_FEE_ADDRESS } from './harness.ts';

const USDT = LOCAL_USDT as Address;
const erc20 = parseAbi(['function balanceOf(address) view returns (uint256)']);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let anvil: AnvilHandle;
let c: ChainClients;
let p: PayoutPipeline;
let call: PayoutPipeline['call'];
let cusd: Awaited<ReturnType<typeof deployControlledToken>>;

beforeAll(async () => {
  anvil = await startAnvil();
  c = chainClients(anvil.rpcUrl);
  // The demo tokens first: LOCAL_USDT is the deployer's first contract address.
  await deployDemoTokens(anvil.rpcUrl);
  cusd = await deployControlledToken(c);
  await mint(c, cusd.address, BUYER.address, 10n ** 12n);
  p = await startPayoutPipeline(anvil.rpcUrl, {
    rpcUrls: { 31337: [anvil.rpcUrl] },
    registry: {
      chains: { 31337: { confirmations: 2 } },
      tokens: [
        {
          chainId: 31337,
          address: cusd.address,
          symbol: 'CUSD',
          name: 'Controlled USD',
          decimals: 6,
          minFee: '1',
        },
      ],
    },
    env: { api: { OPERATOR_TELEGRAM_IDS: String(OPERATOR_TG) } },
  });
  call = p.call;
}, 120_000);

afterAll(async () => {
  await p?.close();
  await anvil?.stop();
});

const balanceOf = (token: Address, who: Address): Promise<bigint> =>
  c.publicClient.readContract({ address: token, abi: erc20, functionName: 'balanceOf', args: [who] });

/** The parties' and the fee address's balances and the deposit address's, in one token. */
const balances = async (token: Address, deposit: Address) => {
  const [seller, buyer, fee, held] = await Promise.all(
    [PAYOUT_ADDRESS as Address, REFUND_ADDRESS as Address, TEST_FEE_ADDRESS, deposit].map((a) =>
      balanceOf(token, a),
    ),
  );
  return { seller, buyer, fee, deposit: held } as Record<'seller' | 'buyer' | 'fee' | 'deposit', bigint>;
};

interface LegRow {
  id: string;
  kind: string;
  recipient: string | null;
  amount: string;
  status: string;
  failure: string | null;
  tx_hash: string | null;
}

const legsOf = async (dealId: string): Promise<LegRow[]> =>
  (
    await p.db.pool.query(
      `SELECT id::text, kind, recipient, amount::text, status, failure, tx_hash
       FROM payout_legs WHERE deal_id = $1 ORDER BY id`,
      [dealId],
    )
  ).rows;

/**
 * The deal's payout job once it completed (it must, within 15 s), and its deal's review alerts; `jobId`
 * picks one job when a deal has several (an operator's retry queues one of its own).
 */
async function completedPayoutJob(dealId: string, jobId?: string): Promise<{ job: Job; alerted: boolean }> {
  const redis = createRedis(p.redisUrl, 'worker', 'e2e-payout-checks');
  const prefix = redisKeys(p.prefix).bullPrefix;
  const [payouts, notifications] = [QUEUES.payouts, QUEUES.notifications].map(
    (name) => new Queue(name, { connection: redis, prefix }),
  ) as [Queue, Queue];
  try {
    for (const deadline = Date.now() + 15_000; ; await sleep(100)) {
      const job = (await payouts.getCompleted()).find(
        (j) => j.data.dealId === dealId && (jobId === undefined || j.id === jobId),
      );
      if (job) {
        const alerts = await notifications.getJobs(['waiting', 'active', 'completed', 'delayed']);
        return { job, alerted: alerts.some((j) => j.name === 'review-alert' && j.data.dealId === dealId) };
      }
      if (Date.now() > deadline) throw new Error(`the payout job of ${dealId} never completed`);
    }
  } finally {
    await Promise.all([payouts.close(), notifications.close()]);
    redis.disconnect();
  }
}

/** A CUSD deal paid in full through the pipeline. */
async function fundedCusdDeal() {
  const deal = await p.startDeal({ asset: { chainId: 31337, token: cusd.address } });
  await sendToken(c, cusd.address, deal.deposit, deal.amountDue);
  await p.waitForDeal(deal.id, (d) => d.state === 'funded', 'funded');
  return deal;
}

/**
 * The buyer confirms a funded CUSD deal the issuer froze (`freeze`): no leg is sent, each fails with
 * `failure` and flags the deal, the job completes at its first attempt, and no money moves.
 */
async function expectFrozenPayout(deal: Awaited<ReturnType<typeof fundedCusdDeal>>, failure: string) {
  const before = await balances(cusd.address, deal.deposit);
  expect(before.deposit).toBe(deal.amountDue);
  await call('POST', `/api/deals/${deal.id}/confirm`, deal.buyer, {});
  const { job, alerted } = await completedPayoutJob(deal.id);
  expect(job.returnvalue).toEqual({ outcome: 'held', legs: { seller: 'failed', fee: 'failed' } });
  expect(job.attemptsMade).toBe(1);
  expect(job.stacktrace ?? []).toEqual([]);
  expect(alerted).toBe(true);

  const legs = await legsOf(deal.id);
  expect(legs.map((l) => [l.kind, l.status, l.failure, l.tx_hash]).sort()).toEqual([
    ['fee', 'failed', failure, null],
    ['seller', 'failed', failure, null],
  ]);
  // The ledger still owes everything the deposit address holds.
  expect(legs.reduce((s, l) => s + BigInt(l.amount), 0n)).toBe(deal.amountDue);
  const flagged = await p.deal(deal.id);
  expect(flagged.state).toBe('releasing');
  expect(flagged.needsReview).toBe(true);
  expect([...flagged.reviewReasons].sort()).toEqual([
    `payout_failed:fee:${failure}`,
    `payout_failed:seller:${failure}`,
  ]);

  // Nothing was signed, topped up or sent: every balance is where it was, to the base unit.
  const { rows } = await p.db.pool.query(
    `SELECT (SELECT count(*)::int FROM payout_attempts WHERE lower(from_address) = lower($2)) AS attempts,
            (SELECT count(*)::int FROM gas_topups WHERE deal_id = $1) AS topups`,
    [deal.id, deal.deposit],
  );
  expect(rows[0]).toEqual({ attempts: 0, topups: 0 });
  expect(await balances(cusd.address, deal.deposit)).toEqual(before);
  expect(await c.publicClient.getTransactionCount({ address: deal.deposit })).toBe(0);
  expect(await c.publicClient.getBalance({ address: deal.deposit })).toBe(0n);
}

describe('payout checks on a real chain', () => {
  it('a paused token: nothing is sent and the deal is flagged; once unpaused an operator retries it', async () => {
    const deal = await fundedCusdDeal();
    await cusd.pause();
    try {
      await expectFrozenPayout(deal, 'token_paused');
    } finally {
      await cusd.pause(false);
    }
    // The issuer unpaused the token: the operator sends the failed legs again, over the API.
    const before = await balances(cusd.address, deal.deposit);
    const operator = await p.signIn(OPERATOR_TG);
    const listed = await call('GET', '/api/admin/reviews?limit=100', operator);
    type Failed = { kind: string; retryable: boolean; cause: string };
    const item = (listed.items as Array<{ deal: { id: string }; failedPayouts: Failed[] }>).find(
      (i) => i.deal.id === deal.id,
    );
    expect(item?.failedPayouts.map((f) => [f.kind, f.retryable])).toEqual([
      ['seller', true],
      ['fee', true],
    ]);
    const retried = (await call('POST', `/api/admin/deals/${deal.id}/retry-payouts`, operator, {
      note: 'The issuer unpaused the token',
    })) as { retried: unknown[]; deal: { needsReview: boolean; version: number } };
    expect(retried.retried).toHaveLength(2);
    expect(retried.deal.needsReview).toBe(false);
    const cause = item?.failedPayouts[0]?.cause;
    const { job } = await completedPayoutJob(deal.id, `${deal.id}-${cause}-retry-${retried.deal.version}`);
    expect(job.returnvalue).toEqual({ outcome: 'paid', settled: true });
    const released = await p.deal(deal.id);
    expect([released.state, released.needsReview]).toEqual(['released', false]);

    // Paid exactly once, to the base unit: what the legs say, and nothing more.
    const legs = await legsOf(deal.id);
    const amount = (kind: string) => BigInt(legs.find((l) => l.kind === kind)?.amount as string);
    expect(legs.map((l) => l.status)).toEqual(['confirmed', 'confirmed']);
    expect(await balances(cusd.address, deal.deposit)).toEqual({
      ...before,
      seller: before.seller + amount('seller'),
      fee: before.fee + amount('fee'),
      deposit: 0n,
    });
    expect(await c.publicClient.getTransactionCount({ address: deal.deposit })).toBe(2);
    const activity = await call('GET', `/api/deals/${deal.id}/activity`, operator);
    expect(activity.verification).toEqual({ ok: true, problems: [] });
    const actions = (activity.entries as Array<{ action: string }>).map((e) => e.action);
    expect(actions.slice(actions.indexOf('retry_payouts'))).toEqual(['retry_payouts', 'payouts_confirmed']);
  });

  it('a blacklisted deposit address: nothing is sent, the legs fail as sender_blacklisted', async () => {
    const deal = await fundedCusdDeal();
    await cusd.blacklist(deal.deposit);
    await expectFrozenPayout(deal, 'sender_blacklisted');
  });

  it('a partly paid deal expires and exactly what arrived goes back to the buyer', async () => {
    const deal = await p.startDeal();
    const paid = deal.amountDue / 2n;
    await sendToken(c, USDT, deal.deposit, paid);
    const partial = await p.waitForDeal(
      deal.id,
      (d) => d.state === 'partially_paid' && d.confirmedAmount === paid && d.confirmingAmount === 0n,
      'partially paid',
    );
    const before = await balances(USDT, deal.deposit);
    expect(before.deposit).toBe(paid);

    // What the deadlines worker does when the payment window lapses (it is 24 h away: the clock is moved).
    const window = partial.deadlines.payment as Date;
    await p.store.act(
      deal.id,
      { type: 'expire' },
      { kind: 'system', component: 'deadlines' },
      { now: new Date(window.getTime() + 1000) },
    );
    const { job } = await completedPayoutJob(deal.id);
    // An expired deal has no settling state to leave: it stays expired, its refund paid and logged.
    expect(job.returnvalue).toEqual({ outcome: 'paid', settled: true });
    expect(job.attemptsMade).toBe(1);
    const closed = await p.deal(deal.id);
    expect(closed.state).toBe('expired');
    expect(closed.needsReview).toBe(false);

    const legs = await legsOf(deal.id);
    expect(legs).toHaveLength(1);
    const leg = legs[0] as LegRow;
    expect(leg).toMatchObject({ kind: 'buyer_refund', recipient: REFUND_ADDRESS, status: 'confirmed' });
    expect(BigInt(leg.amount)).toBe(paid);

    // The buyer got exactly the partial payment; nobody else got anything; one mined transaction.
    const after = await balances(USDT, deal.deposit);
    expect(after).toEqual({ ...before, buyer: before.buyer + paid, deposit: 0n });
    const { rows: attempts } = await p.db.pool.query(
      `SELECT tx_hash, status FROM payout_attempts WHERE leg_id = $1`,
      [leg.id],
    );
    expect(attempts).toEqual([{ tx_hash: leg.tx_hash, status: 'mined' }]);
    // The refund's confirmation is in the log with its transaction, so the buyer is told with the hash.
    const { rows: entries } = await p.db.pool.query(
      `SELECT state_before, state_after, facts FROM activity_log WHERE deal_id = $1 AND action = 'payouts_confirmed'`,
      [deal.id],
    );
    expect(entries).toEqual([
      {
        state_before: 'expired',
        state_after: 'expired',
        facts: {
          transactions: [
            {
              kind: 'buyer_refund',
              recipient: REFUND_ADDRESS,
              amount: String(paid),
              chainId: 31337,
              txHash: leg.tx_hash,
            },
          ],
        },
      },
    ]);
    expect(await c.publicClient.getTransactionCount({ address: deal.deposit })).toBe(1);
    const receipt = await c.publicClient.getTransactionReceipt({ hash: leg.tx_hash as `0x${string}` });
    expect(receipt.status).toBe('success');
    // The gas the tank sent, less what the refund burned, is all the native coin left.
    const { rows: topups } = await p.db.pool.query(
      `SELECT amount::text, status FROM gas_topups WHERE deal_id = $1`,
      [deal.id],
    );
    expect(topups).toHaveLength(1);
    expect(topups[0].status).toBe('confirmed');
    expect(await c.publicClient.getBalance({ address: deal.deposit })).toBe(
      BigInt(topups[0].amount) - receipt.gasUsed * receipt.effectiveGasPrice,
    );
  });
});
