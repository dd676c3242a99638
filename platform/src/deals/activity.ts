import type { ActivityEntry } from '@amanat/core';
import type { Queryable } from '../db.ts';

/** Column list of an activity entry row; `activityRowParams` gives the values in this order. */
export const ACTIVITY_COLUMNS =
  'deal_id, seq, at, actor, action, state_before, state_after, facts, prev_hash, hash';

export const activityRowParams = (e: ActivityEntry): unknown[] => [
  e.dealId,
  e.seq,
  e.at,
  JSON.stringify(e.actor),
  e.action,
  e.stateBefore,
  e.stateAfter,
  JSON.stringify(e.facts),
  e.prevHash,
  e.hash,
];

export async function insertActivity(tx: Queryable, e: ActivityEntry): Promise<void> {
  await tx.query(
    `INSERT INTO activity_log (${ACTIVITY_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
    activityRowParams(e),
  );
}

export async function readActivity(db: Queryable, dealId: string): Promise<ActivityEntry[]> {
  const { rows } = await db.query(
    `SELECT deal_id, seq, at, actor, action, state_before, state_after, facts, prev_hash, hash
     FROM activity_log WHERE deal_id = $1 ORDER BY seq`,
    [dealId],
  );
  return rows.map((r) => ({
    dealId: r.deal_id,
    seq: r.seq,
    at: (r.at as Date).toISOString(),
    actor: r.actor,
    action: r.action,
    stateBefore: r.state_before,
    stateAfter: r.state_after,
    facts: r.facts,
    prevHash: r.prev_hash,
    hash: r.hash,
  }));
}

/** Heads of every deal's chain, for the signed checkpoint. */
export async function readLogHeads(
  db: Queryable,
): Promise<Array<{ dealId: string; seq: number; hash: string }>> {
  const { rows } = await db.query('SELECT id, log_seq, log_head FROM deals WHERE log_seq > 0 ORDER BY id');
  return rows.map((r) => ({ dealId: r.id, seq: r.log_seq, hash: r.log_head }));
}
