import {
  type Actor,
  type AssetRef,
  type DealAction,
  DomainError,
  JOBS,
  type PaymentStatus,
  parseAddress,
  paymentKey,
  payoutJobId,
  QUEUES,
  STRAY_FUNDS_CLASSES,
  type StrayFundsClass,
  type StrayFundsDecision,
} from '@amanat/core';
import type { Queryable } from '../db.ts';
import { outboxRowsJson } from '../outbox/write.ts';
import { awaitingApprovalOf, type HeldPayout } from '../payouts/approve.ts';
import { type FailedPayout, failedPayoutsOf } from '../payouts/retry.ts';
import { type DealCursor, type DealPaymentRow, paymentRow } from './queries.ts';
import { DEAL_SELECT, type DealRecord, dealFromRow } from './record.ts';
import type { ActResult, DealStore } from './store.ts';

/**
 * Operator decisions for stray funds: payments that reached a deal's deposit address but were never
 * counted for it (late, in a foreign asset, or from a denylisted sender). Each decision goes through
 * core's `decide_stray_funds` in the deal's one version-checked write, so the decision, its activity
 * entry, its pending payout leg and the payout job commit together or not at all.
 */

export type StrayPayoutKind = 'stray_refund' | 'stray_accept';

export type StrayDecisionRequest =
  /** Back to an address the sender confirmed to the operator (never the sending address by default). */
  | { kind: 'refund'; address: string; confirmedBy: 'sender' }
  /** Into the deal: paid to the seller's frozen payout address. */
  | { kind: 'accept' };

export interface StrayDecisionInput {
  dealId: string;
  paymentId: string;
  decision: StrayDecisionRequest;
  note: string;
  /** The operator deciding. */
  actor: Extract<Actor, { kind: 'user' }>;
  expectedVersion?: number;
  now?: Date;
}

export interface StrayPayout {
  paymentId: string;
  kind: StrayPayoutKind;
  /** The activity entry that decided it; the payout job carries the same cause. */
  cause: string;
  chainId: number;
  token: string;
  recipient: string;
  amount: bigint;
}

export interface StrayDecisionResult extends ActResult {
  payout: StrayPayout;
}

const LEG_KIND: Record<StrayFundsDecision, StrayPayoutKind> = {
  refund: 'stray_refund',
  accept: 'stray_accept',
};

const isStray = (cls: string | null): cls is StrayFundsClass =>
  (STRAY_FUNDS_CLASSES as readonly string[]).includes(cls ?? '');

/** bigserial ids: anything else names no payment (and must not reach PostgreSQL as a bigint). */
const PAYMENT_ID = /^[1-9]\d{0,18}$/;
const validPaymentId = (id: string): boolean =>
  PAYMENT_ID.test(id) && BigInt(id) <= 9_223_372_036_854_775_807n;

// biome-ignore lint/suspicious/noExplicitAny: a pg row is untyped until mapped here
type Row = Record<string, any>;

async function readPayment(db: Queryable, dealId: string, paymentId: string): Promise<Row | null> {
  const { rows } = await db.query({
    name: 'stray-payment-get',
    text: `SELECT p.id::text AS id, p.chain_id, p.tx_hash, p.log_index, p.token, p.amount::text AS amount,
         p.status, p.classification, s.payment_id IS NOT NULL AS decided
       FROM payments p LEFT JOIN stray_fund_decisions s ON s.payment_id = p.id
       WHERE p.id = $1 AND p.deal_id = $2`,
    values: [paymentId, dealId],
  });
  return rows[0] ?? null;
}

/**
 * The decision row reads the payment again inside the write itself: its CHECK constraints refuse a
 * payment that was reorged or reclassified after the operator looked, and the whole change rolls back.
 * The leg is paid in the payment's own chain and token; the job is the one the payout signer follows.
 */
const STRAY_DECISION_SQL = [
  `INSERT INTO stray_fund_decisions (payment_id, deal_id, cause, decision, recipient, payment_status,
     payment_class, decided_by, decided_at)
   SELECT p.id, upd.id, $35, $36, $37, p.status, coalesce(p.classification, ''), $38, $3
   FROM upd JOIN payments p ON p.id = $34 AND p.deal_id = upd.id`,
  `INSERT INTO payout_legs (deal_id, cause, kind, chain_id, token, recipient, amount)
   SELECT upd.id, $35, $39, p.chain_id, p.token, $37, p.amount
   FROM upd JOIN payments p ON p.id = $34 AND p.deal_id = upd.id`,
  `INSERT INTO outbox (kind, target, name, job_id, payload, run_at)
   SELECT x.kind, x.target, x.name, x.job_id, x.payload, x.run_at
   FROM upd, jsonb_to_recordset($40::jsonb)
     AS x(kind text, target text, name text, job_id text, payload jsonb, run_at timestamptz)`,
];

