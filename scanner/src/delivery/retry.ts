import type { JobsOptions } from 'bullmq';

/**
 * How a callback is retried: exponential waits from BASE_MS, capped at CAP_MS, each shortened by up to
 * JITTER of itself so that callbacks failing together do not retry together. The attempt count is the
 * smallest whose shortest possible schedule still spans RETRY_SPAN_MS, so an API outage of a day loses
 * nothing.
 */
export const CALLBACK_BACKOFF_TYPE = 'callback-jitter';
export const CALLBACK_BACKOFF_BASE_MS = 5_000;
export const CALLBACK_BACKOFF_CAP_MS = 3_600_000;
export const CALLBACK_BACKOFF_JITTER = 0.25;
export const CALLBACK_RETRY_SPAN_MS = 24 * 3_600_000;

/** The wait before the next attempt after `attemptsMade` failed ones (1 for the first retry). */
export function callbackBackoffMs(attemptsMade: number, random: () => number = Math.random): number {
  const exponent = Math.min(Math.max(attemptsMade - 1, 0), 30);
  const full = Math.min(CALLBACK_BACKOFF_CAP_MS, CALLBACK_BACKOFF_BASE_MS * 2 ** exponent);
  return Math.round(full * (1 - CALLBACK_BACKOFF_JITTER * random()));
}

/** The shortest total wait over `attempts` attempts (every jitter at its maximum). */
export function shortestRetrySpanMs(attempts: number): number {
  let total = 0;
  for (let made = 1; made < attempts; made++) total += callbackBackoffMs(made, () => 1);
  return total;
}

function attemptsToSpan(spanMs: number): number {
  let attempts = 1;
  while (shortestRetrySpanMs(attempts) < spanMs) attempts++;
  return attempts;
}

export const CALLBACK_ATTEMPTS = attemptsToSpan(CALLBACK_RETRY_SPAN_MS);

/** BullMQ's hook for custom backoff types (only callback jobs reach the worker that sets it). */
export const callbackBackoffStrategy = (attemptsMade: number): number => callbackBackoffMs(attemptsMade);

const WEEK_SEC = 7 * 24 * 3600;

/**
 * Options of every callback job. The job id is the event id, so enqueueing an event again (a tick
 * redone after a crash) is a no-op while the job is kept: completed ones for a week, failed ones until
 * an operator looks at them in bull-board.
 */
export const callbackJobOptions = (eventId: string): JobsOptions => ({
  jobId: eventId,
  attempts: CALLBACK_ATTEMPTS,
  backoff: { type: CALLBACK_BACKOFF_TYPE },
  removeOnComplete: { age: WEEK_SEC },
  removeOnFail: false,
});
