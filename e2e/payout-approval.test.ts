// An approval-gated payout on real processes (anvil → scanner → API → workers with the payout signer):
// a release whose seller leg is above PAYOUT_APPROVAL_THRESHOLD waits, with the deal flagged and the
// seller's balance unchanged, while the fee below it is paid; an operator approves it over the API and the
// payout completes exactly once. Afterwards the chain and the ledger agree to the base unit.
import { QUEUES, redisKeys } from '@amanat/core';
import { createRedis } from '@amanat/platform';
import { Queue } from 'bullmq';
import { type Address, parseAbi } from 'viem';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOCAL_USDT, OPERATOR_TG, PAYOUT_ADDRESS } from '../api/src/testing.ts';
import { type AnvilHandle, deployDemoTokens, startAnvil } from '../devstack/chain.ts';
import { type ChainClients, chainClients, sendToken } from '../devstack/test-chain.ts';
import { type PayoutPipeline, startPayoutPipeline, TEST_FEE_ADDRESS } from './harness.ts';

const USDT = LOCAL_USDT as Address;
const CONFIRMATIONS = 2;
/** 50 USDT: a 100 USDT deal's seller leg (99 USDT) waits for an operator, its 1 USDT fee does not. */
const THRESHOLD = 50_000_000n;
const erc20 = parseAbi(['function balanceOf(address) view returns (uint256)']);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let anvil: AnvilHandle;
let c: ChainClients;
let p: PayoutPipeline;
let call: PayoutPipeline['call'];

beforeAll(async () => {
  anvil = await startAnvil();
  c = chainClients(anvil.rpcUrl);
  await deployDemoTokens(anvil.rpcUrl);
  p = await startPayoutPipeline(anvil.rpcUrl, {
    rpcUrls: { 31337: [anvil.rpcUrl] },
    registry: { chains: { 31337: { confirmations: CONFIRMATIONS } } },
    env: {
      api: { OPERATOR_TELEGRAM_IDS: String(OPERATOR_TG) },
      workers: {
        PAYOUT_APPROVAL_THRESHOLD: JSON.stringify({ [`31337:${USDT.toLowerCase()}`]: THRESHOLD.toString() }),
      },
    },
  });
  call = p.call;
}, 120_000);

afterAll(async () => {
  await p?.close();
  await anvil?.stop();
});

const balanceOf = (who: Address): Promise<bigint> =>
  c.publicClient.readContract({ address: USDT, abi: erc20, functionName: 'balanceOf', args: [who] });

interface LegRow {
  id: string;
  kind: string;
  amount: string;
  status: string;
  approved_by: string | null;
}
const legsOf = async (dealId: string): Promise<Record<string, LegRow>> =>
  Object.fromEntries(
    (
      await p.db.pool.query(
        `SELECT id::text, kind, amount::text, status, approved_by FROM payout_legs WHERE deal_id = $1`,
        [dealId],
      )
    ).rows.map((r: LegRow) => [r.kind, r]),
  );

async function waitFor<T>(what: string, read: () => Promise<T>, ok: (v: T) => boolean, ms = 30_000) {
  for (const deadline = Date.now() + ms; ; await sleep(100)) {
    const value = await read();
    if (ok(value)) return value;
    if (Date.now() > deadline) throw new Error(`${what}: still ${JSON.stringify(value)}`);
  }
}

/** POST with an Idempotency-Key; answers the status and body whatever they are. */
async function approve(legId: string, token: string, key: string, body: unknown) {
  const res = await fetch(`${p.apiUrl}/api/admin/payouts/${legId}/approve`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'idempotency-key': key },
    body: JSON.stringify(body),
  });
  return {
    status: res.status,
    replayed: res.headers.get('idempotent-replayed'),
    body: (await res.json()) as Record<string, unknown>,
  };
}