/** Constraint violations of the decision write, as the rejections they mean. */
function decisionWriteError(err: unknown): unknown {
  const pgErr = err as { code?: string; constraint?: string };
  if (pgErr?.code === '23505' && pgErr.constraint === 'stray_fund_decisions_pkey') {
    return new DomainError('stray_funds_already_decided', 'This payment has already been decided');
  }
  if (
    pgErr?.code === '23514' &&
    (pgErr.constraint === 'stray_fund_decisions_payment_confirmed' ||
      pgErr.constraint === 'stray_fund_decisions_payment_stray')
  ) {
    return new DomainError(
      'payment_changed',
      'The payment changed (reorged or reclassified) while this decision was made; reload and decide again',
    );
  }
  return err;
}

/**
 * Decides one stray payment: refund it to an address its sender confirmed, or accept it into the deal
 * (paid to the seller). Refused for a payment of another deal (payment_not_found), one not yet
 * confirmed, one that counts for the deal or was ignored (payment_not_stray), or one already decided.
 */
export async function decideStrayFunds(
  store: DealStore,
  input: StrayDecisionInput,
): Promise<StrayDecisionResult> {
  if (!validPaymentId(input.paymentId)) {
    throw new DomainError('payment_not_found', 'This deal has no such payment');
  }
  const refundTo = input.decision.kind === 'refund' ? parseAddress(input.decision.address) : null;
  let payout: StrayPayout | null = null;
  let result: Awaited<ReturnType<DealStore['change']>>;
  try {
    result = await store.change(
      input.dealId,
      {
        ...(input.now ? { now: input.now } : {}),
        ...(input.expectedVersion !== undefined ? { expectedVersion: input.expectedVersion } : {}),
      },
      async (deal: DealRecord) => {
        const payment = await readPayment(store.pool, deal.id, input.paymentId);
        if (!payment) throw new DomainError('payment_not_found', 'This deal has no such payment');
        if (payment.decided) {
          throw new DomainError('stray_funds_already_decided', 'This payment has already been decided');
        }
        const status = payment.status as PaymentStatus;
        if (status !== 'confirmed') {
          throw new DomainError(
            'payment_not_confirmed',
            `The payment is ${status}: only money confirmed on chain can be paid out`,
            { status },
          );
        }
        const cls = payment.classification as string | null;
        if (!isStray(cls)) {
          throw new DomainError(
            'payment_not_stray',
            `The payment is ${cls ?? 'unclassified'}, not stray funds waiting for a decision`,
            { classification: cls },
          );
        }
        // Accepted funds go where the deal's own payout goes: the address the seller gave and froze.
        const recipient = refundTo ?? deal.seller?.address ?? null;
        if (recipient === null) {
          throw new DomainError('payout_address_missing', 'The seller has not given an address to pay to');
        }
        const decision: StrayFundsDecision = input.decision.kind;
        const asset: AssetRef = { chainId: payment.chain_id, token: payment.token };
        const amount = BigInt(payment.amount);
        // The entry this change appends; the payout leg and job name it as their cause.
        const cause = String(deal.logSeq + 1);
        payout = {
          paymentId: payment.id,
          kind: LEG_KIND[decision],
          cause,
          chainId: asset.chainId,
          token: asset.token,
          recipient,
          amount,
        };
        const job = { dealId: deal.id, cause };
        const action: DealAction = {
          type: 'decide_stray_funds',
          payment: paymentKey({
            chainId: asset.chainId,
            txHash: payment.tx_hash,
            logIndex: payment.log_index,
          }),
          class: cls,
          decision,
          amount,
          asset,
          recipient,
          note: input.note,
        };
        return {
          action,
          actor: input.actor,
          before: deal,
          facts: {
            paymentId: payment.id,
            payoutLeg: LEG_KIND[decision],
            ...(input.decision.kind === 'refund' ? { recipientConfirmedBy: input.decision.confirmedBy } : {}),
          },
          extra: {
            name: 'stray-decision',
            sql: STRAY_DECISION_SQL,
            params: [
              payment.id,
              cause,
              decision,
              recipient,
              input.actor.userId,
              LEG_KIND[decision],
              outboxRowsJson([
                {
                  kind: 'job',
                  queue: QUEUES.payouts,
                  name: JOBS.payouts[0],
                  jobId: payoutJobId(job),
                  payload: job,
                },
              ]),
            ],
          },
        };
      },
    );
  } catch (err) {
    throw decisionWriteError(err);
  }
  if (!result || !payout) throw new Error('a stray funds decision always writes');
  return { deal: result.deal, entry: result.entry, payoutLegs: result.payoutLegs, payout };
}

// ---- what operators look at ------------------------------------------------------------------------

