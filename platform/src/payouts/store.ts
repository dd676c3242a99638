import type { PoolClient, Queryable } from '../db.ts';

/**
 * The payout signer's rows (migration 1764000005000_payouts.sql): payout legs, gas top-ups, the signed
 * transactions that pay them (attempts) and the nonce of each sending address. Small queries only; the
 * order that makes money go out once is in workers/src/payouts/send.ts.
 */

export type PayoutRecordTable = 'payout_legs' | 'gas_topups';
export interface PayoutRecordRef {
  table: PayoutRecordTable;
  id: bigint;
}

export type PayoutLegKind =
  | 'seller'
  | 'fee'
  | 'buyer_excess'
  | 'buyer_refund'
  | 'buyer_share'
  | 'stray_refund'
  | 'stray_accept';
export type PayoutRecordStatus = 'pending' | 'signed' | 'broadcast' | 'confirmed' | 'failed';
export type PayoutLegStatus = 'awaiting_approval' | PayoutRecordStatus;
export type PayoutAttemptStatus = 'signed' | 'broadcast' | 'mined' | 'replaced';

export interface PayoutLeg {
  id: bigint;
  dealId: string;
  cause: string;
  kind: PayoutLegKind;
  chainId: number;
  /** 'native' or the token's contract address, as the deal stores it. */
  token: string;
  /** NULL only for the fee leg: the fee address is configuration. */
  recipient: string | null;
  amount: bigint;
  status: PayoutLegStatus;
  failure: string | null;
  txHash: string | null;
  approvedBy: string | null;
  approvedAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
}

export interface GasTopup {
  id: bigint;
  dealId: string;
  cause: string;
  chainId: number;
  /** The deposit address that receives the gas. */
  address: string;
  amount: bigint;
  status: PayoutRecordStatus;
  failure: string | null;
  txHash: string | null;
  /** The signed transaction the node refused for lack of funds, for a top-up made for it; null for the cause's first. */
  forTxHash: string | null;
  createdAt: Date;
  updatedAt: Date;
}

export interface PayoutAttempt {
  id: bigint;
  record: PayoutRecordRef;
  chainId: number;
  from: string;
  nonce: bigint;
  txHash: `0x${string}`;
  rawTx: `0x${string}`;
  gasLimit: bigint;
  maxFeePerGas: bigint;
  maxPriorityFeePerGas: bigint;
  status: PayoutAttemptStatus;
  /** The chain's head when a node first accepted it; null until then. */
  broadcastBlock: bigint | null;
  createdAt: Date;
}

/** Where a record stands, as read (and locked) before signing. */
export interface PayoutRecordState {
  status: PayoutLegStatus;
  failure: string | null;
  txHash: string | null;
}

// biome-ignore lint/suspicious/noExplicitAny: a pg row is untyped until mapped here
type Row = Record<string, any>;

/** Table names are never taken from input: only these two reach the SQL. */
const TABLE_SQL: Record<PayoutRecordTable, { table: string; attemptColumn: string }> = {
  payout_legs: { table: 'payout_legs', attemptColumn: 'leg_id' },
  gas_topups: { table: 'gas_topups', attemptColumn: 'topup_id' },
};
const sqlOf = (table: PayoutRecordTable) => {
  const sql = TABLE_SQL[table];
  if (!sql) throw new Error(`not a payout record table: ${String(table)}`);
  return sql;
};

