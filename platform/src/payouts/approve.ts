import { type Actor, type DealAction, DomainError, JOBS, jobId, QUEUES } from '@amanat/core';
import type { Queryable } from '../db.ts';
import type { DealRecord } from '../deals/record.ts';
import type { ActResult, DealStore } from '../deals/store.ts';
import { outboxRowsJson } from '../outbox/write.ts';
import { operatorChangeOptions, refuseOperatorParty } from './operator-action.ts';
import type { PayoutLegKind } from './store.ts';

/**
 * Operator approval of payouts above PAYOUT_APPROVAL_THRESHOLD. The payout signer moves such a leg from
 * pending to awaiting_approval and flags the deal with `payout_approval_required:<leg id>`; an operator's
 * approval goes through core's `approve_payout` in the deal's one version-checked write, so the log entry,
 * the leg's move back to pending (with who approved it and when) and a new payout job commit together.
 */

/** The review reason of a leg waiting for an operator. */
export const payoutApprovalReason = (legId: bigint | string): string => `payout_approval_required:${legId}`;
const APPROVAL_REASON = /^payout_approval_required:(\d+)$/;

/**
 * The payout job an approval queues. The decision's own job (payoutJobId) already ran and BullMQ keeps a
 * completed job's id for days, so adding it again would be ignored: each approval has a job of its own.
 */
export const approvedPayoutJobId = (dealId: string, cause: string, legId: bigint | string): string =>
  jobId(dealId, cause, 'approved', String(legId));

/** bigserial ids: anything else names no leg (and must not reach PostgreSQL as a bigint). */
const LEG_ID = /^[1-9]\d{0,18}$/;
const validLegId = (id: string): boolean => LEG_ID.test(id) && BigInt(id) <= 9_223_372_036_854_775_807n;

/** A leg waiting for (or given) an operator's approval, as the review screen lists it. */
export interface HeldPayout {
  id: string;
  dealId: string;
  cause: string;
  kind: PayoutLegKind;
  chainId: number;
  token: string;
  /** null only for the fee (its address is configuration). */
  recipient: string | null;
  amount: bigint;
}

// biome-ignore lint/suspicious/noExplicitAny: a pg row is untyped until mapped here
type Row = Record<string, any>;

const awaitingFromRow = (r: Row): HeldPayout => ({
  id: String(r.id),
  dealId: r.deal_id,
  cause: r.cause,
  kind: r.kind,
  chainId: r.chain_id,
  token: r.token,
  recipient: r.recipient,
  amount: BigInt(r.amount),
});

/**
 * The signer's gate: a pending leg above the threshold waits for an operator. Only from pending, so a leg
 * already approved (or signed) is never taken back; false when the leg was not pending.
 */
export async function holdForApproval(db: Queryable, legId: bigint): Promise<boolean> {
  const { rowCount } = await db.query({
    name: 'payout-leg-hold-for-approval',
    text: `UPDATE payout_legs SET status = 'awaiting_approval', updated_at = now()
       WHERE id = $1 AND status = 'pending' AND approved_at IS NULL`,
    values: [legId.toString()],
  });
  return rowCount === 1;
}

/** The deal a payout leg belongs to, or null when there is no such leg. */
export async function dealOfPayoutLeg(db: Queryable, legId: string): Promise<string | null> {
  if (!validLegId(legId)) return null;
  const { rows } = await db.query({
    name: 'payout-leg-deal',
    text: 'SELECT deal_id FROM payout_legs WHERE id = $1',
    values: [legId],
  });
  return rows[0]?.deal_id ?? null;
}

/** Every leg of these deals that waits for an operator's approval, oldest first. */
export async function awaitingApprovalOf(
  db: Queryable,
  dealIds: readonly string[],
): Promise<Map<string, HeldPayout[]>> {
  const byDeal = new Map<string, HeldPayout[]>();
  if (dealIds.length === 0) return byDeal;
  const { rows } = await db.query(
    `SELECT id::text AS id, deal_id, cause, kind, chain_id, token, recipient, amount::text AS amount
     FROM payout_legs WHERE deal_id = ANY($1::uuid[]) AND status = 'awaiting_approval' ORDER BY id`,
    [dealIds],
  );
  for (const r of rows) byDeal.set(r.deal_id, [...(byDeal.get(r.deal_id) ?? []), awaitingFromRow(r)]);
  return byDeal;
}

export interface ApprovePayoutRequest {
  dealId: string;
  legId: string;
  /** The operator approving. */
  actor: Extract<Actor, { kind: 'user' }>;
  note: string;
  expectedVersion?: number;
  now?: Date;
}

export interface ApprovedPayout extends HeldPayout {
  status: 'pending';
  approvedBy: string;
  approvedAt: Date;
  /** The payout job queued for it. */
  jobId: string;
}

