import type { DeadlineJob, DeadlineKind, DealState } from '@amanat/core';
import type { Queryable } from '../db.ts';
import type { DealRecord } from './record.ts';

type DeadlineField = keyof DealRecord['deadlines'];

/**
 * Each deadline: the deal field that holds it, and the states in which it still means something. A job is
 * armed (see `dealEffects`) whenever a deal enters those states or its deadline changes, and again when a
 * review is cleared in them.
 */
export const DEADLINES: Record<DeadlineKind, { field: DeadlineField; states: readonly DealState[] }> = {
  'payment-window': { field: 'payment', states: ['awaiting_payment', 'partially_paid'] },
  'delivery-deadline': { field: 'delivery', states: ['funded'] },
  'inspection-end': { field: 'inspection', states: ['delivered'] },
};

export const DEADLINE_KIND_LIST = Object.keys(DEADLINES) as DeadlineKind[];

/** The activity fact naming the deadline an entry acted on (an ISO instant). */
export const DEADLINE_FACT = 'deadline';

/**
 * Whether the lapse of this delivery deadline is already in the deal's log. `delivery_lapsed` changes no
 * state, so this entry is the only thing that makes recording it twice (a job run twice, or re-created by
 * the sweeper after the first was pruned) a no-op.
 */
export async function deliveryLapseRecorded(db: Queryable, dealId: string, dueAt: Date): Promise<boolean> {
  const { rows } = await db.query({
    name: 'delivery-lapse-recorded',
    text: `SELECT EXISTS (SELECT 1 FROM activity_log WHERE deal_id = $1 AND action = 'delivery_lapsed'
        AND (facts->>'${DEADLINE_FACT}')::timestamptz = $2) AS recorded`,
    values: [dealId, dueAt],
  });
  return rows[0].recorded;
}

/** The deadline of this kind if it is the one the deal is running against now, else null. */
export const liveDeadline = (
  deal: Pick<DealRecord, 'state' | 'deadlines'>,
  kind: DeadlineKind,
): Date | null => {
  const { field, states } = DEADLINES[kind];
  return states.includes(deal.state) ? deal.deadlines[field] : null;
};

/** A deadline that is live and due by some time, with what its job is named by. */
export interface DueDeadline {
  dealId: string;
  kind: DeadlineKind;
  dueAt: Date;
  /**
   * The deal version whose change armed this deadline's job (see `dealEffects`): the job id the outbox
   * used, so a re-created job collides with the original instead of doubling it.
   */
  armedVersion: number;
}

export const deadlineJobData = (d: DueDeadline): DeadlineJob => ({
  dealId: d.dealId,
  kind: d.kind,
  version: d.armedVersion,
  dueAt: d.dueAt.toISOString(),
});

const sqlList = (states: readonly string[]): string => `ARRAY[${states.map((s) => `'${s}'`).join(', ')}]`;

/**
 * One row per kind, from the constant table above (no user input reaches this text). The arming entry is
 * the latest one that entered the deadline's states (from another state, or from nothing for a deal
 * imported from the legacy store) or cleared a review in them: the state machine sets a deadline only as
 * a deal enters its states. Every change bumps a deal's version and its log sequence together, so the
 * version at that entry is its seq plus the deal's constant offset.
 */
const KIND_ROWS = DEADLINE_KIND_LIST.map((kind) => {
  const { field, states } = DEADLINES[kind];
  return `('${kind}', d.${field}_deadline, ${sqlList(states)})`;
}).join(',\n    ');

const DUE_DEADLINES_SQL = `
  SELECT d.id, k.kind, k.due_at, d.version - d.log_seq AS version_offset, d.version,
    (SELECT max(a.seq) FROM activity_log a
     WHERE a.deal_id = d.id AND a.state_after = ANY(k.states)
       AND (a.action = 'clear_review' OR a.state_before IS NULL OR a.state_before <> ALL(k.states))
    ) AS armed_seq
  FROM deals d CROSS JOIN LATERAL (VALUES
    ${KIND_ROWS}
  ) AS k(kind, due_at, states)
  WHERE d.state = ANY(${sqlList(DEADLINE_KIND_LIST.flatMap((k) => DEADLINES[k].states))})
    AND d.state = ANY(k.states) AND NOT d.needs_review
    AND k.due_at IS NOT NULL AND k.due_at <= $1
    AND d.id > $2
    -- A recorded delivery lapse leaves the deal funded with its deadline passed: nothing more to do.
    AND NOT (k.kind = 'delivery-deadline' AND EXISTS (SELECT 1 FROM activity_log a
      WHERE a.deal_id = d.id AND a.action = 'delivery_lapsed'
        AND (a.facts->>'${DEADLINE_FACT}')::timestamptz = k.due_at))
  ORDER BY d.id
  LIMIT $3`;

const NO_ID = '00000000-0000-0000-0000-000000000000';

/**
 * Live deadlines of deals not flagged for review that fall due by `until`, a page at a time in deal id
 * order (`after` is the last deal id of the previous page). Deadlines that passed long ago are included:
 * a deal whose job was lost, or that was imported without one, is exactly what this finds.
 */
export async function findDueDeadlines(
  db: Queryable,
  opts: { until: Date; after?: string | null; limit: number },
): Promise<DueDeadline[]> {
  const { rows } = await db.query({
    name: 'deadlines-due',
    text: DUE_DEADLINES_SQL,
    values: [opts.until, opts.after ?? NO_ID, opts.limit],
  });
  return rows.map((r) => ({
    dealId: r.id,
    kind: r.kind as DeadlineKind,
    dueAt: r.due_at,
    // Every deal has at least its creating or imported entry; the fallback only guards a damaged log.
    armedVersion: r.armed_seq === null ? r.version : r.armed_seq + r.version_offset,
  }));
}