const legFromRow = (r: Row): PayoutLeg => ({
  id: BigInt(r.id),
  dealId: r.deal_id,
  cause: r.cause,
  kind: r.kind,
  chainId: r.chain_id,
  token: r.token,
  recipient: r.recipient,
  amount: BigInt(r.amount),
  status: r.status,
  failure: r.failure,
  txHash: r.tx_hash,
  approvedBy: r.approved_by,
  approvedAt: r.approved_at,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

const topupFromRow = (r: Row): GasTopup => ({
  id: BigInt(r.id),
  dealId: r.deal_id,
  cause: r.cause,
  chainId: r.chain_id,
  address: r.address,
  amount: BigInt(r.amount),
  status: r.status,
  failure: r.failure,
  txHash: r.tx_hash,
  forTxHash: r.for_tx_hash,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

const attemptFromRow = (r: Row): PayoutAttempt => ({
  id: BigInt(r.id),
  record:
    r.leg_id !== null
      ? { table: 'payout_legs', id: BigInt(r.leg_id) }
      : { table: 'gas_topups', id: BigInt(r.topup_id) },
  chainId: r.chain_id,
  from: r.from_address,
  nonce: BigInt(r.nonce),
  txHash: r.tx_hash,
  rawTx: r.raw_tx,
  gasLimit: BigInt(r.gas_limit),
  maxFeePerGas: BigInt(r.max_fee_per_gas),
  maxPriorityFeePerGas: BigInt(r.max_priority_fee_per_gas),
  status: r.status,
  broadcastBlock: r.broadcast_block === null ? null : BigInt(r.broadcast_block),
  createdAt: r.created_at,
});

/** The legs one decision (deal, cause) created, in a stable order. */
export async function payoutLegsOf(db: Queryable, dealId: string, cause: string): Promise<PayoutLeg[]> {
  const { rows } = await db.query({
    name: 'payout-legs-of',
    text: 'SELECT * FROM payout_legs WHERE deal_id = $1 AND cause = $2 ORDER BY id',
    values: [dealId, cause],
  });
  return rows.map(legFromRow);
}

/** The same, locked until the caller's transaction ends (one executor per (deal, cause) at a time). */
export async function payoutLegsOfForUpdate(
  client: PoolClient,
  dealId: string,
  cause: string,
): Promise<PayoutLeg[]> {
  const { rows } = await client.query({
    name: 'payout-legs-of-for-update',
    text: 'SELECT * FROM payout_legs WHERE deal_id = $1 AND cause = $2 ORDER BY id FOR UPDATE',
    values: [dealId, cause],
  });
  return rows.map(legFromRow);
}

/** The cause's first top-up, sized before its legs were sent (not one made for a refused transaction). */
export async function gasTopupOf(db: Queryable, dealId: string, cause: string): Promise<GasTopup | null> {
  const { rows } = await db.query({
    name: 'gas-topup-of',
    text: 'SELECT * FROM gas_topups WHERE deal_id = $1 AND cause = $2 AND for_tx_hash IS NULL',
    values: [dealId, cause],
  });
  return rows[0] ? topupFromRow(rows[0]) : null;
}

/** The cause's top-ups made for refused transactions that are not final yet (each is seen to the end). */
export async function openTxGasTopupsOf(db: Queryable, dealId: string, cause: string): Promise<GasTopup[]> {
  const { rows } = await db.query({
    name: 'gas-topups-open-for-tx',
    text: `SELECT * FROM gas_topups WHERE deal_id = $1 AND cause = $2 AND for_tx_hash IS NOT NULL
       AND status NOT IN ('confirmed', 'failed') ORDER BY id`,
    values: [dealId, cause],
  });
  return rows.map(topupFromRow);
}

export interface NewGasTopup {
  dealId: string;
  cause: string;
  chainId: number;
  address: string;
  amount: bigint;
  /** The signed transaction the node refused for lack of funds; absent for the cause's first top-up. */
  forTxHash?: string;
}

/**
 * The top-up of (deal, cause), or of one refused transaction (`forTxHash`), created if it does not exist.
 * A second call returns the first row as it is, whatever amount it asks for: the top-up that may already
 * be on its way is the one that counts.
 */
export async function insertGasTopup(db: Queryable, topup: NewGasTopup): Promise<GasTopup> {
  const values = [topup.dealId, topup.cause, topup.chainId, topup.address, topup.amount.toString()];
  const found = async (): Promise<GasTopup | null> => {
    if (topup.forTxHash === undefined) return gasTopupOf(db, topup.dealId, topup.cause);
    const { rows } = await db.query({
      name: 'gas-topup-for-tx',
      text: 'SELECT * FROM gas_topups WHERE for_tx_hash = lower($1)',
      values: [topup.forTxHash],
    });
    return rows[0] ? topupFromRow(rows[0]) : null;
  };
  const { rows } =
    topup.forTxHash === undefined
      ? await db.query({
          name: 'gas-topup-insert',
          text: `INSERT INTO gas_topups (deal_id, cause, chain_id, address, amount) VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (deal_id, cause) WHERE for_tx_hash IS NULL DO NOTHING
             RETURNING *`,
          values,
        })
      : await db.query({
          name: 'gas-topup-insert-for-tx',
          text: `INSERT INTO gas_topups (deal_id, cause, chain_id, address, amount, for_tx_hash)
             VALUES ($1, $2, $3, $4, $5, lower($6))
             ON CONFLICT (for_tx_hash) WHERE for_tx_hash IS NOT NULL DO NOTHING
             RETURNING *`,
          values: [...values, topup.forTxHash],
        });
  if (rows[0]) return topupFromRow(rows[0]);
  // A separate statement: the INSERT's snapshot hides a row a concurrent insert committed while ON
  // CONFLICT waited for it.
  const existing = await found();
  if (!existing)
    throw new Error(`gas top-up of ${topup.dealId}/${topup.cause} was neither inserted nor found`);
  return existing;
}

/** A record's status, locked until the caller's transaction ends; null when there is no such record. */
export async function lockPayoutRecord(
  client: PoolClient,
  record: PayoutRecordRef,
): Promise<PayoutRecordState | null> {
  const { table } = sqlOf(record.table);
  const { rows } = await client.query({
    name: `payout-record-lock-${table}`,
    text: `SELECT status, failure, tx_hash FROM ${table} WHERE id = $1 FOR UPDATE`,
    values: [record.id.toString()],
  });
  return rows[0] ? { status: rows[0].status, failure: rows[0].failure, txHash: rows[0].tx_hash } : null;
}

/** A record's status without a lock. */
export async function payoutRecordState(
  db: Queryable,
  record: PayoutRecordRef,
): Promise<PayoutRecordState | null> {
  const { table } = sqlOf(record.table);
  const { rows } = await db.query({
    name: `payout-record-state-${table}`,
    text: `SELECT status, failure, tx_hash FROM ${table} WHERE id = $1`,
    values: [record.id.toString()],
  });
  return rows[0] ? { status: rows[0].status, failure: rows[0].failure, txHash: rows[0].tx_hash } : null;
}

/** Which statuses a record may come from, per status it moves to (confirmed and failed have their own). */
const STATUS_FROM: Record<'pending' | 'signed' | 'broadcast', PayoutLegStatus[]> = {
  // an operator's approval
  pending: ['awaiting_approval'],
  signed: ['pending'],
  broadcast: ['signed'],
};

/**
 * Moves a record forward; false when it was not in a status that may move there (another process got
 * further first, or it is final). Never moves a record backwards.
 */
export async function setPayoutRecordStatus(
  db: Queryable,
  record: PayoutRecordRef,
  status: 'pending' | 'signed' | 'broadcast',
): Promise<boolean> {
  const { table } = sqlOf(record.table);
  const { rowCount } = await db.query({
    name: `payout-record-status-${table}`,
    text: `UPDATE ${table} SET status = $2, updated_at = now() WHERE id = $1 AND status = ANY($3::text[])`,
    values: [record.id.toString(), status, STATUS_FROM[status]],
  });
  return rowCount === 1;
}

export interface NewPayoutAttempt {
  record: PayoutRecordRef;
  chainId: number;
  from: string;
  nonce: bigint;
  txHash: `0x${string}`;
  rawTx: `0x${string}`;
  gasLimit: bigint;
  maxFeePerGas: bigint;
  maxPriorityFeePerGas: bigint;
}

/** Stores a signed transaction before it is broadcast (status 'signed'). */
export async function insertPayoutAttempt(db: Queryable, a: NewPayoutAttempt): Promise<PayoutAttempt> {
  const { attemptColumn } = sqlOf(a.record.table);
  const { rows } = await db.query({
    name: `payout-attempt-insert-${attemptColumn}`,
    text: `INSERT INTO payout_attempts (${attemptColumn}, chain_id, from_address, nonce, tx_hash, raw_tx, gas_limit,
         max_fee_per_gas, max_priority_fee_per_gas)
       VALUES ($1, $2, $3, $4, lower($5), $6, $7, $8, $9)
       RETURNING *`,
    values: [
      a.record.id.toString(),
      a.chainId,
      a.from,
      a.nonce.toString(),
      a.txHash,
      a.rawTx,
      a.gasLimit.toString(),
      a.maxFeePerGas.toString(),
      a.maxPriorityFeePerGas.toString(),
    ],
  });
  return attemptFromRow(rows[0] as Row);
}

/**
 * The record's transaction that may still be mined (the newest not replaced), or null if none was signed
 * (or an operator's retry retired every one: see retry.ts).
 */
export async function liveAttempt(
  db: Queryable,
  recordTable: PayoutRecordTable,
  id: bigint,
): Promise<PayoutAttempt | null> {
  const { attemptColumn } = sqlOf(recordTable);
  const { rows } = await db.query({
    name: `payout-attempt-live-${attemptColumn}`,
    text: `SELECT * FROM payout_attempts WHERE ${attemptColumn} = $1 AND status <> 'replaced'
         AND retired_at IS NULL
       ORDER BY id DESC LIMIT 1`,
    values: [id.toString()],
  });
  return rows[0] ? attemptFromRow(rows[0]) : null;
}

/** Every attempt of a record since it was last retried, oldest first (replacements included). */
export async function attemptsOf(
  db: Queryable,
  recordTable: PayoutRecordTable,
  id: bigint,
): Promise<PayoutAttempt[]> {
  const { attemptColumn } = sqlOf(recordTable);
  const { rows } = await db.query({
    name: `payout-attempts-of-${attemptColumn}`,
    text: `SELECT * FROM payout_attempts WHERE ${attemptColumn} = $1 AND retired_at IS NULL ORDER BY id`,
    values: [id.toString()],
  });
  return rows.map(attemptFromRow);
}

/**
 * An attempt the node accepted: signed → broadcast (a mined or replaced one stays as it is), with the
 * chain's head the first time, which the stuck-transaction rule counts blocks from.
 */
export async function markAttemptBroadcast(db: Queryable, attemptId: bigint, head?: bigint): Promise<void> {
  await db.query({
    name: 'payout-attempt-broadcast',
    text: `UPDATE payout_attempts
       SET status = CASE WHEN status = 'signed' THEN 'broadcast' ELSE status END,
         broadcast_block = COALESCE(broadcast_block, $2)
       WHERE id = $1 AND status IN ('signed', 'broadcast')`,
    values: [attemptId.toString(), head?.toString() ?? null],
  });
}

/**
 * Stores a replacement of a record's live attempt (the same nonce, higher fees), in the caller's
 * transaction: the old one becomes 'replaced' first, since the live-nonce index allows one live attempt.
 */
export async function insertReplacementAttempt(
  client: PoolClient,
  replacedId: bigint,
  a: NewPayoutAttempt,
): Promise<PayoutAttempt> {
  const { rowCount } = await client.query({
    name: 'payout-attempt-replaced',
    text: `UPDATE payout_attempts SET status = 'replaced' WHERE id = $1 AND status IN ('signed', 'broadcast')`,
    values: [replacedId.toString()],
  });
  if (rowCount !== 1) throw new Error(`payout attempt ${replacedId} is not live: it cannot be replaced`);
  return insertPayoutAttempt(client, a);
}

/**
 * The attempt the chain mined, of all the record's attempts under its nonce (a replaced one may be the
 * one that got in): it becomes 'mined' and every other one 'replaced', in the caller's transaction.
 */
export async function markAttemptMined(
  client: PoolClient,
  record: PayoutRecordRef,
  attemptId: bigint,
): Promise<void> {
  const { attemptColumn } = sqlOf(record.table);
  // Two statements, others first: the live-nonce index is checked row by row.
  await client.query({
    name: `payout-attempt-others-replaced-${attemptColumn}`,
    // Retired attempts keep their status: a reverted one's gas was spent all the same.
    text: `UPDATE payout_attempts SET status = 'replaced'
       WHERE ${attemptColumn} = $1 AND id <> $2 AND status <> 'replaced' AND retired_at IS NULL`,
    values: [record.id.toString(), attemptId.toString()],
  });
  await client.query({
    name: 'payout-attempt-mined',
    text: `UPDATE payout_attempts SET status = 'mined' WHERE id = $1 AND status <> 'mined'`,
    values: [attemptId.toString()],
  });
}

/**
 * The record is paid: it becomes 'confirmed' with the transaction that paid it, and that attempt 'mined',
 * in one statement. False when the record was already final.
 */
export async function markConfirmed(
  db: Queryable,
  record: PayoutRecordRef,
  attemptId: bigint,
  txHash: string,
): Promise<boolean> {
  const { table } = sqlOf(record.table);
  const { rows } = await db.query({
    name: `payout-record-confirmed-${table}`,
    text: `WITH rec AS (
         UPDATE ${table} SET status = 'confirmed', tx_hash = lower($3), failure = NULL, updated_at = now()
         WHERE id = $1 AND status NOT IN ('confirmed', 'failed')
         RETURNING id
       ), att AS (
         UPDATE payout_attempts SET status = 'mined' WHERE id = $2 AND status <> 'mined'
       )
       SELECT count(*)::int AS n FROM rec`,
    values: [record.id.toString(), attemptId.toString(), txHash],
  });
  return rows[0].n === 1;
}

/**
 * The record needs a person: 'failed' with the reason, and the hash of a transaction that was mined but
 * reverted (its attempt becomes 'mined': the nonce is spent). False when the record was already final.
 */
export async function markFailed(
  db: Queryable,
  record: PayoutRecordRef,
  reason: string,
  mined?: { attemptId: bigint; txHash: string },
): Promise<boolean> {
  const { table } = sqlOf(record.table);
  const { rows } = await db.query({
    name: `payout-record-failed-${table}`,
    text: `WITH rec AS (
         UPDATE ${table} SET status = 'failed', failure = $2, tx_hash = lower($4), updated_at = now()
         WHERE id = $1 AND status NOT IN ('confirmed', 'failed')
         RETURNING id
       ), att AS (
         UPDATE payout_attempts SET status = 'mined' WHERE id = $3 AND status <> 'mined'
       )
       SELECT count(*)::int AS n FROM rec`,
    values: [record.id.toString(), reason, mined?.attemptId.toString() ?? null, mined?.txHash ?? null],
  });
  return rows[0].n === 1;
}

/**
 * The next nonce of a sending address, to use in the caller's transaction (a rollback gives it back).
 * The row lock orders every sender of one address. The first use of an address starts from the chain's
 * pending transaction count (or past the attempts already stored, if higher); afterwards the database is
 * the source of truth, since signed transactions it knows about may not have reached any node yet.
 */
export async function allocateNonce(
  client: PoolClient,
  chainId: number,
  address: string,
  chainPendingCount: () => Promise<bigint>,
): Promise<bigint> {
  const key = address.toLowerCase();
  for (;;) {
    const { rows } = await client.query({
      name: 'signer-nonce-next',
      text: `UPDATE signer_nonces SET next_nonce = next_nonce + 1 WHERE chain_id = $1 AND address = $2
         RETURNING next_nonce - 1 AS nonce`,
      values: [chainId, key],
    });
    if (rows[0]) return BigInt(rows[0].nonce);
    const onChain = await chainPendingCount();
    const { rows: stored } = await client.query({
      name: 'signer-nonce-stored-max',
      text: `SELECT max(nonce) + 1 AS next FROM payout_attempts WHERE chain_id = $1 AND lower(from_address) = $2`,
      values: [chainId, key],
    });
    const fromAttempts =
      stored[0]?.next === null || stored[0]?.next === undefined ? 0n : BigInt(stored[0].next);
    const first = onChain > fromAttempts ? onChain : fromAttempts;
    // A concurrent first use inserts too: ON CONFLICT waits for it, and the loop then takes the next one.
    const { rowCount } = await client.query({
      name: 'signer-nonce-init',
      text: `INSERT INTO signer_nonces (chain_id, address, next_nonce) VALUES ($1, $2, $3)
         ON CONFLICT (chain_id, address) DO NOTHING`,
      values: [chainId, key, (first + 1n).toString()],
    });
    if (rowCount === 1) return first;
  }
}

/**
 * Whether a transaction is one of the signer's gas top-ups (native coin from the gas tank to a deposit
 * address). The scanner reports it like any transfer to a deposit address; it is not a payment.
 */
export async function isGasTopupTransaction(
  db: Queryable,
  chainId: number,
  txHash: string,
): Promise<boolean> {
  const { rows } = await db.query({
    name: 'payout-attempt-is-topup',
    // Hashes are stored as keccak256 gives them, in lower case.
    text: `SELECT 1 FROM payout_attempts WHERE tx_hash = $2 AND chain_id = $1 AND topup_id IS NOT NULL`,
    values: [chainId, txHash.toLowerCase()],
  });
  return rows.length > 0;
}