export interface PayoutApprovalResult extends ActResult {
  payout: ApprovedPayout;
  /** Whether the approval also lowered the deal's review flag (its last reason was this approval). */
  reviewClosed: boolean;
}

/**
 * The leg moves back to pending only if it still awaits approval, and the job row is written only if it
 * did; the deal's version check already orders this against every other change of the deal.
 */
const APPROVE_SQL = [
  `UPDATE payout_legs l SET status = 'pending', approved_by = $35, approved_at = $3, updated_at = $3
   FROM upd WHERE l.id = $34 AND l.deal_id = upd.id AND l.status = 'awaiting_approval'
   RETURNING l.id`,
  `INSERT INTO outbox (kind, target, name, job_id, payload, run_at)
   SELECT x.kind, x.target, x.name, x.job_id, x.payload, x.run_at
   FROM extra, jsonb_to_recordset($36::jsonb)
     AS x(kind text, target text, name text, job_id text, payload jsonb, run_at timestamptz)`,
];

/**
 * Whether approving this leg leaves the deal nothing else to review: every reason it is flagged for is a
 * payout approval, and each of those legs is approved (this one now, the others before). A flag with any
 * other reason stays up for an operator to clear with a note.
 */
async function closesReview(db: Queryable, deal: DealRecord, legId: string): Promise<boolean> {
  if (!deal.needsReview || deal.reviewReasons.length === 0) return false;
  const legIds = deal.reviewReasons.map((reason) => APPROVAL_REASON.exec(reason)?.[1] ?? null);
  if (legIds.some((id) => id === null)) return false;
  const others = (legIds as string[]).filter((id) => id !== legId);
  if (others.length === 0) return true;
  const { rows } = await db.query(
    `SELECT count(*)::int AS waiting FROM payout_legs
     WHERE deal_id = $1 AND id = ANY($2::bigint[]) AND status = 'awaiting_approval'`,
    [deal.id, others],
  );
  return rows[0].waiting === 0;
}

/**
 * Approves one payout leg that waits for an operator. Refused for a leg of another deal or none
 * (payout_not_found), one not awaiting approval (already approved, or never held), and an operator who is
 * a party of the deal (operator_is_party: that would be approving their own money).
 */
export async function approvePayout(
  store: DealStore,
  input: ApprovePayoutRequest,
): Promise<PayoutApprovalResult> {
  if (!validLegId(input.legId)) throw new DomainError('payout_not_found', 'This deal has no such payout');
  let payout: ApprovedPayout | null = null;
  let reviewClosed = false;
  const result = await store.change(input.dealId, operatorChangeOptions(input), async (deal: DealRecord) => {
    refuseOperatorParty(deal, input.actor.userId, 'approve');
    const { rows } = await store.pool.query({
      name: 'payout-leg-for-approval',
      text: `SELECT id::text AS id, deal_id, cause, kind, chain_id, token, recipient, amount::text AS amount,
             status FROM payout_legs WHERE id = $1 AND deal_id = $2`,
      values: [input.legId, deal.id],
    });
    if (!rows[0]) throw new DomainError('payout_not_found', 'This deal has no such payout');
    if (rows[0].status !== 'awaiting_approval') {
      throw new DomainError(
        'payout_not_awaiting_approval',
        `The payout is ${rows[0].status}, not waiting for an approval`,
        { status: rows[0].status },
      );
    }
    const leg = awaitingFromRow(rows[0]);
    reviewClosed = await closesReview(store.pool, deal, leg.id);
    const job = { dealId: deal.id, cause: leg.cause };
    const id = approvedPayoutJobId(deal.id, leg.cause, leg.id);
    payout = {
      ...leg,
      status: 'pending',
      approvedBy: input.actor.userId,
      approvedAt: input.now ?? new Date(),
      jobId: id,
    };
    const action: DealAction = {
      type: 'approve_payout',
      leg: leg.id,
      kind: leg.kind,
      amount: leg.amount,
      recipient: leg.recipient,
      note: input.note,
      closesReview: reviewClosed,
    };
    return {
      action,
      actor: input.actor,
      before: deal,
      facts: { asset: { chainId: leg.chainId, token: leg.token }, cause: leg.cause },
      extra: {
        name: 'approve-payout',
        sql: APPROVE_SQL,
        params: [
          leg.id,
          input.actor.userId,
          outboxRowsJson([
            { kind: 'job', queue: QUEUES.payouts, name: JOBS.payouts[0], jobId: id, payload: job },
          ]),
        ],
      },
    };
  });
  if (!result || !payout) throw new Error('a payout approval always writes');
  const approved = payout as ApprovedPayout;
  // The entry's time is the one written to approved_at.
  approved.approvedAt = new Date(result.entry.at);
  return {
    deal: result.deal,
    entry: result.entry,
    payoutLegs: result.payoutLegs,
    payout: approved,
    reviewClosed,
  };
}
