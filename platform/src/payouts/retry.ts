import {
  type Actor,
  type DealAction,
  DomainError,
  JOBS,
  jobId,
  QUEUES,
  type RetriedPayout,
} from '@amanat/core';
import type { Queryable } from '../db.ts';
import type { DealRecord } from '../deals/record.ts';
import type { ActResult, DealStore } from '../deals/store.ts';
import { outboxRowsJson } from '../outbox/write.ts';
import { operatorChangeOptions, refuseOperatorParty } from './operator-action.ts';

/**
 * An operator's retry of failed payouts. A failed record waits for a person by design (no retry loop):
 * once the cause is fixed (the token unpaused, the gas tank refilled, an RPC endpoint configured) the
 * operator sends the deal's failed records again. Through core's `retry_payouts` in the deal's one
 * version-checked write, the log entry, each record's move back to pending (its attempts retired) and a
 * payout job per cause commit together.
 *
 * Only records whose money cannot have moved are retried: never signed, reverted on the chain, or whose
 * nonce another transaction used. A record with a transaction that was mined without reverting (say, no
 * matching Transfer log) may have paid: signing it again could pay twice, so a person checks the chain.
 */

export type FailedPayoutRecord = RetriedPayout['record'];

/** A failed payout leg or gas top-up, as the review screen lists it. */
export interface FailedPayout {
  record: FailedPayoutRecord;
  id: string;
  dealId: string;
  cause: string;
  /** The leg's kind, or 'gas_topup'. */
  kind: string;
  chainId: number;
  /** 'native' for a top-up. */
  token: string;
  /** A top-up's is the deposit address; null only for the fee (its address is configuration). */
  recipient: string | null;
  amount: bigint;
  failure: string;
  /** False when a transaction of it was mined without reverting: it may have paid, a person checks. */
  retryable: boolean;
}

/** The payout job a retry queues for a cause: one per retry (the deal's version after it), never reused. */
export const payoutRetryJobId = (dealId: string, cause: string, version: number): string =>
  jobId(dealId, cause, 'retry', version);

// biome-ignore lint/suspicious/noExplicitAny: a pg row is untyped until mapped here
type Row = Record<string, any>;

/** sendOnce's failure for a transaction the chain mined and reverted (send.ts, `settle`). */
const REVERTED = /^reverted/;

const failedFromRow = (r: Row): FailedPayout => ({
  record: r.record,
  id: String(r.id),
  dealId: r.deal_id,
  cause: r.cause,
  kind: r.kind,
  chainId: r.chain_id,
  token: r.token,
  recipient: r.recipient,
  amount: BigInt(r.amount),
  failure: r.failure,
  retryable: !r.mined || REVERTED.test(r.failure),
});

const FAILED_SQL = `
  SELECT 'payout_leg' AS record, l.id, l.deal_id, l.cause, l.kind, l.chain_id, l.token,
    l.recipient, l.amount::text AS amount, l.failure,
    EXISTS (SELECT 1 FROM payout_attempts a WHERE a.leg_id = l.id AND a.status = 'mined' AND a.retired_at IS NULL)
      AS mined
  FROM payout_legs l WHERE l.deal_id = ANY($1::uuid[]) AND l.status = 'failed'
  UNION ALL
  SELECT 'gas_topup', g.id, g.deal_id, g.cause, 'gas_topup', g.chain_id, 'native', g.address,
    g.amount::text, g.failure,
    EXISTS (SELECT 1 FROM payout_attempts a WHERE a.topup_id = g.id AND a.status = 'mined' AND a.retired_at IS NULL)
  FROM gas_topups g WHERE g.deal_id = ANY($1::uuid[]) AND g.status = 'failed'
  ORDER BY record, id`;

/** Every failed payout record of these deals: gas top-ups, then legs, each oldest first. */
export async function failedPayoutsOf(
  db: Queryable,
  dealIds: readonly string[],
): Promise<Map<string, FailedPayout[]>> {
  const byDeal = new Map<string, FailedPayout[]>();
  if (dealIds.length === 0) return byDeal;
  const { rows } = await db.query({ name: 'payouts-failed-of', text: FAILED_SQL, values: [dealIds] });
  for (const r of rows) byDeal.set(r.deal_id, [...(byDeal.get(r.deal_id) ?? []), failedFromRow(r)]);
  return byDeal;
}

export interface RetryPayoutsRequest {
  dealId: string;
  /** The operator retrying. */
  actor: Extract<Actor, { kind: 'user' }>;
  note: string;
  expectedVersion?: number;
  now?: Date;
}

export interface PayoutRetryResult extends ActResult {
  /** The records sent again, now pending. */
  retried: FailedPayout[];
  /** The payout jobs queued, one per cause. */
  jobIds: string[];
  /** Whether the retry also lowered the deal's review flag (its only reasons were these failures). */
  reviewClosed: boolean;
}

