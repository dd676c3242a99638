// bench:scanner's correctness check: what the scanner queued for delivery (callbacks jobs, delivery off)
// against the payments seeded on the chain, one event of each type per payment, nothing else.
import {
  callbackJobSchema,
  type PaymentEventType,
  paymentWebhookEventSchema,
  QUEUES,
  redisKeys,
} from '@amanat/core';
import { createRedis } from '@amanat/platform';
import { Queue } from 'bullmq';
import { type ExpectedPayment, paymentKey } from './scanner-chain.ts';

export interface EventCheck {
  /** Callbacks jobs found in the queue. */
  queued: number;
  byType: Record<PaymentEventType, number>;
  /** Expected (type, payment) pairs with no event. */
  missed: string[];
  /** (type, payment) pairs with more than one event. */
  duplicated: string[];
  /** Events for payments nobody made to a watched address. */
  unexpected: string[];
}

const REQUIRED: readonly PaymentEventType[] = ['payment.detected', 'payment.confirmed'];

const STATES = ['waiting', 'prioritized', 'delayed', 'active', 'completed', 'failed'] as const;

/** Every event in a deployment's callbacks queue, as (type, payment key). */
async function readEvents(queue: Queue): Promise<Array<{ type: PaymentEventType; key: string }>> {
  const jobs = await queue.getJobs([...STATES]);
  return jobs.map((job) => {
    const { body } = callbackJobSchema.parse(job.data);
    const event = paymentWebhookEventSchema.parse(JSON.parse(body));
    return { type: event.type, key: paymentKey(event.data) };
  });
}

export function checkEvents(
  events: ReadonlyArray<{ type: PaymentEventType; key: string }>,
  expected: readonly ExpectedPayment[],
): EventCheck {
  const counts = new Map<string, number>();
  const byType: Record<PaymentEventType, number> = {
    'payment.detected': 0,
    'payment.confirmed': 0,
    'payment.reorged': 0,
  };
  for (const e of events) {
    byType[e.type]++;
    const id = `${e.type} ${e.key}`;
    counts.set(id, (counts.get(id) ?? 0) + 1);
  }
  const missed: string[] = [];
  const duplicated: string[] = [];
  const wanted = new Set<string>();
  for (const p of expected) {
    for (const type of REQUIRED) {
      const id = `${type} ${paymentKey(p)}`;
      wanted.add(id);
      const n = counts.get(id) ?? 0;
      if (n === 0) missed.push(id);
      else if (n > 1) duplicated.push(id);
    }
  }
  const unexpected = [...counts.keys()].filter((id) => !wanted.has(id));
  return { queued: events.length, byType, missed, duplicated, unexpected };
}

/** Waits until the queue holds an event per expected (type, payment) (or the deadline passes), then checks. */
export async function waitAndCheckEvents(
  redisUrl: string,
  prefix: string,
  expected: readonly ExpectedPayment[],
  ms = 20_000,
): Promise<EventCheck> {
  const want = expected.length * REQUIRED.length;
  const connection = createRedis(redisUrl, 'worker', 'bench-events');
  const queue = new Queue(QUEUES.callbacks, { connection, prefix: redisKeys(prefix).bullPrefix });
  try {
    const deadline = Date.now() + ms;
    while ((await queue.getJobCountByTypes(...STATES)) < want && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 200));
    }
    return checkEvents(await readEvents(queue), expected);
  } finally {
    await queue.close();
    connection.disconnect();
  }
}
