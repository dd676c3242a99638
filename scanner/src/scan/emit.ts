import {
  type CallbackJob,
  callbackJobSchema,
  JOBS,
  type PaymentWebhookEvent,
  paymentEventId,
  paymentWebhookEventSchema,
} from '@amanat/core';
import type { JobsOptions, Queue } from 'bullmq';
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
export async function enqueueEvents(callbacks: Queue, events: readonly PaymentEvent[]): Promise<void> {
  const at = new Date();
  const specs = events.map((e) => callbackJobFor(e, at));
  for (let i = 0; i < specs.length; i += BULK) await callbacks.addBulk(specs.slice(i, i + BULK));
}
