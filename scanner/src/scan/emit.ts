import {
  type CallbackJob,
  callbackJobSchema,
  JOBS,
  type PaymentWebhookEvent,
  paymentEventId,
  paymentWebhookEventSchema,
  redisKeys,
} from '@amanat/core';
import type { JobsOptions, Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { callbackJobOptions } from '../delivery/retry.ts';
import type { PaymentEvent } from './plan.ts';

export interface CallbackJobSpec {
  name: string;
  data: CallbackJob;
  opts: JobsOptions;
}

/** The callbacks job for one event: the webhook body is fixed here, once, with the event's id. */
export function callbackJobFor(event: PaymentEvent, at: Date): CallbackJobSpec {
  const eventId = paymentEventId(event.type, event.data);
  const body: PaymentWebhookEvent = paymentWebhookEventSchema.parse({
    type: event.type,
    timestamp: at.toISOString(),
    data: event.data,
  });
  return {
    name: JOBS.callbacks[0],
    data: callbackJobSchema.parse({ eventId, body: JSON.stringify(body) }),
    opts: callbackJobOptions(eventId),
  };
}

const BULK = 500;

/**
 * Enqueues events for delivery. Adding an event that is already queued (same id) changes nothing, so a
 * step that is redone after a crash may call this again with the same events.
 */
export async function enqueueEvents(
  callbacks: Queue,
  events: readonly PaymentEvent[],
  pending: { redis: Redis; prefix: string },
): Promise<void> {
  const at = new Date();
  const specs = events.map((e) => callbackJobFor(e, at));
  // Listed as undelivered before they are queued: a crash in between leaves an entry the redone step's
  // delivery clears, never a queued event the checkpoint does not wait for.
  const byChain = new Map<number, Array<number | string>>();
  for (const [i, e] of events.entries()) {
    const members = byChain.get(e.data.chainId) ?? [];
    members.push(Number(e.data.blockNumber), (specs[i] as CallbackJobSpec).data.eventId);
    byChain.set(e.data.chainId, members);
  }
  const keys = redisKeys(pending.prefix);
  for (const [chainId, members] of byChain)
    await pending.redis.zadd(keys.undeliveredEvents(chainId), ...members);
  for (let i = 0; i < specs.length; i += BULK) await callbacks.addBulk(specs.slice(i, i + BULK));
}

/** The lowest block with an event the API has not acknowledged yet, if any. */
export async function oldestUndelivered(
  redis: Redis,
  prefix: string,
  chainId: number,
): Promise<bigint | null> {
  const [, score] = await redis.zrange(redisKeys(prefix).undeliveredEvents(chainId), '0', '0', 'WITHSCORES');
  return score === undefined ? null : BigInt(score);
}
