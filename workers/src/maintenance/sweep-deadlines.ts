import { deadlineJobId, jobId, QUEUES } from '@amanat/core';
import {
  DEFAULT_JOB_OPTIONS,
  type DueDeadline,
  deadlineJobData,
  findDueDeadlines,
  type Logger,
  QUEUE_JOB_OPTIONS,
  type Queryable,
} from '@amanat/platform';
import type { JobsOptions, Queue } from 'bullmq';

export interface SweepDeadlinesOptions {
  db: Queryable;
  /** The `deadlines` queue. */
  deadlines: Queue;
  logger: Logger;
  /** Deadlines due up to this far ahead are covered too, so a lost one still fires on time. */
  horizonMs: number;
  pageSize?: number;
}

export interface SweepReport {
  /** Live deadlines due within the horizon that were looked at. */
  due: number;
  /** Jobs added because none existed (Redis lost them, or the deal was imported without any). */
  recreated: number;
  /** Jobs added because the one that existed already ran while the deadline is still live. */
  rearmed: number;
  /** Left alone: a job for it failed and waits for an operator in bull-board. */
  failed: number;
}

/**
 * Re-creates missed deadline jobs from PostgreSQL. For each live deadline due within the horizon it
 * reconstructs the job id the outbox used (see `findDueDeadlines`): if that job is gone it is added
 * again under the same id, so a relay replay or a second sweeper collides with it instead of doubling
 * it. If it already ran and the deadline is still live (a funded deal that a reorg took back to
 * partially paid keeps its old payment window), a job with a sweep id of its own is added. Either way
 * the delay runs to the due time, never less, and the handlers re-check everything: a duplicate run is
 * a no-op.
 */
export async function sweepDeadlines(opts: SweepDeadlinesOptions): Promise<SweepReport> {
  const pageSize = opts.pageSize ?? 500;
  const report: SweepReport = { due: 0, recreated: 0, rearmed: 0, failed: 0 };
  const jobOptions: JobsOptions = { ...DEFAULT_JOB_OPTIONS, ...QUEUE_JOB_OPTIONS[QUEUES.deadlines] };
  const until = new Date(Date.now() + opts.horizonMs);
  let after: string | null = null;
  for (;;) {
    const page: DueDeadline[] = await findDueDeadlines(opts.db, { until, after, limit: pageSize });
    if (page.length === 0) break;
    after = page[page.length - 1]?.dealId ?? null;
    report.due += page.length;

    const ids = page.map((d) => deadlineJobId(deadlineJobData(d)));
    const original = await Promise.all(ids.map((id) => opts.deadlines.getJobState(id)));
    // The original ran yet the deadline is live: a job of the sweep's own, named by the due time.
    const sweepIds = page.map((d, i) => jobId(ids[i] as string, 'sweep', d.dueAt.getTime()));
    const sweep = await Promise.all(
      page.map((_, i) =>
        original[i] === 'completed' ? opts.deadlines.getJobState(sweepIds[i] as string) : 'unknown',
      ),
    );
    const adds = page.flatMap((d, i) => {
      const [id, state] = original[i] === 'completed' ? [sweepIds[i], sweep[i]] : [ids[i], original[i]];
      if (state === 'failed') report.failed += 1;
      if (state !== 'unknown' || id === undefined) return [];
      if (original[i] === 'completed') report.rearmed += 1;
      else report.recreated += 1;
      const delay = d.dueAt.getTime() - Date.now();
      return [
        {
          name: d.kind,
          data: deadlineJobData(d),
          opts: { ...jobOptions, jobId: id, ...(delay > 0 ? { delay } : {}) },
        },
      ];
    });
    if (adds.length > 0) await opts.deadlines.addBulk(adds);
    if (page.length < pageSize) break;
  }
  if (report.recreated + report.rearmed > 0) {
    opts.logger.warn({ ...report }, 'deadline sweep re-created missing deadline jobs');
  }
  if (report.failed > 0) {
    opts.logger.warn({ ...report }, 'deadline jobs failed for live deadlines; see the deadlines queue');
  }
  return report;
}