describe('a payout above the approval threshold', () => {
  it('waits for an operator, then is paid exactly once', async () => {
    const deal = await p.startDeal();
    await sendToken(c, USDT, deal.deposit, deal.amountDue);
    await p.waitForDeal(deal.id, (d) => d.state === 'funded', 'funded');
    const before = { seller: await balanceOf(PAYOUT_ADDRESS), fee: await balanceOf(TEST_FEE_ADDRESS) };

    await call('POST', `/api/deals/${deal.id}/confirm`, deal.buyer, {});
    const flagged = await p.waitForDeal(deal.id, (d) => d.needsReview, 'flagged for approval');
    const held = (await legsOf(deal.id)).seller as LegRow;
    expect(BigInt(held.amount)).toBeGreaterThan(THRESHOLD);
    expect([flagged.state, flagged.reviewReasons]).toEqual([
      'releasing',
      [`payout_approval_required:${held.id}`],
    ]);

    // The fee, below the threshold, goes on its own; the seller's leg waits and nothing of it is sent.
    const legs = await waitFor(
      'the fee paid',
      () => legsOf(deal.id),
      (l) => l.fee?.status === 'confirmed',
    );
    expect(legs.seller?.status).toBe('awaiting_approval');
    expect(await balanceOf(TEST_FEE_ADDRESS)).toBe(before.fee + BigInt(legs.fee?.amount as string));
    expect(await balanceOf(PAYOUT_ADDRESS)).toBe(before.seller);
    expect(await balanceOf(deal.deposit)).toBe(BigInt(held.amount));
    const { rows: sellerAttempts } = await p.db.pool.query(
      `SELECT count(*)::int AS n FROM payout_attempts WHERE leg_id = $1`,
      [held.id],
    );
    expect(sellerAttempts[0].n).toBe(0);
    // The job completed as held (no retry loop), and the operators' alert is queued.
    const prefix = redisKeys(p.prefix).bullPrefix;
    const redis = createRedis(p.redisUrl, 'worker', 'e2e-payout-approval');
    const [payouts, notifications] = [QUEUES.payouts, QUEUES.notifications].map(
      (name) => new Queue(name, { connection: redis, prefix }),
    ) as [Queue, Queue];
    try {
      const done = await waitFor(
        'the payout job completed',
        () => payouts.getCompleted(),
        (jobs) => jobs.some((j) => j.data.dealId === deal.id),
      );
      expect(done.find((j) => j.data.dealId === deal.id)?.returnvalue).toMatchObject({
        outcome: 'held',
        legs: { seller: 'awaiting_approval', fee: 'confirmed' },
      });
      const alerts = await notifications.getJobs(['waiting', 'active', 'completed', 'delayed']);
      expect(alerts.some((j) => j.name === 'review-alert' && j.data.dealId === deal.id)).toBe(true);
    } finally {
      await Promise.all([payouts.close(), notifications.close()]);
      redis.disconnect();
    }

    // The operator sees it on the review list and approves it.
    const operator = await p.signIn(OPERATOR_TG);
    const reviews = await call('GET', '/api/admin/reviews?limit=100', operator);
    const item = (reviews.items as Array<{ deal: { id: string }; awaitingApproval: unknown[] }>).find(
      (i) => i.deal.id === deal.id,
    );
    expect(item?.awaitingApproval).toEqual([
      expect.objectContaining({
        id: held.id,
        kind: 'seller',
        recipient: PAYOUT_ADDRESS,
        amount: held.amount,
      }),
    ]);
    const note = { note: 'Large payout checked with the seller' };
    const approved = await approve(held.id, operator, `approve-${held.id}`, note);
    expect(approved.status, JSON.stringify(approved.body)).toBe(200);
    expect(approved.body.deal).toMatchObject({ state: 'releasing', needsReview: false });

    const released = await p.waitForDeal(deal.id, (d) => d.state === 'released', 'released');
    expect([released.needsReview, released.reviewReasons]).toEqual([false, []]);
    // A retried request replays its answer; another approval is refused. Neither sends anything.
    const replay = await approve(held.id, operator, `approve-${held.id}`, note);
    expect([replay.status, replay.replayed]).toEqual([200, 'true']);
    const again = await approve(held.id, operator, `approve-again-${held.id}`, note);
    expect([again.status, again.body.code]).toEqual([409, 'payout_not_awaiting_approval']);

    // Exactly once: one mined transaction per leg, the seller paid its leg to the base unit, nothing left.
    const paid = await legsOf(deal.id);
    expect(paid.seller).toMatchObject({ status: 'confirmed', approved_by: expect.any(String) });
    const { rows: attempts } = await p.db.pool.query(
      `SELECT leg_id::text, status FROM payout_attempts WHERE leg_id = ANY($1::bigint[]) ORDER BY leg_id`,
      [Object.values(paid).map((l) => l.id)],
    );
    expect(attempts.map((a) => a.status)).toEqual(['mined', 'mined']);
    expect(new Set(attempts.map((a) => a.leg_id)).size).toBe(2);
    expect(await c.publicClient.getTransactionCount({ address: deal.deposit })).toBe(2);
    expect(await balanceOf(PAYOUT_ADDRESS)).toBe(before.seller + BigInt(held.amount));
    expect(await balanceOf(TEST_FEE_ADDRESS)).toBe(before.fee + BigInt(paid.fee?.amount as string));
    expect(await balanceOf(deal.deposit)).toBe(0n);
    expect(BigInt(held.amount) + BigInt(paid.fee?.amount as string)).toBe(deal.amountDue);

    // The approval is in the verified log, between the release and its settlement.
    const activity = await call('GET', `/api/deals/${deal.id}/activity`, operator);
    expect(activity.verification).toEqual({ ok: true, problems: [] });
    const actions = (activity.entries as Array<{ action: string }>).map((e) => e.action);
    expect(actions.slice(actions.indexOf('confirm_receipt'))).toEqual([
      'confirm_receipt',
      'flag_review',
      'approve_payout',
      'payouts_confirmed',
    ]);
  }, 120_000);
});
