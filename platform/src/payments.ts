import {
  type Actor,
  type AssetRef,
  evaluateFunding,
  type FundingEvaluation,
  type PaymentRecord,
  paymentKey,
  reviewReasonFor,
} from '@amanat/core';
import type { Pool } from './db.ts';
import { DEAL_WITH_PAYMENTS_SELECT, type DealRecord, dealFromRow } from './deals/record.ts';
import type { ActResult, DealStore } from './deals/store.ts';

export interface RecordPaymentsInput {
  dealId: string;
  payments: PaymentRecord[];
  denylist: ReadonlySet<string>;
  isKnownAsset: (ref: AssetRef) => boolean;
  actor: Actor;
  now?: Date;
}

export interface RecordPaymentsResult {
  /** Payment keys whose classification changed; empty when the report changed nothing. */
  changed: string[];
  evaluation: FundingEvaluation;
  transition: ActResult | null;
}

// biome-ignore lint/suspicious/noExplicitAny: a pg row is untyped until mapped here
type Row = Record<string, any>;

const paymentFromRow = (r: Row): PaymentRecord => ({
  chainId: r.chain_id,
  txHash: r.tx_hash,
  logIndex: r.log_index,
  token: r.token,
  from: r.from_address,
  to: r.to_address,
  amount: BigInt(r.amount),
  blockNumber: BigInt(r.block_number),
  blockHash: r.block_hash,
  blockTimestamp: new Date(r.block_timestamp),
  status: r.status,
});

/**
 * Records what the chain says about a deal's incoming transfers, then recomputes the deal's funding from
 * all of them. The payment rows are idempotent facts (unique on chain, tx, log index); the deal's
 * funding, the payments' classification and the activity entry change together in one version-checked
 * statement. The decision to change anything compares the recomputed classification with the stored one,
 * so a duplicate or replayed report writes nothing, and a crash between the two steps is repaired by
 * the next report of any of the deal's payments.
 */
export async function recordPayments(
  store: DealStore,
  input: RecordPaymentsInput,
): Promise<RecordPaymentsResult> {
  const now = input.now ?? new Date();
  // One row per payment key: a batch may repeat a log, and one upsert cannot touch a row twice.
  const unique = new Map(input.payments.map((p) => [paymentKey(p), p]));
  await store.pool.query({
    name: 'payments-upsert',
    text: `INSERT INTO payments (chain_id, tx_hash, log_index, deal_id, token, from_address, to_address, amount,
       block_number, block_hash, block_timestamp, status)
     SELECT chain_id, lower(tx_hash), log_index, $1, token, from_address, to_address, amount, block_number,
       block_hash, block_timestamp, status
     FROM jsonb_to_recordset($2::jsonb) AS x(chain_id integer, tx_hash text, log_index integer, token text,
       from_address text, to_address text, amount numeric, block_number numeric, block_hash text,
       block_timestamp timestamptz, status text)
     ON CONFLICT (chain_id, tx_hash, log_index) DO UPDATE
       SET status = EXCLUDED.status, block_number = EXCLUDED.block_number, block_hash = EXCLUDED.block_hash,
         block_timestamp = EXCLUDED.block_timestamp, updated_at = now()
       WHERE payments.deal_id = $1
         AND (payments.status, payments.block_hash) IS DISTINCT FROM (EXCLUDED.status, EXCLUDED.block_hash)
         -- facts only move forward: a late "detected" never undoes "confirmed" in the same block
         AND NOT (payments.status = 'confirmed' AND EXCLUDED.status = 'pending'
           AND payments.block_hash = EXCLUDED.block_hash)`,
    values: [
      input.dealId,
      JSON.stringify(
        [...unique.values()].map((p) => ({
          chain_id: p.chainId,
          tx_hash: p.txHash,
          log_index: p.logIndex,
          token: p.token,
          from_address: p.from,
          to_address: p.to,
          amount: p.amount.toString(),
          block_number: p.blockNumber.toString(),
          block_hash: p.blockHash,
          block_timestamp: p.blockTimestamp.toISOString(),
          status: p.status,
        })),
      ),
    ],
  });

  let evaluation: FundingEvaluation | null = null;
  let changed: string[] = [];
  const result = await store.change(
    input.dealId,
    { now },
    async (deal: DealRecord & { payments: Row[] }) => {
      const rows = deal.payments;
      const stored = new Map(
        rows.map((r) => [paymentKey(paymentFromRow(r)), r.classification as string | null]),
      );
      evaluation = evaluateFunding(
        {
          asset: deal.asset,
          amountDue: deal.quote.amountDue,
          underpayTolerance: deal.underpayTolerance,
          dustThreshold: deal.dustThreshold,
          paymentDeadline: deal.deadlines.payment,
          closedAt: deal.closedAt,
          denylist: input.denylist,
          isKnownAsset: input.isKnownAsset,
        },
        rows.map(paymentFromRow),
      );
      changed = evaluation.payments.filter((c) => stored.get(c.key) !== c.class).map((c) => c.key);
      if (changed.length === 0) return null;
      return {
        action: {
          type: 'record_funding' as const,
          funding: evaluation.status,
          confirmed: evaluation.confirmed,
          confirming: evaluation.confirming,
          // Only what this report changed: a reason an operator already cleared does not come back.
          reviewReasons: [
            ...new Set(
              evaluation.payments.flatMap((c) => {
                const reason = reviewReasonFor(c.class);
                return changed.includes(c.key) && reason ? [reason] : [];
              }),
            ),
          ].sort(),
        },
        actor: input.actor,
        before: deal,
        facts: { payments: changed, confirmed: evaluation.confirmed, confirming: evaluation.confirming },
        extra: {
          name: 'classify-payments',
          sql: `UPDATE payments p SET classification = x.class
              FROM upd, jsonb_to_recordset($34::jsonb) AS x(chain_id integer, tx_hash text, log_index integer, class text)
              WHERE p.chain_id = x.chain_id AND p.tx_hash = x.tx_hash AND p.log_index = x.log_index`,
          params: [
            JSON.stringify(
              evaluation.payments.map((c) => ({
                chain_id: c.payment.chainId,
                tx_hash: c.payment.txHash.toLowerCase(),
                log_index: c.payment.logIndex,
                class: c.class,
              })),
            ),
          ],
        },
      };
    },
    async (id) => {
      const { rows } = await store.pool.query({
        name: 'deal-get-with-payments',
        text: `${DEAL_WITH_PAYMENTS_SELECT} WHERE d.id = $1`,
        values: [id],
      });
      return rows[0] ? { ...dealFromRow(rows[0]), payments: rows[0].payments_json as Row[] } : null;
    },
  );
  return {
    changed,
    evaluation: evaluation as unknown as FundingEvaluation,
    transition: result ? { deal: result.deal, entry: result.entry, payoutLegs: result.payoutLegs } : null,
  };
}

