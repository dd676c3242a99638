import { JOBS } from '@amanat/core';
import type { Job } from 'bullmq';

export type JobHandler = (job: Job) => Promise<unknown>;
export type QueueKey = keyof typeof JOBS;

/**
 * A queue's handlers, keyed by job name. Checked at start: every job name the contract defines for the
 * queue has exactly one handler and no handler is for a name the contract does not know, so a renamed
 * job fails the deploy instead of piling up unprocessed.
 */
export function checkHandlers(queue: QueueKey, handlers: Record<string, JobHandler>): void {
  const expected = new Set<string>(JOBS[queue]);
  const given = Object.keys(handlers);
  const missing = [...expected].filter((name) => !given.includes(name));
  const unknown = given.filter((name) => !expected.has(name));
  if (missing.length > 0 || unknown.length > 0) {
    throw new Error(
      `queue ${queue}: ${missing.length ? `no handler for ${missing.join(', ')}` : ''}` +
        `${missing.length && unknown.length ? '; ' : ''}${unknown.length ? `unknown job names ${unknown.join(', ')}` : ''}`,
    );
  }
}

/** Dispatches a job to its handler; a job name without one fails visibly instead of being dropped. */
export const dispatch =
  (handlers: Record<string, JobHandler>) =>
  async (job: Job): Promise<unknown> => {
    const handler = Object.hasOwn(handlers, job.name) ? handlers[job.name] : undefined;
    if (!handler) throw new Error(`no handler for job '${job.name}'`);
    return handler(job);
  };
