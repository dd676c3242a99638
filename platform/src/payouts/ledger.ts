import type { DealState } from '@amanat/core';
import type { Queryable } from '../db.ts';

/**
 * What PostgreSQL says each deposit address should hold, per (chain, token), for the reconciliation job
 * that compares it with the chain (workers/src/payouts/reconcile.ts).
 *
 * A deposit address receives every confirmed payment recorded for its deal (whatever its classification:
 * late, foreign and denylisted money is on the address all the same) and the confirmed gas top-ups; it
 * loses the confirmed payout legs of its deal (every leg is paid from the deal's deposit address) and the
 * gas its own mined transactions burned. What is on its way (pending payments, signed or broadcast legs
 * and top-ups, gas of transactions not yet mined or not yet measured) may or may not be on the chain yet:
 * it is reported apart, as a range, and is never drift.
 */

/** Deposit addresses whose deal may still hold or owe money, in derivation-index order. */
export interface ReconcileTarget {
  dealId: string;
  address: string;
  derivationIndex: bigint;
}

/** Deals in these states are settled: their money went out (or never came). */
const SETTLED_STATES: readonly DealState[] = ['released', 'refunded', 'split', 'cancelled', 'expired'];

/**
 * One page of deposit addresses to reconcile, after `afterIndex` (-1n for the first page). A deal is
 * reconciled while it may still hold or owe money:
 * - it is not settled (its state is not final): money is arriving, held, or being paid out;
 * - it is flagged for review: an operator decides about money that may still be there;
 * - a payout leg or gas top-up of it is not confirmed (pending, awaiting approval, in flight or failed):
 *   money still has to leave;
 * - it has an unresolved balance drift: it is watched until chain and ledger agree again;
 * - it changed since `recentSince`: a recently settled deal's address is still checked for a while, for
 *   late money (the scanner records token transfers to old addresses, but native coin from contract-internal
 *   transfers only shows up here) and for the gas left over from its payouts.
 * Long-settled deals are left out: their addresses hold at most gas dust, and checking every address ever
 * allocated on every run would cost RPC reads without bound.
 *
 * The walk follows the unique derivation index (like the watch-set rebuild), joins deals by primary key
 * and tests the rest with EXISTS on indexed (deal_id, …) keys; no index on deals.state is needed, which
 * keeps the deal row's updates HOT.
 */
export async function reconcileTargetsPage(
  db: Queryable,
  opts: { afterIndex: bigint; limit: number; recentSince: Date },
): Promise<ReconcileTarget[]> {
  const { rows } = await db.query({
    name: 'reconcile-targets-page',
    text: `SELECT da.deal_id, da.address, da.derivation_index::text AS derivation_index
      FROM deposit_addresses da JOIN deals d ON d.id = da.deal_id
      WHERE da.derivation_index > $1
        AND (d.state <> ALL($3::text[])
          OR d.needs_review
          OR d.updated_at >= $4
          OR EXISTS (SELECT 1 FROM payout_legs l WHERE l.deal_id = d.id AND l.status <> 'confirmed')
          OR EXISTS (SELECT 1 FROM gas_topups g WHERE g.deal_id = d.id AND g.status <> 'confirmed')
          OR EXISTS (SELECT 1 FROM balance_drifts b WHERE b.deal_id = d.id))
      ORDER BY da.derivation_index
      LIMIT $2`,
    values: [opts.afterIndex.toString(), opts.limit, SETTLED_STATES, opts.recentSince],
  });
  return rows.map((r) => ({
    dealId: r.deal_id,
    address: r.address,
    derivationIndex: BigInt(r.derivation_index),
  }));
}

/** One asset of one deposit address, as the ledger sees it. */
export interface AssetLedger {
  chainId: number;
  /** 'native' or the token's lower-cased contract address. */
  token: string;
  /** Settled money: confirmed in, minus confirmed out (and, for the native coin, measured gas). */
  expected: bigint;
  /** On its way in, may or may not be on the chain yet: pending payments, top-ups in flight. */
  inFlightIn: bigint;
  /**
   * On its way out, may or may not have left yet: legs in flight, and for the native coin the most gas
   * (limit × max fee) that transactions not yet mined, or mined but not yet measured, can burn.
   */
  inFlightOut: bigint;
}

export const ledgerKey = (chainId: number, token: string): string => `${chainId}/${token.toLowerCase()}`;

