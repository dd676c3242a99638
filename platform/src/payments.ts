import {
  type Actor,
  type AssetRef,
  evaluateFunding,
  type FundingEvaluation,
  type PaymentRecord,
  paymentKey,
} from '@amanat/core';
import { withTransaction } from './db.ts';
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
  /** Payment keys that were new or changed status; empty when the report changed nothing. */
  changed: string[];
  evaluation: FundingEvaluation;
  transition: ActResult | null;
}

// biome-ignore lint/suspicious/noExplicitAny: a pg row is untyped until mapped here
const paymentFromRow = (r: Record<string, any>): PaymentRecord => ({
  chainId: r.chain_id,
  txHash: r.tx_hash,
  logIndex: r.log_index,
  token: r.token,
  from: r.from_address,
  to: r.to_address,
  amount: BigInt(r.amount),
  blockNumber: BigInt(r.block_number),
  blockHash: r.block_hash,
  blockTimestamp: r.block_timestamp,
  status: r.status,
});

/**
 * Records what the chain says about a deal's incoming transfers and recomputes its funding from all of
 * them, in one transaction that holds the deal's lock. A report that changes nothing (a duplicate or a
 * replay) writes nothing: no activity entry, no event.
 */
export async function recordPayments(
  store: DealStore,
  input: RecordPaymentsInput,
): Promise<RecordPaymentsResult> {
  const now = input.now ?? new Date();
  return withTransaction(store.pool, async (tx) => {
    const deal = await store.get(input.dealId, tx);
    if (!deal) throw new Error(`recordPayments: no deal ${input.dealId}`);
    await tx.query('SELECT 1 FROM deals WHERE id = $1 FOR UPDATE', [input.dealId]);

    const { rows: changedRows } = await tx.query(
      `INSERT INTO payments (chain_id, tx_hash, log_index, deal_id, token, from_address, to_address, amount,
         block_number, block_hash, block_timestamp, status)
       SELECT chain_id, lower(tx_hash), log_index, $1, token, from_address, to_address, amount, block_number,
         block_hash, block_timestamp, status
       FROM jsonb_to_recordset($2::jsonb) AS x(chain_id integer, tx_hash text, log_index integer, token text,
         from_address text, to_address text, amount numeric, block_number numeric, block_hash text,
         block_timestamp timestamptz, status text)
       ON CONFLICT (chain_id, tx_hash, log_index) DO UPDATE
         SET status = EXCLUDED.status, block_number = EXCLUDED.block_number, block_hash = EXCLUDED.block_hash,
           block_timestamp = EXCLUDED.block_timestamp, updated_at = now()
         WHERE payments.deal_id = $1 AND (payments.status, payments.block_hash)
           IS DISTINCT FROM (EXCLUDED.status, EXCLUDED.block_hash)
       RETURNING chain_id, tx_hash, log_index`,
      [
        input.dealId,
        JSON.stringify(
          input.payments.map((p) => ({
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
    );
    const changed = changedRows.map((r) =>
      paymentKey({ chainId: r.chain_id, txHash: r.tx_hash, logIndex: r.log_index }),
    );

    const { rows } = await tx.query('SELECT * FROM payments WHERE deal_id = $1 ORDER BY id', [input.dealId]);
    const evaluation = evaluateFunding(
      {
        asset: deal.asset,
        amountDue: deal.quote.amountDue,
        underpayTolerance: deal.underpayTolerance,
        dustThreshold: deal.dustThreshold,
        paymentDeadline: deal.deadlines.payment,
        closedAt: null,
        denylist: input.denylist,
        isKnownAsset: input.isKnownAsset,
      },
      rows.map(paymentFromRow),
    );
    if (changed.length === 0) return { changed, evaluation, transition: null };

    for (const c of evaluation.payments) {
      await tx.query(
        'UPDATE payments SET classification = $4 WHERE chain_id = $1 AND tx_hash = $2 AND log_index = $3',
        [c.payment.chainId, c.payment.txHash.toLowerCase(), c.payment.logIndex, c.class],
      );
    }
    await tx.query('UPDATE deals SET confirmed_amount = $2 WHERE id = $1', [
      input.dealId,
      evaluation.confirmed.toString(),
    ]);
    const transition = await store.actIn(
      tx,
      input.dealId,
      {
        type: 'record_funding',
        funding: evaluation.status,
        hasPayments: evaluation.hasPayments,
        reviewReasons: evaluation.reviewReasons,
      },
      input.actor,
      {
        now,
        facts: { payments: changed, confirmed: evaluation.confirmed, confirming: evaluation.confirming },
      },
    );
    return { changed, evaluation, transition };
  });
}
