import { randomUUID } from 'node:crypto';
import {
  type ActivityEntry,
  type DealEvent,
  type DealTransition,
  deadlineJobId,
  JOBS,
  mirrorJobId,
  type PayoutLeg,
  payoutJobId,
  QUEUES,
  reviewAlertJobId,
} from '@amanat/core';
import type { OutboxMessage } from '../outbox/write.ts';
import { DEADLINE_KIND_LIST, DEADLINES } from './deadlines.ts';
import { type DealRecord, partyIds } from './record.ts';

export type StorageMode = 'pg_only' | 'dual';

/**
 * The change flags the deal for review, or adds a reason to a flag that was already up: something new
 * for an operator to look at. A repeat of a reason already under review is not news.
 */
export function raisesReview(before: DealRecord | null, after: DealRecord): boolean {
  if (!after.needsReview) return false;
  if (!before?.needsReview) return true;
  return after.reviewReasons.some((reason) => !before.reviewReasons.includes(reason));
}

/**
 * Everything that must follow a committed deal change: the deal event (published for the app and sent
 * as a Telegram notification to each party, fanned out by the relay), an alert to the operators when the
 * change raises a review, deadline jobs for deadlines that changed, the payout job for decided payouts,
 * and the legacy mirror write. All of it goes into the outbox in the same transaction.
 */
export function dealEffects(input: {
  before: DealRecord | null;
  after: DealRecord;
  entry: ActivityEntry;
  transition: Pick<DealTransition, 'action'> | { action: 'create' };
  payoutLegs: PayoutLeg[];
  storageMode: StorageMode;
}): OutboxMessage[] {
  const { before, after, entry } = input;
  const audience = partyIds(after);
  const event: DealEvent = {
    id: randomUUID(),
    dealId: after.id,
    version: after.version,
    seq: entry.seq,
    action: input.transition.action,
    state: after.state,
    needsReview: after.needsReview,
    audience,
    at: entry.at,
    facts: { ...entry.facts, seq: entry.seq },
  };
  const messages: OutboxMessage[] = [{ kind: 'deal_event', event }];

  if (raisesReview(before, after)) {
    // One job for all operators: who they are is the workers' configuration, read when it runs.
    const payload = { dealId: after.id, seq: entry.seq };
    messages.push({
      kind: 'job',
      queue: QUEUES.notifications,
      name: JOBS.notifications[1],
      jobId: reviewAlertJobId(payload),
      payload,
    });
  }

  for (const kind of DEADLINE_KIND_LIST) {
    const { field, states } = DEADLINES[kind];
    const due = after.deadlines[field];
    const live = states.includes(after.state);
    // A cleared review re-arms the live deadline: a job that fired while the deal was flagged did nothing.
    // So does coming back into its states: a reorg that takes a funded deal back to collecting money
    // keeps the payment window, whose job already ran (and did nothing) while the deal was funded.
    const rearm =
      live &&
      (input.transition.action === 'clear_review' || (before !== null && !states.includes(before.state)));
    if (due === null || (!rearm && due.getTime() === before?.deadlines[field]?.getTime())) continue;
    const payload = { dealId: after.id, kind, version: after.version, dueAt: due.toISOString() };
    messages.push({
      kind: 'job',
      queue: QUEUES.deadlines,
      name: kind,
      jobId: deadlineJobId(payload),
      payload,
      runAt: due,
    });
  }

  if (input.payoutLegs.length > 0) {
    const payload = { dealId: after.id, cause: String(entry.seq) };
    messages.push({
      kind: 'job',
      queue: QUEUES.payouts,
      name: JOBS.payouts[0],
      jobId: payoutJobId(payload),
      payload,
    });
  }

  if (input.storageMode === 'dual') {
    const payload = { entity: 'deal' as const, id: after.id, version: after.version };
    messages.push({
      kind: 'job',
      queue: QUEUES.mirror,
      name: JOBS.mirror[0],
      jobId: mirrorJobId(payload),
      payload,
    });
  }
  return messages;
}
