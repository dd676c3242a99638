import { type CallbackJob, JOBS, QUEUES, redisKeys } from '@amanat/core';
import type { Logger } from '@amanat/platform';
import { type Job, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { type DeliveryTarget, deliverCallback, parseCallbackJob } from './deliver.ts';
import { callbackBackoffStrategy } from './retry.ts';

export const DEFAULT_DELIVERY_CONCURRENCY = 16;

export interface CallbackWorkerOptions {
  /** A worker connection (maxRetriesPerRequest: null). */
  connection: Redis;
  /** REDIS_PREFIX. */
  prefix: string;
  target: DeliveryTarget;
  concurrency?: number;
  /** The wait before each retry; the production schedule (callbackBackoffMs) unless a test shortens it. */
  backoffMs?: (attemptsMade: number) => number;
  logger: Pick<Logger, 'warn' | 'error' | 'debug'>;
}

/** Delivers the `callbacks` queue to the API, retrying each event for at least a day. */
export function startCallbackWorker(opts: CallbackWorkerOptions): Worker {
  const keys = redisKeys(opts.prefix);
  /** The API has the event (or it failed for good): the scanner's checkpoint may move past its block. */
  const acknowledge = async (callback: CallbackJob) => {
    const chainId = (JSON.parse(callback.body) as { data?: { chainId?: unknown } }).data?.chainId;
    if (typeof chainId === 'number')
      await opts.connection.zrem(keys.undeliveredEvents(chainId), callback.eventId);
  };
  const worker = new Worker(
    QUEUES.callbacks,
    async (job: Job) => {
      if (job.name !== JOBS.callbacks[0]) throw new Error(`no handler for job '${job.name}'`);
      const callback = parseCallbackJob(job.data);
      const status = await deliverCallback(callback, opts.target);
      await acknowledge(callback);
      opts.logger.debug({ eventId: job.id, status, attempt: job.attemptsMade + 1 }, 'callback delivered');
      return { status };
    },
    {
      connection: opts.connection,
      prefix: redisKeys(opts.prefix).bullPrefix,
      concurrency: opts.concurrency ?? DEFAULT_DELIVERY_CONCURRENCY,
      settings: { backoffStrategy: opts.backoffMs ?? callbackBackoffStrategy },
    },
  );
  worker.on('failed', (job, err) => {
    const final = !job || job.attemptsMade >= (job.opts.attempts ?? 1) || err.name === 'UnrecoverableError';
    const log = { eventId: job?.id, attempt: job?.attemptsMade, err: err.message };
    if (final) {
      opts.logger.error(log, 'callback delivery failed for good');
      // It waits in the failed set for an operator; the checkpoint need not hold back for it any longer.
      if (job) void acknowledge(job.data as CallbackJob).catch(() => {});
    } else opts.logger.warn(log, 'callback delivery failed, will retry');
  });
  worker.on('error', (err) => opts.logger.error({ err }, 'callbacks worker error'));
  return worker;
}
