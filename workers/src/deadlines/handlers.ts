import {
  type Actor,
  type DeadlineJob,
  type DeadlineKind,
  type DealAction,
  DomainError,
  deadlineJobSchema,
  JOBS,
} from '@amanat/core';
import {
  DEADLINE_FACT,
  type DealRecord,
  type DealStore,
  deliveryLapseRecorded,
  type Logger,
  liveDeadline,
} from '@amanat/platform';
import { DelayedError, type Job, UnrecoverableError } from 'bullmq';
import type { JobHandler } from '../handlers.ts';

export const DEADLINES_ACTOR: Actor = { kind: 'system', component: 'deadlines' };

/** What each deadline does to the deal when it lapses. */
const ACTION: Record<DeadlineKind, DealAction> = {
  'payment-window': { type: 'expire' },
  'delivery-deadline': { type: 'delivery_lapsed' },
  'inspection-end': { type: 'inspection_lapsed' },
};

/** Why a deadline job had nothing to do; each is a normal outcome, not a failure. */
export type StaleReason =
  /** The deal left the states this deadline belongs to (paid, delivered, cancelled, …). */
  | 'state_moved_on'
  /** The deadline was set again since this job was made; the job for the new one decides. */
  | 'deadline_changed'
  /** An operator must look first; clearing the review arms the deadline again. */
  | 'needs_review'
  /** The lapse of this delivery deadline is already in the log. */
  | 'already_recorded';

export type DeadlineOutcome =
  | { outcome: 'applied'; dealId: string; kind: DeadlineKind; state: string; payoutLegs: number }
  | { outcome: 'stale'; dealId: string; kind: DeadlineKind; reason: StaleReason };

export interface DeadlineHandlerDeps {
  store: DealStore;
  logger: Logger;
  /**
   * How long an expired payment window waits before looking again when money made in time is still
   * confirming. The confirmation (or a reorg) usually settles it within a few blocks.
   */
  confirmingRetryMs?: number;
}

const DEFAULT_CONFIRMING_RETRY_MS = 30_000;

function staleReason(deal: DealRecord, job: DeadlineJob): StaleReason | null {
  const due = liveDeadline(deal, job.kind);
  if (due === null) return 'state_moved_on';
  if (due.getTime() !== Date.parse(job.dueAt)) return 'deadline_changed';
  if (deal.needsReview) return 'needs_review';
  return null;
}

/**
 * Puts the job back to run at `at` without spending an attempt. BullMQ requires the lock token of the
 * worker running it, and a `DelayedError` so the worker does not also complete or fail it.
 */
async function postpone(job: Job, at: number): Promise<never> {
  await job.moveToDelayed(at, job.token);
  throw new DelayedError();
}

/**
 * One handler per deadline kind, for the `deadlines` queue. Each is idempotent and versioned: it acts
 * only while the deal still runs against exactly the deadline the job names, decided inside the store's
 * version-checked write, so a job that ran twice, a job for a deadline that changed since, and a job
 * racing a party's own action each end as a no-op with the reason in the job's result. Rejections that
 * mean something is wrong (an imported deal without a payout address, say) throw and stay visible as
 * failed jobs; a version conflict that outlasted the store's own retries throws so BullMQ retries it.
 */
export function createDeadlineHandlers(deps: DeadlineHandlerDeps): Record<string, JobHandler> {
  const retryMs = deps.confirmingRetryMs ?? DEFAULT_CONFIRMING_RETRY_MS;

  const handle = async (job: Job): Promise<DeadlineOutcome> => {
    const parsed = deadlineJobSchema.safeParse(job.data);
    if (!parsed.success || parsed.data.kind !== job.name) {
      throw new UnrecoverableError(`malformed ${job.name} job: ${parsed.error?.message ?? 'kind mismatch'}`);
    }
    const data = parsed.data;
    const dueAt = Date.parse(data.dueAt);
    // Never early, whoever made the job and however the clocks differ: the state machine would refuse
    // anyway, and waiting is cheaper than failing.
    if (Date.now() < dueAt) return postpone(job, dueAt);

    const base = { dealId: data.dealId, kind: data.kind };
    // Set by the decision inside the store's write, which returns null for "nothing to do".
    const seen: { stale: StaleReason | null } = { stale: null };
    try {
      const result = await deps.store.change(
        data.dealId,
        { facts: { [DEADLINE_FACT]: data.dueAt } },
        async (deal) => {
          seen.stale = staleReason(deal, data);
          if (
            seen.stale === null &&
            data.kind === 'delivery-deadline' &&
            (await deliveryLapseRecorded(deps.store.pool, deal.id, new Date(dueAt)))
          ) {
            seen.stale = 'already_recorded';
          }
          return seen.stale === null
            ? { action: ACTION[data.kind], actor: DEADLINES_ACTOR, before: deal }
            : null;
        },
      );
      if (result === null) {
        const reason = seen.stale ?? 'state_moved_on';
        deps.logger.debug({ ...base, reason, jobId: job.id }, 'deadline job had nothing to do');
        return { outcome: 'stale', ...base, reason };
      }
      deps.logger.info(
        { ...base, state: result.deal.state, payoutLegs: result.payoutLegs.length, jobId: job.id },
        'deadline applied',
      );
      return { outcome: 'applied', ...base, state: result.deal.state, payoutLegs: result.payoutLegs.length };
    } catch (err) {
      if (err instanceof DomainError && err.code === 'payments_confirming') {
        // Money made in time is still on its way: the deal must not expire under it. Look again later;
        // by then it has funded the deal (the job is then stale) or confirmed short, or been reorged away.
        deps.logger.info({ ...base, retryMs }, 'payment window closed with money still confirming; waiting');
        return postpone(job, Date.now() + retryMs);
      }
      if (err instanceof DomainError && err.code === 'deal_not_found') {
        throw new UnrecoverableError(`deal ${data.dealId} does not exist`);
      }
      throw err;
    }
  };

  return Object.fromEntries(JOBS.deadlines.map((name) => [name, handle]));
}
