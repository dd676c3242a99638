import { JOBS, type PaymentJob, paymentJobId, QUEUES, redisKeys } from '@amanat/core';
import type { Logger } from '@amanat/platform';
import { type JobsOptions, Queue } from 'bullmq';
import type { Redis } from 'ioredis';

/** How long an accepted webhook id is remembered: replays within it are answered as duplicates. */
export const CALLBACK_SEEN_TTL_SEC = 7 * 24 * 3600;

/**
 * A payment job waits on the chain (and the RPC endpoints) rather than on a person: 12 attempts from
 * 2 s doubling cover about two hours, with jitter so a flapping endpoint does not synchronise retries.
 * Failed jobs stay, for bull-board.
 */
export const PAYMENT_JOB_OPTIONS: JobsOptions = {
  attempts: 12,
  backoff: { type: 'exponential', delay: 2000, jitter: 0.5 },
  removeOnComplete: { age: CALLBACK_SEEN_TTL_SEC },
  removeOnFail: false,
};

export type PaymentsQueue = Queue<PaymentJob>;

/**
 * The payments queue on the API's fail-fast connection: an add during a Redis outage fails at once
 * (the route answers 503 and the scanner retries) instead of waiting in an offline queue. Neither
 * waiting for `ready` nor the version check runs, so a queue made while Redis is away does not stay
 * broken; the workers check the version on their own connections.
 */
export function createPaymentsQueue(deps: { redis: Redis; prefix: string; logger: Logger }): PaymentsQueue {
  const queue: PaymentsQueue = new Queue(QUEUES.payments, {
    connection: deps.redis,
    prefix: redisKeys(deps.prefix).bullPrefix,
    skipWaitingForReady: true,
    skipVersionCheck: true,
  });
  // An EventEmitter 'error' without a listener would crash the process on a Redis hiccup.
  queue.on('error', (err) => deps.logger.warn({ err, queue: QUEUES.payments }, 'queue connection error'));
  return queue;
}

/**
 * Enqueues the job for a verified event once per webhook id. The seen-key is written only after the
 * add succeeded, so a failure at any step leaves nothing that makes the sender's retry a duplicate;
 * concurrent deliveries all reach the add, which the job id makes one job, and the one whose SET NX
 * wins is the first. Every answer of "accepted" therefore means the job is in the queue.
 */
export async function acceptPaymentEvent(
  deps: { redis: Redis; prefix: string; queue: PaymentsQueue },
  webhookId: string,
  job: PaymentJob,
): Promise<{ duplicate: boolean }> {
  const seenKey = redisKeys(deps.prefix).callbackSeen(webhookId);
  if ((await deps.redis.exists(seenKey)) === 1) return { duplicate: true };
  await deps.queue.add(JOBS.payments[0], job, { ...PAYMENT_JOB_OPTIONS, jobId: paymentJobId(job) });
  const first = await deps.redis.set(seenKey, '1', 'EX', CALLBACK_SEEN_TTL_SEC, 'NX');
  return { duplicate: first === null };
}
