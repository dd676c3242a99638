import {
  type Actor,
  DomainError,
  JOBS,
  needsPayoutApproval,
  type PayoutJob,
  type PayoutTransaction,
  parseAddress,
  payoutJobSchema,
} from '@amanat/core';
import {
  type DealRecord,
  type DealStore,
  type GasTopup,
  gasTopupOf,
  holdForApproval,
  insertGasTopup,
  type Logger,
  markFailed,
  openTxGasTopupsOf,
  type PayoutLeg,
  type PayoutLegKind,
  type PayoutRecordRef,
  type Pool,
  type PoolClient,
  payoutApprovalReason,
  payoutLegsOf,
} from '@amanat/platform';
import { DelayedError, type Job, UnrecoverableError } from 'bullmq';
import {
  type Address,
  BaseError,
  ContractFunctionRevertedError,
  ContractFunctionZeroDataError,
  ExecutionRevertedError,
  InsufficientFundsError,
  type PublicClient,
  parseAbi,
} from 'viem';
import type { JobHandler } from '../handlers.ts';
import type { PayoutKeys } from './keys.ts';
import { estimateTransferCost, type SendContext, sendOnce } from './send.ts';
import type { OutgoingTransfer, SendState, SignerAccount } from './types.ts';

/**
 * The `payouts` queue's job: pays every leg one decision (deal, cause) recorded, exactly once.
 *
 * One run, under a per-deal lock (two runs of a deal's jobs never decide at once):
 * 1. Legs already signed or broadcast are driven on (re-broadcast, confirmations checked) before anything
 *    new is signed; while one is not confirmed yet the job waits as a delayed job and looks again.
 * 2. Pending legs are checked: the destination is the address frozen in the deal (EIP-55), the token is
 *    not paused, the deposit address is not blacklisted, its balance covers the legs, and each transfer
 *    would go through (eth_estimateGas). A failed check marks the leg failed and flags the deal for review
 *    with `payout_failed:<kind>:<why>`; the job then completes, so nothing is retried until a person acts.
 * 3. Gas: a deposit address holds tokens, not native coin. If it lacks the gas for its legs, the gas tank
 *    sends the shortfall once (the cause's gas_topups row), and the legs wait until it is confirmed.
 * 4. The legs are sent in LEG_ORDER, each through `sendOnce` (signed and stored before broadcast).
 * 5. When every leg is confirmed, a deal still releasing, refunding or splitting gets `payouts_confirmed`
 *    with the transactions in its activity entry (both parties are told, with links). Stray-fund causes
 *    move no deal state.
 * Before the checks, a pending leg above PAYOUT_APPROVAL_THRESHOLD for its asset that no operator has
 * approved moves to awaiting_approval and flags the deal (`payout_approval_required:<leg id>`); the cause's
 * other legs go on. Legs awaiting approval are left alone (the approval enqueues the cause again under a
 * job id of its own); failed legs wait for a person.
 */

/**
 * The order legs are sent in, within one cause: the parties' money first, the platform's fee last, so a
 * problem with the fee address never holds up what a party is owed.
 */
export const LEG_ORDER: readonly PayoutLegKind[] = [
  'seller',
  'stray_accept',
  'buyer_share',
  'buyer_refund',
  'buyer_excess',
  'stray_refund',
  'fee',
];

/** Who acts for the payout signer in the activity log. */
export const PAYOUTS_ACTOR: Actor = { kind: 'system', component: 'payouts' };

/** A top-up covers the fees as they are when it is sized, times this, so a rising base fee does not strand it. */
const GAS_FEE_HEADROOM = 2n;
/** How long a job waits before it looks at its broadcast transactions (or top-up) again. */
const DEFAULT_RECHECK_MS = 1000;