/**
 * Records whose transaction may still be mined although the record failed: the node refused it for lack
 * of funds, and it stays live, so funding the address later can still let it through.
 */
const LIVE_ATTEMPT = `EXISTS (SELECT 1 FROM payout_attempts a WHERE a.%COL% = r.id AND a.status IN ('signed', 'broadcast'))`;
const inFlight = (col: string) =>
  `(r.status IN ('signed', 'broadcast') OR (r.status = 'failed' AND ${LIVE_ATTEMPT.replace('%COL%', col)}))`;

/**
 * The ledger of each deal's deposit address, per (chain, token), in one query. Deals with no rows have
 * an empty list (a deposit address nothing was ever recorded for should hold nothing).
 */
export async function depositLedgers(
  db: Queryable,
  dealIds: readonly string[],
): Promise<Map<string, AssetLedger[]>> {
  const out = new Map<string, AssetLedger[]>(dealIds.map((id) => [id, []]));
  if (dealIds.length === 0) return out;
  const { rows } = await db.query({
    name: 'deposit-ledgers',
    text: `SELECT deal_id, chain_id, token, bucket, sum(amount)::text AS amount FROM (
        SELECT p.deal_id, p.chain_id, lower(p.token) AS token,
          CASE p.status WHEN 'confirmed' THEN 'in' ELSE 'in_flight_in' END AS bucket, p.amount
        FROM payments p
        WHERE p.deal_id = ANY($1::uuid[]) AND p.status IN ('confirmed', 'pending')
      UNION ALL
        SELECT r.deal_id, r.chain_id, lower(r.token),
          CASE r.status WHEN 'confirmed' THEN 'out' ELSE 'in_flight_out' END, r.amount
        FROM payout_legs r
        WHERE r.deal_id = ANY($1::uuid[]) AND (r.status = 'confirmed' OR ${inFlight('leg_id')})
      UNION ALL
        SELECT r.deal_id, r.chain_id, 'native',
          CASE r.status WHEN 'confirmed' THEN 'in' ELSE 'in_flight_in' END, r.amount
        FROM gas_topups r
        WHERE r.deal_id = ANY($1::uuid[]) AND (r.status = 'confirmed' OR ${inFlight('topup_id')})
      UNION ALL
        -- Gas the deposit address burned sending its legs: measured once mined, at most limit × max fee before.
        SELECT l.deal_id, a.chain_id, 'native',
          CASE WHEN a.status = 'mined' AND a.gas_used IS NOT NULL THEN 'out' ELSE 'in_flight_out' END,
          CASE WHEN a.status = 'mined' AND a.gas_used IS NOT NULL THEN a.gas_used * a.effective_gas_price
            ELSE a.gas_limit * a.max_fee_per_gas END
        FROM payout_legs l JOIN payout_attempts a ON a.leg_id = l.id
        WHERE l.deal_id = ANY($1::uuid[]) AND a.status IN ('signed', 'broadcast', 'mined')
      ) x
      GROUP BY deal_id, chain_id, token, bucket`,
    values: [dealIds],
  });
  const byAsset = new Map<string, AssetLedger>();
  for (const r of rows) {
    const key = `${r.deal_id}/${ledgerKey(r.chain_id, r.token)}`;
    let entry = byAsset.get(key);
    if (!entry) {
      entry = { chainId: r.chain_id, token: r.token, expected: 0n, inFlightIn: 0n, inFlightOut: 0n };
      byAsset.set(key, entry);
      out.get(r.deal_id)?.push(entry);
    }
    const amount = BigInt(r.amount);
    if (r.bucket === 'in') entry.expected += amount;
    else if (r.bucket === 'out') entry.expected -= amount;
    else if (r.bucket === 'in_flight_in') entry.inFlightIn += amount;
    else entry.inFlightOut += amount;
  }
  return out;
}

/** A mined payout transaction whose gas cost is not recorded yet. */
export interface UnmeasuredAttempt {
  id: bigint;
  chainId: number;
  txHash: `0x${string}`;
}

