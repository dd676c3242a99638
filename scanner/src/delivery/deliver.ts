import { type CallbackJob, callbackJobSchema, paymentWebhookEventSchema } from '@amanat/core';
import { UnrecoverableError } from 'bullmq';
import { Webhook } from 'standardwebhooks';

export const DEFAULT_CALLBACK_TIMEOUT_MS = 10_000;

export interface DeliveryTarget {
  /** PAYMENT_CALLBACK_URL. */
  url: string;
  /** PAYMENT_WEBHOOK_SECRET (whsec_…). */
  secret: string;
  /**
   * PAYMENT_WEBHOOK_SECRET_NEXT, during a rotation: every callback also carries a signature with it
   * (Standard Webhooks lets one header hold several), so the API may switch to it at any moment.
   */
  nextSecret?: string;
  timeoutMs?: number;
}

export class CallbackRejectedError extends Error {
  readonly status: number;
  constructor(status: number, detail: string) {
    super(`payment callback answered ${status}${detail ? `: ${detail}` : ''}`);
    this.name = 'CallbackRejectedError';
    this.status = status;
  }
}

/**
 * Validates a callbacks job. A payload that does not parse is our own bug, and retrying cannot fix
 * it: it fails at once and stays in the failed set for an operator.
 */
export function parseCallbackJob(data: unknown): CallbackJob {
  const job = callbackJobSchema.safeParse(data);
  if (!job.success) throw new UnrecoverableError(`malformed callbacks job: ${job.error.message}`);
  let body: unknown;
  try {
    body = JSON.parse(job.data.body);
  } catch {
    throw new UnrecoverableError('callbacks job body is not JSON');
  }
  const event = paymentWebhookEventSchema.safeParse(body);
  if (!event.success)
    throw new UnrecoverableError(`callbacks job body is not a payment event: ${event.error.message}`);
  return job.data;
}

/**
 * POSTs one event, signed per Standard Webhooks. Every attempt is signed afresh (a new timestamp, so a
 * retry hours later is not refused as stale) under the same webhook-id, which the API dedupes on.
 * Resolves on 2xx; a 400 means the API found the event malformed and fails the job for good; anything
 * else (network errors, timeouts, 5xx, 401 while secrets are being rotated) is retried with backoff.
 */
export async function deliverCallback(job: CallbackJob, target: DeliveryTarget): Promise<number> {
  const now = new Date();
  const signature = [target.secret, target.nextSecret]
    .filter((secret) => secret !== undefined)
    .map((secret) => new Webhook(secret).sign(job.eventId, now, job.body))
    .join(' ');
  const res = await fetch(target.url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'webhook-id': job.eventId,
      'webhook-timestamp': String(Math.floor(now.getTime() / 1000)),
      'webhook-signature': signature,
    },
    body: job.body,
    redirect: 'error',
    signal: AbortSignal.timeout(target.timeoutMs ?? DEFAULT_CALLBACK_TIMEOUT_MS),
  });
  if (res.ok) {
    // Read to the end so the connection goes back to the pool.
    await res.arrayBuffer().catch(() => {});
    return res.status;
  }
  const detail = (await res.text().catch(() => '')).slice(0, 300);
  if (res.status === 400) throw new UnrecoverableError(new CallbackRejectedError(400, detail).message);
  throw new CallbackRejectedError(res.status, detail);
}
