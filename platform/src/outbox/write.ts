import { JOB_SCHEMAS, type QUEUES } from '@amanat/core';
import type { Queryable } from '../db.ts';

export type OutboxMessage =
  | { kind: 'job'; queue: string; name: string; jobId: string; payload: unknown; delayMs?: number }
  | { kind: 'publish'; channel: string; payload: unknown };

const schemaFor = (queue: string) =>
  Object.hasOwn(JOB_SCHEMAS, queue) ? JOB_SCHEMAS[queue as keyof typeof QUEUES] : undefined;

/**
 * Writes messages to the outbox inside the caller's transaction. Job payloads are checked against their
 * queue's schema here, so a malformed job fails the change that produced it instead of a worker later.
 */
export async function writeOutbox(tx: Queryable, messages: readonly OutboxMessage[]): Promise<void> {
  if (messages.length === 0) return;
  const rows = messages.map((m) => {
    if (m.kind === 'job') {
      schemaFor(m.queue)?.parse(m.payload);
      return {
        kind: 'job',
        target: m.queue,
        name: m.name,
        job_id: m.jobId,
        payload: m.payload,
        delay_ms: m.delayMs ?? 0,
      };
    }
    return { kind: 'publish', target: m.channel, name: null, job_id: null, payload: m.payload, delay_ms: 0 };
  });
  await tx.query(
    `INSERT INTO outbox (kind, target, name, job_id, payload, delay_ms)
     SELECT kind, target, name, job_id, payload, delay_ms
     FROM jsonb_to_recordset($1::jsonb) AS x(kind text, target text, name text, job_id text, payload jsonb, delay_ms integer)`,
    [JSON.stringify(rows)],
  );
}