/** The deal whose deposit address this is, by the address the chain reports (any case). */
export async function findDealIdByDepositAddress(pool: Pool, address: string): Promise<string | null> {
  const { rows } = await pool.query({
    name: 'deposit-address-deal',
    text: 'SELECT deal_id FROM deposit_addresses WHERE lower(address) = lower($1)',
    values: [address],
  });
  return rows[0]?.deal_id ?? null;
}

/** A payment as recorded, with the deal it was attributed to (null: an address no deal owns). */
export async function findRecordedPayment(
  pool: Pool,
  key: Pick<PaymentRecord, 'chainId' | 'txHash' | 'logIndex'>,
): Promise<{ dealId: string | null; payment: PaymentRecord } | null> {
  const { rows } = await pool.query({
    name: 'payment-by-key',
    text: `SELECT deal_id, chain_id, tx_hash, log_index, token, from_address, to_address, amount::text,
        block_number::text, block_hash, block_timestamp, status
      FROM payments WHERE chain_id = $1 AND tx_hash = lower($2) AND log_index = $3`,
    values: [key.chainId, key.txHash, key.logIndex],
  });
  const row = rows[0];
  return row ? { dealId: row.deal_id, payment: paymentFromRow(row) } : null;
}

/**
 * Money sent to an address that belongs to no deal: recorded without one, so an operator finds it and
 * it can be returned. The same facts-only-move-forward rule as `recordPayments` applies.
 */
export async function recordUnattributedPayment(pool: Pool, p: PaymentRecord): Promise<boolean> {
  const { rowCount } = await pool.query({
    name: 'payments-upsert-unattributed',
    text: `INSERT INTO payments (chain_id, tx_hash, log_index, deal_id, token, from_address, to_address, amount,
        block_number, block_hash, block_timestamp, status)
      VALUES ($1, lower($2), $3, NULL, $4, $5, $6, $7, $8, $9, $10, $11)
      ON CONFLICT (chain_id, tx_hash, log_index) DO UPDATE
        SET status = EXCLUDED.status, block_number = EXCLUDED.block_number, block_hash = EXCLUDED.block_hash,
          block_timestamp = EXCLUDED.block_timestamp, updated_at = now()
        WHERE payments.deal_id IS NULL
          AND (payments.status, payments.block_hash) IS DISTINCT FROM (EXCLUDED.status, EXCLUDED.block_hash)
          AND NOT (payments.status = 'confirmed' AND EXCLUDED.status = 'pending'
            AND payments.block_hash = EXCLUDED.block_hash)`,
    values: [
      p.chainId,
      p.txHash,
      p.logIndex,
      p.token,
      p.from,
      p.to,
      p.amount.toString(),
      p.blockNumber.toString(),
      p.blockHash,
      p.blockTimestamp.toISOString(),
      p.status,
    ],
  });
  return (rowCount ?? 0) > 0;
}

/**
 * Payments whose recorded status may be out of date: still pending a while after they were seen (their
 * "confirmed" report was lost, or ran out of retries while an endpoint lagged), or reorged recently (a
 * chain that switched back to the dropped block reports the same event id again, which is deduplicated).
 */
export async function paymentsToRecheck(
  pool: Pool,
  opts: { pendingFor: number; reorgedWithin: number; limit: number },
): Promise<
  Array<
    Pick<
      PaymentRecord,
      'chainId' | 'txHash' | 'logIndex' | 'blockHash' | 'blockNumber' | 'to' | 'token' | 'status'
    >
  >
> {
  const { rows } = await pool.query({
    name: 'payments-to-recheck',
    text: `SELECT chain_id, tx_hash, log_index, block_hash, block_number::text, to_address, token, status
      FROM payments
      WHERE (status = 'pending' AND updated_at < now() - make_interval(secs => $1))
         OR (status = 'reorged' AND updated_at > now() - make_interval(secs => $2))
      ORDER BY updated_at LIMIT $3`,
    values: [opts.pendingFor, opts.reorgedWithin, opts.limit],
  });
  return rows.map((r) => ({
    chainId: r.chain_id,
    txHash: r.tx_hash,
    logIndex: r.log_index,
    blockHash: r.block_hash,
    blockNumber: BigInt(r.block_number),
    to: r.to_address,
    token: r.token,
    status: r.status,
  }));
}