/** Why a record was given up, as the short code a review reason carries. */
export type PayoutFailure =
  | 'destination_mismatch'
  | 'destination_invalid'
  | 'fee_address_missing'
  | 'chain_unavailable'
  | 'token_paused'
  | 'sender_blacklisted'
  | 'insufficient_balance'
  | 'transfer_would_revert'
  | 'gas_tank_empty'
  | 'insufficient_funds'
  | 'reverted'
  | 'nonce_taken'
  | 'no_transfer_log'
  | 'scanner_mismatch'
  | 'send_failed';

/** The review reason a failed record raises: `payout_failed:<kind or gas_topup>:<code>`. */
export const payoutFailureReason = (record: PayoutLegKind | 'gas_topup', failure: string): string =>
  `payout_failed:${record}:${failureCode(failure)}`;

/** `sendOnce` records its failures in words; the review reason needs their code. */
export function failureCode(failure: string): PayoutFailure | string {
  if (/^[a-z][a-z0-9_]*$/.test(failure)) return failure;
  if (/^the scanner saw another transfer/.test(failure)) return 'scanner_mismatch';
  if (/insufficient funds/i.test(failure)) return 'insufficient_funds';
  if (/^reverted/i.test(failure)) return 'reverted';
  if (/used by another transaction/i.test(failure)) return 'nonce_taken';
  if (/no Transfer\(/.test(failure)) return 'no_transfer_log';
  return 'send_failed';
}

export interface PayoutHandlerDeps {
  pool: Pool;
  store: DealStore;
  keys: PayoutKeys;
  /** Where fee legs go (FEE_ADDRESS); null fails them with `fee_address_missing`. */
  feeAddress: Address | null;
  /** `sendOnce`'s context for a chain; null when this signer has no RPC endpoint for it. */
  sendContext(chainId: number): SendContext | null;
  logger: Logger;
  /** How long a waiting job is delayed before it looks again (default 1 s). */
  recheckMs?: number;
  /** PAYOUT_APPROVAL_THRESHOLD: per asset key, legs above it wait for an operator (unset: none do). */
  approvalThresholds?: ReadonlyMap<string, bigint>;
}

export type PayoutOutcome =
  /** Every leg of the cause is confirmed (and the deal moved on, when it was waiting for them). */
  | { outcome: 'paid'; settled: boolean }
  /** Nothing more this job can do: legs failed (the deal is flagged) or await an operator's approval. */
  | { outcome: 'held'; legs: Record<string, string> }
  | { outcome: 'no_legs' };

/** What one run found: done for now, or look again later (the job is delayed). */
type RunResult = PayoutOutcome | { outcome: 'wait'; why: string };

const tokenReads = parseAbi([
  'function paused() view returns (bool)',
  'function isBlacklisted(address) view returns (bool)',
  'function isBlackListed(address) view returns (bool)',
  'function balanceOf(address) view returns (uint256)',
]);

const IN_FLIGHT = new Set(['signed', 'broadcast']);
const SETTLING_STATES = new Set(['releasing', 'refunding', 'splitting']);
/** An expired deal's refund of what arrived: its confirmation is logged once, the deal stays expired. */
const EXPIRED = 'expired';
const STRAY_KINDS = new Set<PayoutLegKind>(['stray_refund', 'stray_accept']);

const byLegOrder = (a: PayoutLeg, b: PayoutLeg) => LEG_ORDER.indexOf(a.kind) - LEG_ORDER.indexOf(b.kind);
const sameAddress = (a: string, b: string) => a.toLowerCase() === b.toLowerCase();
const legRef = (leg: PayoutLeg): PayoutRecordRef => ({ table: 'payout_legs', id: leg.id });

/** A view call the contract may not have: a revert or empty answer means "no such function" (null). */
async function optionalRead<T>(read: () => Promise<T>): Promise<T | null> {
  try {
    return await read();
  } catch (err) {
    if (
      err instanceof BaseError &&
      err.walk(
        (e) => e instanceof ContractFunctionRevertedError || e instanceof ContractFunctionZeroDataError,
      )
    )
      return null;
    throw err; // the endpoint, not the contract: retried
  }
}

/** eth_estimateGas said the call fails on the chain as it is: sending it would only burn gas. */
const wouldRevert = (err: unknown): PayoutFailure | null =>
  err instanceof BaseError
    ? err.walk((e) => e instanceof InsufficientFundsError)
      ? 'insufficient_balance'
      : err.walk((e) => e instanceof ExecutionRevertedError)
        ? 'transfer_would_revert'
        : null
    : null;

export function createPayoutHandlers(deps: PayoutHandlerDeps): Record<string, JobHandler> {
  const { pool, store, keys, logger } = deps;
  const recheckMs = deps.recheckMs ?? DEFAULT_RECHECK_MS;

  /** Flags the deal for this reason unless it already is; a retry after a crash flags once. */
  async function ensureFlagged(dealId: string, reason: string): Promise<void> {
    const deal = await store.get(dealId);
    if (deal?.needsReview && deal.reviewReasons.includes(reason)) return;
    await store.act(dealId, { type: 'flag_review', reason }, PAYOUTS_ACTOR);
    logger.warn({ dealId, reason }, 'payout failed; deal flagged for review');
  }

  /** Gives a record up for good and flags the deal; nothing retries it until a person acts. */
  async function giveUp(
    dealId: string,
    record: PayoutRecordRef,
    kind: PayoutLegKind | 'gas_topup',
    failure: PayoutFailure,
  ): Promise<void> {
    await markFailed(pool, record, failure);
    await ensureFlagged(dealId, payoutFailureReason(kind, failure));
  }

  /** The address a leg must pay: the one frozen in the deal for its kind, or the configured fee address. */
  async function expectedRecipient(db: PoolClient, deal: DealRecord, leg: PayoutLeg): Promise<string | null> {
    switch (leg.kind) {
      case 'fee':
        return deps.feeAddress;
      case 'seller':
      case 'stray_accept':
        return deal.seller?.address ?? null;
      case 'stray_refund': {
        const { rows } = await db.query(
          'SELECT recipient FROM stray_fund_decisions WHERE deal_id = $1 AND cause = $2',
          [deal.id, leg.cause],
        );
        return rows[0]?.recipient ?? null;
      }
      default:
        return deal.buyer?.address ?? null;
    }
  }

  /** Checks the destination of one leg; the EIP-55 recipient to pay, or why not. */
  async function destinationOf(
    db: PoolClient,
    deal: DealRecord,
    leg: PayoutLeg,
  ): Promise<{ to: Address } | { failure: PayoutFailure }> {
    const expected = await expectedRecipient(db, deal, leg);
    if (leg.kind === 'fee' && expected === null) return { failure: 'fee_address_missing' };
    const given = leg.kind === 'fee' ? expected : leg.recipient;
    if (given === null || expected === null) return { failure: 'destination_mismatch' };
    let to: Address;
    try {
      to = parseAddress(given);
    } catch {
      return { failure: 'destination_invalid' };
    }
    // Stored addresses are EIP-55 already: anything else was not written by the code that froze them.
    if (to !== given) return { failure: 'destination_invalid' };
    if (to !== expected) return { failure: 'destination_mismatch' };
    return { to };
  }

  /** The token-wide checks: paused, the sender blacklisted, the balance short of `needed`. */
  async function tokenFailure(
    client: PublicClient,
    token: string,
    from: Address,
    needed: bigint,
  ): Promise<PayoutFailure | null> {
    if (token === 'native') {
      const balance = await client.getBalance({ address: from });
      return balance < needed ? 'insufficient_balance' : null;
    }
    const address = token as Address;
    const read = <T>(functionName: 'paused' | 'isBlacklisted' | 'isBlackListed', args: [] | [Address]) =>
      optionalRead(
        () => client.readContract({ address, abi: tokenReads, functionName, args } as never) as Promise<T>,
      );
    if ((await read<boolean>('paused', [])) === true) return 'token_paused';
    if ((await read<boolean>('isBlacklisted', [from])) === true) return 'sender_blacklisted';
    if ((await read<boolean>('isBlackListed', [from])) === true) return 'sender_blacklisted';
    const balance = await client.readContract({
      address,
      abi: tokenReads,
      functionName: 'balanceOf',
      args: [from],
    });
    return balance < needed ? 'insufficient_balance' : null;
  }

  const transferOf = (
    leg: PayoutLeg,
    from: SignerAccount,
    to: Address,
  ): OutgoingTransfer & { record: PayoutRecordRef } => ({
    record: legRef(leg),
    chainId: leg.chainId,
    from,
    to,
    token: leg.token === 'native' ? 'native' : (leg.token as Address),
    amount: leg.amount,
  });

  /** The recipient a leg was (or is being) paid to: its own, or the fee address. */
  const paidTo = (leg: PayoutLeg): Address | null =>
    leg.kind === 'fee' ? deps.feeAddress : leg.recipient ? (leg.recipient as Address) : null;

  /**
   * Makes sure the deposit address has the native coin its open legs need, through the cause's one gas
   * top-up. 'ready' when the legs can go now; otherwise the job waits or the top-up failed.
   */
  async function ensureGas(
    job: PayoutJob,
    ctx: SendContext,
    deposit: Address,
    costs: Array<{ leg: PayoutLeg; cost: bigint }>,
    /** Instead of the cause's top-up: the one for a signed transaction the node refused (needs_gas). */
    forTx?: { chainId: number; txHash: string; shortfall: bigint },
  ): Promise<'ready' | 'wait' | 'failed'> {
    let topup: GasTopup | null = forTx
      ? await insertGasTopup(pool, {
          dealId: job.dealId,
          cause: job.cause,
          chainId: forTx.chainId,
          address: deposit,
          amount: forTx.shortfall,
          forTxHash: forTx.txHash,
        })
      : await gasTopupOf(pool, job.dealId, job.cause);
    if (!topup) {
      // Native legs carry their value too; the top-up adds only the gas the address lacks.
      const needed = costs.reduce(
        (sum, { leg, cost }) => sum + cost + (leg.token === 'native' ? leg.amount : 0n),
        0n,
      );
      const balance = await ctx.chain.getBalance({ address: deposit });
      if (balance >= needed) return 'ready';
      topup = await insertGasTopup(pool, {
        dealId: job.dealId,
        cause: job.cause,
        chainId: costs[0]?.leg.chainId ?? 0,
        address: deposit,
        amount: needed - balance,
      });
      logger.info(
        { dealId: job.dealId, cause: job.cause, amount: String(topup.amount) },
        'deposit address needs gas',
      );
    }
    if (topup.status === 'confirmed') return 'ready';
    const record: PayoutRecordRef = { table: 'gas_topups', id: topup.id };
    if (topup.status === 'failed') {
      await ensureFlagged(job.dealId, payoutFailureReason('gas_topup', topup.failure ?? 'send_failed'));
      return 'failed';
    }
    const transfer: OutgoingTransfer = {
      record,
      chainId: topup.chainId,
      from: keys.gasTank,
      to: deposit,
      token: 'native',
      amount: topup.amount,
    };
    if (topup.status === 'pending') {
      // Not signed yet: a tank that cannot pay the top-up and its own gas fails it now, clearly.
      const [cost, tank] = await Promise.all([
        estimateTransferCost(ctx.chain, transfer),
        ctx.chain.getBalance({ address: keys.gasTank.address }),
      ]);
      if (tank < topup.amount + cost.gas * cost.maxFeePerGas) {
        logger.error(
          {
            dealId: job.dealId,
            tank: keys.gasTank.address,
            balance: String(tank),
            needed: String(topup.amount),
          },
          'the gas tank is empty',
        );
        await giveUp(job.dealId, record, 'gas_topup', 'gas_tank_empty');
        return 'failed';
      }
    }
    const state = await sendOnce(ctx, transfer);
    if (state.status === 'confirmed') return 'ready';
    if (state.status === 'needs_gas') {
      // The tank ran dry after the check: its top-up stays signed (its nonce is taken) and goes out by
      // itself once the tank is refilled; the job keeps looking.
      await ensureFlagged(job.dealId, payoutFailureReason('gas_topup', 'gas_tank_empty'));
      return 'wait';
    }
    if (state.status === 'failed') {
      const code = failureCode(state.reason);
      // The tank's own funds ran out between the check and the broadcast.
      const reason = payoutFailureReason(
        'gas_topup',
        code === 'insufficient_funds' ? 'gas_tank_empty' : code,
      );
      await ensureFlagged(job.dealId, reason);
      return 'failed';
    }
    return 'wait';
  }

  /**
   * The node refused a leg's signed transaction for lack of gas (a replacement at a higher fee, or a base
   * fee that outgrew the top-up): the gas tank sends the shortfall once for that transaction, and the same
   * transaction goes out when it has arrived. Refused again after its top-up is confirmed, a person must
   * look (the deal is flagged); it stays signed, so funding the address by hand lets a later look send it.
   */
  async function gasFor(
    job: PayoutJob,
    ctx: SendContext,
    deposit: Address,
    transfer: OutgoingTransfer,
    kind: PayoutLegKind,
    state: Extract<SendState, { status: 'needs_gas' }>,
  ): Promise<void> {
    const forTx = { chainId: transfer.chainId, txHash: state.txHash, shortfall: state.shortfall };
    if ((await ensureGas(job, ctx, deposit, [], forTx)) !== 'ready') return;
    if ((await sendOnce(ctx, transfer)).status === 'needs_gas')
      await ensureFlagged(job.dealId, payoutFailureReason(kind, 'insufficient_funds'));
  }

  /**
   * Moves the deal on once every leg of its decision is confirmed (an expired deal stays expired, but its
   * refund is logged all the same, so the buyer is told with the transaction); stray funds move nothing.
   */
  async function settle(deal: DealRecord, legs: PayoutLeg[]): Promise<boolean> {
    if (legs.some((l) => STRAY_KINDS.has(l.kind))) return false;
    if (!SETTLING_STATES.has(deal.state) && deal.state !== EXPIRED) return false;
    if (deal.state === EXPIRED) {
      // The state does not change, so the machine cannot refuse a second entry: this run holds the deal's
      // advisory lock, and the entry is looked for under it.
      const { rows } = await pool.query(
        `SELECT 1 FROM activity_log WHERE deal_id = $1 AND action = 'payouts_confirmed' LIMIT 1`,
        [deal.id],
      );
      if (rows.length > 0) return false;
    }
    // Every decided payout of the deal, not only this cause's: the deal is paid when all of them are.
    const { rows } = await pool.query(
      `SELECT count(*)::int AS open FROM payout_legs
       WHERE deal_id = $1 AND status <> 'confirmed' AND kind NOT IN ('stray_refund', 'stray_accept')`,
      [deal.id],
    );
    if (rows[0].open > 0) return false;
    const transactions: PayoutTransaction[] = [...legs].sort(byLegOrder).map((leg) => ({
      kind: leg.kind,
      recipient: paidTo(leg) ?? '',
      amount: leg.amount,
      chainId: leg.chainId,
      txHash: leg.txHash ?? '',
    }));
    try {
      await store.act(deal.id, { type: 'payouts_confirmed', transactions }, PAYOUTS_ACTOR);
    } catch (err) {
      // A run before a crash got there first.
      if (err instanceof DomainError && err.code === 'action_not_allowed_in_state') return false;
      throw err;
    }
    logger.info({ dealId: deal.id, state: deal.state }, 'payouts confirmed; deal settled');
    return true;
  }

  async function run(job: PayoutJob, db: PoolClient): Promise<RunResult> {
    const deal = await store.get(job.dealId);
    if (!deal) throw new UnrecoverableError(`no deal ${job.dealId}`);
    let legs = await payoutLegsOf(db, job.dealId, job.cause);
    if (legs.length === 0) return { outcome: 'no_legs' };
    if (!deal.deposit)
      throw new UnrecoverableError(`deal ${job.dealId} has payout legs but no deposit address`);
    const chainId = legs[0]?.chainId as number;
    if (legs.some((l) => l.chainId !== chainId)) {
      throw new UnrecoverableError(`payout legs of ${job.dealId}/${job.cause} span several chains`);
    }
    const deposit = parseAddress(deal.deposit.address);
    const from = keys.depositSigner(deal.deposit.index);
    // The key must be the address's: DEPOSIT_XPUB was checked at start, this guards the row itself.
    if (!sameAddress(from.address, deposit)) {
      throw new UnrecoverableError(`the key of deposit index ${deal.deposit.index} is not ${deposit}'s`);
    }

    // Failures a previous run recorded (sendOnce's, or ours before a crash) are on the review list.
    for (const leg of legs.filter((l) => l.status === 'failed'))
      await ensureFlagged(deal.id, payoutFailureReason(leg.kind, leg.failure ?? 'send_failed'));

    // The approval gate: a leg above its asset's threshold, never approved, waits for an operator (the
    // approval queues this cause again). The cause's other legs still go: what a party or the fee is owed
    // below the threshold is not held up by one large leg. A retry after a crash flags what it held once.
    const gated = legs.filter(
      (l) =>
        l.status === 'pending' &&
        l.approvedAt === null &&
        needsPayoutApproval(deps.approvalThresholds, l, l.amount),
    );
    for (const leg of gated) await holdForApproval(db, leg.id);
    if (gated.length > 0) legs = await payoutLegsOf(db, job.dealId, job.cause);
    for (const leg of legs.filter((l) => l.status === 'awaiting_approval')) {
      await ensureFlagged(deal.id, payoutApprovalReason(leg.id));
      if (gated.some((g) => g.id === leg.id))
        logger.info({ dealId: deal.id, leg: String(leg.id), kind: leg.kind }, 'payout awaits approval');
    }

    const ctx = deps.sendContext(chainId);
    if (!ctx) {
      for (const leg of legs.filter((l) => l.status === 'pending'))
        await giveUp(deal.id, legRef(leg), leg.kind, 'chain_unavailable');
      legs = await payoutLegsOf(db, job.dealId, job.cause);
    } else {
      // 1. What is already signed goes on first: its nonces come before anything new.
      const inFlight = legs.filter((l) => IN_FLIGHT.has(l.status)).sort(byLegOrder);
      let waiting = false;
      for (const leg of inFlight) {
        const to = paidTo(leg);
        if (!to) throw new UnrecoverableError(`leg ${leg.id} was signed without a recipient`);
        const transfer = transferOf(leg, from, to);
        const state = await sendOnce(ctx, transfer);
        if (state.status === 'failed')
          await ensureFlagged(deal.id, payoutFailureReason(leg.kind, state.reason));
        if (state.status === 'needs_gas') await gasFor(job, ctx, deposit, transfer, leg.kind, state);
        if (state.status === 'broadcast' || state.status === 'needs_gas') waiting = true;
      }
      // Top-ups for refused transactions are seen to confirmation too: the ledger counts them.
      for (const topup of await openTxGasTopupsOf(pool, job.dealId, job.cause)) {
        const forTx = { chainId, txHash: topup.forTxHash as string, shortfall: topup.amount };
        if ((await ensureGas(job, ctx, deposit, [], forTx)) === 'wait') waiting = true;
      }
      if (waiting) return { outcome: 'wait', why: 'confirmations' };

      // 2. Checks before anything new is signed.
      const pending = legs.filter((l) => l.status === 'pending').sort(byLegOrder);
      const ready: Array<{ leg: PayoutLeg; to: Address }> = [];
      for (const leg of pending) {
        const dest = await destinationOf(db, deal, leg);
        if ('failure' in dest) await giveUp(deal.id, legRef(leg), leg.kind, dest.failure);
        else ready.push({ leg, to: dest.to });
      }
      const tokens = [...new Set(ready.map((r) => r.leg.token))];
      let sendable: Array<{ leg: PayoutLeg; to: Address }> = [];
      for (const token of tokens) {
        const ofToken = ready.filter((r) => r.leg.token === token);
        const needed = ofToken.reduce((sum, r) => sum + r.leg.amount, 0n);
        const failure = await tokenFailure(ctx.chain, token, deposit, needed);
        if (failure) {
          for (const { leg } of ofToken) await giveUp(deal.id, legRef(leg), leg.kind, failure);
        } else sendable.push(...ofToken);
      }

      // 3. Each transfer must go through as the chain is now; what it costs sizes the gas top-up.
      const costs: Array<{ leg: PayoutLeg; to: Address; cost: bigint }> = [];
      for (const item of sendable) {
        try {
          const cost = await estimateTransferCost(ctx.chain, transferOf(item.leg, from, item.to));
          costs.push({ ...item, cost: cost.gas * cost.maxFeePerGas * GAS_FEE_HEADROOM });
        } catch (err) {
          const failure = wouldRevert(err);
          if (!failure) throw err;
          await giveUp(deal.id, legRef(item.leg), item.leg.kind, failure);
        }
      }
      sendable = costs.map(({ leg, to }) => ({ leg, to }));

      if (sendable.length > 0) {
        // Legs awaiting approval get their gas now too: the top-up is made once per cause.
        const awaiting = legs.filter((l) => l.status === 'awaiting_approval');
        let perTransfer = 0n;
        for (const c of costs) if (c.cost > perTransfer) perTransfer = c.cost;
        const gas = await ensureGas(job, ctx, deposit, [
          ...costs,
          ...awaiting.map((leg) => ({ leg, cost: perTransfer })),
        ]);
        if (gas === 'wait') return { outcome: 'wait', why: 'gas top-up' };
        if (gas === 'ready') {
          // 4. Send, in LEG_ORDER; nonces follow the same order.
          for (const { leg, to } of sendable) {
            const transfer = transferOf(leg, from, to);
            const state: SendState = await sendOnce(ctx, transfer);
            if (state.status === 'failed')
              await ensureFlagged(deal.id, payoutFailureReason(leg.kind, state.reason));
            if (state.status === 'needs_gas') await gasFor(job, ctx, deposit, transfer, leg.kind, state);
          }
        }
      }
      legs = await payoutLegsOf(db, job.dealId, job.cause);
      if (legs.some((l) => IN_FLIGHT.has(l.status))) return { outcome: 'wait', why: 'confirmations' };
    }

    if (legs.every((l) => l.status === 'confirmed')) {
      return { outcome: 'paid', settled: await settle((await store.get(deal.id)) ?? deal, legs) };
    }
    return { outcome: 'held', legs: Object.fromEntries(legs.map((l) => [l.kind, l.status])) };
  }

  async function handle(job: Job): Promise<PayoutOutcome> {
    const parsed = payoutJobSchema.safeParse(job.data);
    if (!parsed.success) throw new UnrecoverableError(`invalid payout job: ${parsed.error.message}`);
    const data = parsed.data;
    // One run per deal at a time, across processes: a second run (a stalled job come back, a cause of the
    // same deal) waits here and then finds the first one's work recorded. The lock holds no row that
    // sendOnce locks, so the sends below cannot wait on it.
    const client = await pool.connect();
    let result: RunResult;
    try {
      await client.query('BEGIN');
      await client.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [`payouts:${data.dealId}`]);
      result = await run(data, client);
      await client.query('COMMIT');
    } catch (err) {
      await client.query('ROLLBACK').catch(() => {});
      throw err;
    } finally {
      client.release();
    }
    if (result.outcome === 'wait') {
      // Waiting for blocks is not work: the job leaves its worker slot and comes back as a delayed job.
      await job.moveToDelayed(Date.now() + recheckMs, job.token);
      throw new DelayedError();
    }
    if (result.outcome === 'held') logger.info({ ...data, legs: result.legs }, 'payout held');
    return result;
  }

  return { [JOBS.payouts[0]]: handle };
}