/**
 * In the deal's write, only if it applies ($3 is the entry's time): the records' attempts are retired
 * (a live one, whose nonce another transaction used, also becomes 'replaced', since it can never be
 * mined), then each record still failed goes back to pending, and the jobs are queued.
 */
const RETRY_SQL = [
  `UPDATE payout_attempts a
     SET status = CASE WHEN a.status IN ('signed', 'broadcast') THEN 'replaced' ELSE a.status END,
       retired_at = $3
   FROM upd
   WHERE a.retired_at IS NULL
     AND (a.leg_id IN (SELECT l.id FROM payout_legs l
                       WHERE l.id = ANY($34::bigint[]) AND l.deal_id = upd.id AND l.status = 'failed')
       OR a.topup_id IN (SELECT g.id FROM gas_topups g
                         WHERE g.id = ANY($35::bigint[]) AND g.deal_id = upd.id AND g.status = 'failed'))`,
  `UPDATE payout_legs l SET status = 'pending', failure = NULL, tx_hash = NULL, updated_at = $3
   FROM upd WHERE l.id = ANY($34::bigint[]) AND l.deal_id = upd.id AND l.status = 'failed'`,
  `UPDATE gas_topups g SET status = 'pending', failure = NULL, tx_hash = NULL, updated_at = $3
   FROM upd WHERE g.id = ANY($35::bigint[]) AND g.deal_id = upd.id AND g.status = 'failed'`,
  `INSERT INTO outbox (kind, target, name, job_id, payload, run_at)
   SELECT x.kind, x.target, x.name, x.job_id, x.payload, x.run_at
   FROM upd, jsonb_to_recordset($36::jsonb)
     AS x(kind text, target text, name text, job_id text, payload jsonb, run_at timestamptz)`,
];

const PAYOUT_FAILED_REASON = /^payout_failed:/;

/**
 * Sends every retryable failed payout record of a deal again. Refused when the deal has no failed payout
 * (nothing_to_retry), when none of them can be retried safely (payout_not_retryable), and for an
 * operator who is a party of the deal (operator_is_party).
 */
export async function retryPayouts(store: DealStore, input: RetryPayoutsRequest): Promise<PayoutRetryResult> {
  let retried: FailedPayout[] = [];
  let jobIds: string[] = [];
  let reviewClosed = false;
  const result = await store.change(input.dealId, operatorChangeOptions(input), async (deal: DealRecord) => {
    refuseOperatorParty(deal, input.actor.userId, 'retry');
    const failed = (await failedPayoutsOf(store.pool, [deal.id])).get(deal.id) ?? [];
    if (failed.length === 0) throw new DomainError('nothing_to_retry', 'This deal has no failed payout');
    retried = failed.filter((f) => f.retryable);
    if (retried.length === 0) {
      throw new DomainError(
        'payout_not_retryable',
        'Every failed payout of this deal had a transaction mined without reverting: it may have paid, ' +
          'so check the chain by hand instead of sending it again',
        { records: failed.map((f) => ({ record: f.record, id: f.id, failure: f.failure })) },
      );
    }
    reviewClosed =
      deal.needsReview &&
      retried.length === failed.length &&
      deal.reviewReasons.length > 0 &&
      deal.reviewReasons.every((reason) => PAYOUT_FAILED_REASON.test(reason));
    const causes = [...new Set(retried.map((f) => f.cause))];
    jobIds = causes.map((cause) => payoutRetryJobId(deal.id, cause, deal.version + 1));
    const records: RetriedPayout[] = retried.map((f) => ({
      record: f.record,
      id: f.id,
      kind: f.kind,
      failure: f.failure,
    }));
    const action: DealAction = {
      type: 'retry_payouts',
      records,
      note: input.note,
      closesReview: reviewClosed,
    };
    const ids = (record: FailedPayoutRecord) => retried.filter((f) => f.record === record).map((f) => f.id);
    return {
      action,
      actor: input.actor,
      before: deal,
      extra: {
        name: 'retry-payouts',
        sql: RETRY_SQL,
        params: [
          ids('payout_leg'),
          ids('gas_topup'),
          outboxRowsJson(
            causes.map((cause, i) => ({
              kind: 'job' as const,
              queue: QUEUES.payouts,
              name: JOBS.payouts[0],
              jobId: jobIds[i] as string,
              payload: { dealId: deal.id, cause },
            })),
          ),
        ],
      },
    };
  });
  if (!result) throw new Error('a payout retry always writes');
  return {
    deal: result.deal,
    entry: result.entry,
    payoutLegs: result.payoutLegs,
    retried,
    jobIds,
    reviewClosed,
  };
}