/** The mined transactions of these deals' legs (sent from their deposit addresses) without a gas cost. */
export async function unmeasuredAttempts(
  db: Queryable,
  dealIds: readonly string[],
): Promise<UnmeasuredAttempt[]> {
  if (dealIds.length === 0) return [];
  const { rows } = await db.query({
    name: 'payout-attempts-unmeasured',
    text: `SELECT a.id, a.chain_id, a.tx_hash FROM payout_legs l JOIN payout_attempts a ON a.leg_id = l.id
      WHERE l.deal_id = ANY($1::uuid[]) AND a.status = 'mined' AND a.gas_used IS NULL
      ORDER BY a.id`,
    values: [dealIds],
  });
  return rows.map((r) => ({ id: BigInt(r.id), chainId: r.chain_id, txHash: r.tx_hash }));
}

/**
 * Records what a mined transaction cost its sender, from its receipt (gasUsed, effectiveGasPrice). The
 * first measurement stays: a receipt does not change unless the block is reorged away.
 */
export async function recordAttemptGas(
  db: Queryable,
  attemptId: bigint,
  gas: { gasUsed: bigint; effectiveGasPrice: bigint },
): Promise<void> {
  await db.query({
    name: 'payout-attempt-gas',
    text: `UPDATE payout_attempts SET gas_used = $2, effective_gas_price = $3 WHERE id = $1 AND gas_used IS NULL`,
    values: [attemptId.toString(), gas.gasUsed.toString(), gas.effectiveGasPrice.toString()],
  });
}

/** A difference between a deposit address's on-chain balance and its ledger, as last reported. */
export interface BalanceDrift {
  dealId: string;
  chainId: number;
  /** 'native' or the lower-cased token address. */
  token: string;
  onchain: bigint;
  ledger: bigint;
  /** Whether the deal was flagged for it; a drift seen for the first time waits for a later run. */
  flagged?: boolean;
  /** When this difference (on-chain − ledger) was first seen. */
  seenAt?: Date;
}

export const driftKey = (d: Pick<BalanceDrift, 'dealId' | 'chainId' | 'token'>): string =>
  `${d.dealId}/${ledgerKey(d.chainId, d.token)}`;

/** The drifts last reported for these deals, by driftKey. */
export async function reportedDrifts(
  db: Queryable,
  dealIds: readonly string[],
): Promise<Map<string, BalanceDrift>> {
  const out = new Map<string, BalanceDrift>();
  if (dealIds.length === 0) return out;
  const { rows } = await db.query({
    name: 'balance-drifts-of',
    text: `SELECT deal_id, chain_id, token, onchain::text, ledger::text, flagged, reported_at FROM balance_drifts
      WHERE deal_id = ANY($1::uuid[])`,
    values: [dealIds],
  });
  for (const r of rows) {
    const drift: BalanceDrift = {
      dealId: r.deal_id,
      chainId: r.chain_id,
      token: r.token,
      onchain: BigInt(r.onchain),
      ledger: BigInt(r.ledger),
      flagged: r.flagged,
      seenAt: r.reported_at,
    };
    out.set(driftKey(drift), drift);
  }
  return out;
}

/** Remembers the drift just seen (and whether the deal was flagged for it), replacing the previous one. */
export async function saveDrift(db: Queryable, d: BalanceDrift): Promise<void> {
  await db.query({
    name: 'balance-drift-save',
    text: `INSERT INTO balance_drifts (deal_id, chain_id, token, onchain, ledger, flagged)
      VALUES ($1, $2, lower($3), $4, $5, $6)
      ON CONFLICT (deal_id, chain_id, token)
      DO UPDATE SET onchain = EXCLUDED.onchain, ledger = EXCLUDED.ledger, flagged = EXCLUDED.flagged,
        -- When this difference was first seen: kept while the difference stays the same.
        reported_at = CASE WHEN balance_drifts.onchain - balance_drifts.ledger = EXCLUDED.onchain - EXCLUDED.ledger
          THEN balance_drifts.reported_at ELSE now() END`,
    values: [d.dealId, d.chainId, d.token, d.onchain.toString(), d.ledger.toString(), d.flagged ?? false],
  });
}

/** Chain and ledger agree again: forget the drift, so that a new one is reported. */
export async function clearDrift(
  db: Queryable,
  d: Pick<BalanceDrift, 'dealId' | 'chainId' | 'token'>,
): Promise<void> {
  await db.query({
    name: 'balance-drift-clear',
    text: 'DELETE FROM balance_drifts WHERE deal_id = $1 AND chain_id = $2 AND token = lower($3)',
    values: [d.dealId, d.chainId, d.token],
  });
}