export interface StrayPaymentView extends DealPaymentRow {
  classification: StrayFundsClass;
  decision: {
    decision: StrayFundsDecision;
    recipient: string;
    cause: string;
    decidedBy: string;
    decidedAt: string;
    note: string | null;
    payoutStatus: string | null;
  } | null;
}

export interface ReviewItem {
  deal: DealRecord;
  strayPayments: StrayPaymentView[];
  /** Payout legs above PAYOUT_APPROVAL_THRESHOLD waiting for an operator's approval. */
  awaitingApproval: HeldPayout[];
  /** Payout legs and gas top-ups that failed and wait for a person (retry-payouts). */
  failedPayouts: FailedPayout[];
}

/**
 * Deals an operator must look at: flagged for review, holding stray funds nobody has decided yet, with a
 * payout waiting for approval, or with a failed payout (a cleared flag does not make undecided money
 * disappear from this list).
 * Newest first, keyset paged.
 */
export async function listReviews(
  db: Queryable,
  opts: { after?: DealCursor | null; limit: number },
): Promise<{ items: ReviewItem[]; next: DealCursor | null }> {
  const { rows } = await db.query(
    `${DEAL_SELECT}
     WHERE (d.needs_review OR d.id IN (
         SELECT p.deal_id FROM payments p
         WHERE p.classification = ANY($1::text[]) AND p.deal_id IS NOT NULL
           AND NOT EXISTS (SELECT 1 FROM stray_fund_decisions s WHERE s.payment_id = p.id))
         OR d.id IN (SELECT l.deal_id FROM payout_legs l WHERE l.status IN ('awaiting_approval', 'failed'))
         OR d.id IN (SELECT g.deal_id FROM gas_topups g WHERE g.status = 'failed'))
       AND ($2::timestamptz IS NULL OR (d.created_at, d.id) < ($2::timestamptz, $3::uuid))
     ORDER BY d.created_at DESC, d.id DESC LIMIT $4`,
    [STRAY_FUNDS_CLASSES, opts.after?.createdAt ?? null, opts.after?.id ?? null, opts.limit + 1],
  );
  const deals = rows.slice(0, opts.limit).map(dealFromRow);
  const stray = await strayPaymentsOf(
    db,
    deals.map((d) => d.id),
  );
  const awaiting = await awaitingApprovalOf(
    db,
    deals.map((d) => d.id),
  );
  const failed = await failedPayoutsOf(
    db,
    deals.map((d) => d.id),
  );
  const last = deals.at(-1);
  return {
    items: deals.map((deal) => ({
      deal,
      strayPayments: stray.get(deal.id) ?? [],
      awaitingApproval: awaiting.get(deal.id) ?? [],
      failedPayouts: failed.get(deal.id) ?? [],
    })),
    next: rows.length > opts.limit && last ? { createdAt: last.createdAt, id: last.id } : null,
  };
}

/** Every stray payment of these deals, decided or not, with the decision and its payout's status. */
export async function strayPaymentsOf(
  db: Queryable,
  dealIds: readonly string[],
): Promise<Map<string, StrayPaymentView[]>> {
  const byDeal = new Map<string, StrayPaymentView[]>();
  if (dealIds.length === 0) return byDeal;
  const { rows } = await db.query(
    `SELECT p.id::text AS id, p.deal_id, p.chain_id, p.tx_hash, p.log_index, p.token, p.from_address,
       p.to_address, p.amount::text AS amount, p.block_number::text AS block_number, p.block_hash,
       p.block_timestamp, p.status, p.classification,
       s.decision, s.recipient, s.cause, s.decided_by, s.decided_at, a.facts->>'note' AS note,
       l.status AS payout_status
     FROM payments p
     LEFT JOIN stray_fund_decisions s ON s.payment_id = p.id
     LEFT JOIN activity_log a ON a.deal_id = s.deal_id AND a.seq = s.cause::integer
     LEFT JOIN payout_legs l ON l.deal_id = s.deal_id AND l.cause = s.cause
     WHERE p.deal_id = ANY($1::uuid[]) AND p.classification = ANY($2::text[])
     ORDER BY p.id`,
    [dealIds, STRAY_FUNDS_CLASSES],
  );
  for (const r of rows) {
    const view: StrayPaymentView = {
      ...paymentRow(r),
      classification: r.classification,
      decision: r.decision
        ? {
            decision: r.decision,
            recipient: r.recipient,
            cause: r.cause,
            decidedBy: r.decided_by,
            decidedAt: new Date(r.decided_at).toISOString(),
            note: r.note,
            payoutStatus: r.payout_status,
          }
        : null,
    };
    byDeal.set(r.deal_id, [...(byDeal.get(r.deal_id) ?? []), view]);
  }
  return byDeal;
}
