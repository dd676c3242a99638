import { DEAL_EVENTS_CHANNEL, type DealEvent, JOB_SCHEMAS, type QUEUES, redisKeys } from '@amanat/core';
import type { Redis } from 'ioredis';

export type OutboxMessage =
  | { kind: 'job'; queue: string; name: string; jobId: string; payload: unknown; runAt?: Date }
  | { kind: 'publish'; channel: string; payload: unknown }
  /** Published for the app and fanned out by the relay into one notification job per party. */
  | { kind: 'deal_event'; event: DealEvent };

/** Committing processes publish here after a commit so the relay delivers at once instead of at its next poll. */
export const OUTBOX_WAKE_CHANNEL = 'outbox-wake';

/** A best-effort wake-up for the relay; a lost one only delays delivery until the relay's next poll. */
export const outboxWaker = (redis: Redis, prefix: string) => {
  const channel = redisKeys(prefix).channel(OUTBOX_WAKE_CHANNEL);
  return (): void => {
    redis.publish(channel, '').catch(() => {});
  };
};

const schemaFor = (queue: string) =>
  Object.hasOwn(JOB_SCHEMAS, queue) ? JOB_SCHEMAS[queue as keyof typeof QUEUES] : undefined;

/** SQL that inserts the rows of a JSON parameter (see `outboxRowsJson`) into the outbox. */
export const OUTBOX_INSERT = (param: string) => `
  INSERT INTO outbox (kind, target, name, job_id, payload, run_at)
  SELECT kind, target, name, job_id, payload, run_at
  FROM jsonb_to_recordset(${param}::jsonb)
    AS x(kind text, target text, name text, job_id text, payload jsonb, run_at timestamptz)`;

/**
 * Outbox messages as one JSON parameter. Job payloads are checked against their queue's schema here,
 * so a malformed job fails the change that produced it instead of a worker later.
 */
export function outboxRowsJson(messages: readonly OutboxMessage[]): string {
  return JSON.stringify(
    messages.map((m) => {
      if (m.kind === 'job') {
        schemaFor(m.queue)?.parse(m.payload);
        return {
          kind: 'job',
          target: m.queue,
          name: m.name,
          job_id: m.jobId,
          payload: m.payload,
          run_at: m.runAt?.toISOString() ?? null,
        };
      }
      if (m.kind === 'deal_event') {
        return {
          kind: 'deal_event',
          target: DEAL_EVENTS_CHANNEL,
          name: null,
          job_id: null,
          payload: m.event,
          run_at: null,
        };
      }
      return {
        kind: 'publish',
        target: m.channel,
        name: null,
        job_id: null,
        payload: m.payload,
        run_at: null,
      };
    }),
  );
}
