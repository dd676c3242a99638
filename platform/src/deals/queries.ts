import type { DealState, PaymentStatus } from '@amanat/core';
import type { Queryable } from '../db.ts';
import { DEAL_SELECT, DEAL_WITH_PAYMENTS_SELECT, type DealRecord, dealFromRow } from './record.ts';

/** A payment as the deal shows it; amounts and block numbers stay decimal strings (never floats). */
export interface DealPaymentRow {
  id: string;
  chainId: number;
  txHash: string;
  logIndex: number;
  token: string;
  from: string;
  to: string;
  amount: string;
  blockNumber: string;
  blockHash: string;
  blockTimestamp: string;
  status: PaymentStatus;
  classification: string | null;
}

// biome-ignore lint/suspicious/noExplicitAny: a pg row is untyped until mapped here
type Row = Record<string, any>;

/** Maps a `payments` row (or the same fields from a JSON aggregate); amounts stay decimal strings. */
export const paymentRow = (p: Row): DealPaymentRow => ({
  id: p.id,
  chainId: p.chain_id,
  txHash: p.tx_hash,
  logIndex: p.log_index,
  token: p.token,
  from: p.from_address,
  to: p.to_address,
  amount: p.amount,
  blockNumber: p.block_number,
  blockHash: p.block_hash,
  blockTimestamp: new Date(p.block_timestamp).toISOString(),
  status: p.status,
  classification: p.classification,
});

/** Display names of a deal's parties, by user id. */
export type PartyNames = Map<string, { displayName: string; username: string | null }>;

/** Adds the parties' names to a deal query, so a page shows people without a second round trip. */
const withNames = (dealQuery: string) => `SELECT x.*,
    su.display_name AS seller_name, su.username AS seller_username,
    bu.display_name AS buyer_name, bu.username AS buyer_username
  FROM (${dealQuery}) x
  LEFT JOIN users su ON su.id = x.seller_id
  LEFT JOIN users bu ON bu.id = x.buyer_id`;

function namesOf(rows: readonly Row[], into: PartyNames = new Map()): PartyNames {
  for (const r of rows) {
    if (r.seller_id) into.set(r.seller_id, { displayName: r.seller_name ?? '', username: r.seller_username });
    if (r.buyer_id) into.set(r.buyer_id, { displayName: r.buyer_name ?? '', username: r.buyer_username });
  }
  return into;
}

/** A deal with its payments and its parties' names, in one query. */
export async function getDealWithPayments(
  db: Queryable,
  id: string,
): Promise<(DealRecord & { payments: DealPaymentRow[]; names: PartyNames }) | null> {
  const { rows } = await db.query({
    name: 'deal-view-get',
    text: withNames(`${DEAL_WITH_PAYMENTS_SELECT} WHERE d.id = $1`),
    values: [id],
  });
  const row = rows[0];
  return row
    ? { ...dealFromRow(row), payments: (row.payments_json as Row[]).map(paymentRow), names: namesOf(rows) }
    : null;
}

export async function findDealIdByInviteCode(db: Queryable, code: string): Promise<string | null> {
  const { rows } = await db.query('SELECT id FROM deals WHERE invite_code = $1', [code]);
  return rows[0]?.id ?? null;
}

/** Keyset position in a newest-first listing: stable while deals change, unlike an offset. */
export interface DealCursor {
  createdAt: Date;
  id: string;
}

export interface DealListOptions {
  states?: readonly DealState[];
  after?: DealCursor | null;
  limit: number;
}

export type DealListScope =
  | { kind: 'party'; userId: string }
  /** Arbitrators: every deal that is in dispute. */
  | { kind: 'disputed' }
  /** Operators: every deal flagged for review. */
  | { kind: 'review' };

/** Deals newest first, one page plus whether there is more. */
export async function listDeals(
  db: Queryable,
  scope: DealListScope,
  opts: DealListOptions,
): Promise<{ deals: DealRecord[]; names: PartyNames; next: DealCursor | null }> {
  const where: string[] = [];
  const values: unknown[] = [];
  const param = (v: unknown) => {
    values.push(v);
    return `$${values.length}`;
  };
  if (scope.kind === 'party') {
    where.push(`d.id IN (SELECT deal_id FROM deal_parties WHERE user_id = ${param(scope.userId)})`);
  } else if (scope.kind === 'disputed') {
    where.push(`d.state = 'disputed'`);
  } else {
    where.push('d.needs_review');
  }
  if (opts.states && opts.states.length > 0) where.push(`d.state = ANY(${param(opts.states)}::text[])`);
  if (opts.after) {
    where.push(`(d.created_at, d.id) < (${param(opts.after.createdAt)}, ${param(opts.after.id)}::uuid)`);
  }
  const page = `${DEAL_SELECT} WHERE ${where.join(' AND ')} ORDER BY d.created_at DESC, d.id DESC LIMIT ${param(opts.limit + 1)}`;
  const { rows } = await db.query(`${withNames(page)} ORDER BY x.created_at DESC, x.id DESC`, values);
  const shown = rows.slice(0, opts.limit);
  const deals = shown.map(dealFromRow);
  const last = deals.at(-1);
  return {
    deals,
    names: namesOf(shown),
    next: rows.length > opts.limit && last ? { createdAt: last.createdAt, id: last.id } : null,
  };
}
