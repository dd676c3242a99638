// Sending the outbox, shared by the page and the service worker: in order, one entry at a time, each
// with the Idempotency-Key it was queued with, under one Web Lock so no entry is ever sent twice at once.
import type { DealView } from '@amanat/core/api';
import type { Endpoints } from '#lib/api/endpoints.ts';
import { ApiError, NetworkError } from '#lib/api/errors.ts';
import { deleteOutboxEntry, getOutboxEntry, listOutbox, putOutboxEntry } from './db.ts';
import { OUTBOX_LOCK, type OutboxEntry, type StoredOutboxEntry } from './types.ts';

export type Send = (entry: OutboxEntry) => Promise<DealView>;

/** The API call an entry stands for. */
export function sendWith(api: Pick<Endpoints, 'createDeal' | 'act'>): Send {
  return (entry) => {
    const { item } = entry;
    switch (item.kind) {
      case 'createDeal':
        return api.createDeal(item.body, entry.idempotencyKey);
      case 'disputeMessage':
        return api.act(item.dealId, 'dispute/messages', { text: item.text }, entry.idempotencyKey);
    }
  };
}

/**
 * Whether a failure means "try again later" (keep the entry and stop: later entries may depend on it)
 * or "the server will never take this" (mark it rejected and go on). Only an answered 4xx rejects;
 * signing in again (401), rate limits, a duplicate still running and server errors are retried.
 */
export function isRetryable(err: unknown): boolean {
  if (err instanceof NetworkError) return true;
  if (!(err instanceof ApiError)) return true;
  if (err.status >= 500) return true;
  return [401, 408, 425, 429].includes(err.status) || err.code === 'idempotency_in_progress';
}

export interface ReplayHooks {
  onSending?(entry: StoredOutboxEntry): void;
  onSent?(entry: StoredOutboxEntry, result: DealView): void;
  onRejected?(entry: StoredOutboxEntry): void;
}

export interface ReplayResult {
  sent: Array<{ id: string; result: DealView }>;
  rejected: string[];
  /** A retryable failure stopped the replay; the entries from that one on are still queued. */
  stopped: boolean;
}

/** One pass over this user's queued entries, oldest first. Call it inside `withOutboxLock`. */
export async function replayOnce(userId: string, send: Send, hooks: ReplayHooks = {}): Promise<ReplayResult> {
  const result: ReplayResult = { sent: [], rejected: [], stopped: false };
  const queued = (await listOutbox(userId)).filter((entry) => entry.status !== 'rejected');
  for (const listed of queued) {
    // Another tab or the worker may have sent or dismissed it since the list was read.
    const entry = await getOutboxEntry(listed.id);
    if (!entry || entry.status === 'rejected') continue;
    hooks.onSending?.(entry);
    try {
      const answer = await send(entry);
      await deleteOutboxEntry(entry.id);
      result.sent.push({ id: entry.id, result: answer });
      hooks.onSent?.(entry, answer);
    } catch (err) {
      if (isRetryable(err)) {
        result.stopped = true;
        return result;
      }
      const apiError = err as ApiError;
      const rejected: StoredOutboxEntry = {
        ...entry,
        status: 'rejected',
        error: { code: apiError.code, message: apiError.message },
      };
      await putOutboxEntry(rejected);
      result.rejected.push(entry.id);
      hooks.onRejected?.(rejected);
    }
  }
  return result;
}

interface LockManagerLike {
  request<T>(name: string, callback: () => Promise<T>): Promise<T>;
}

/**
 * Runs `fn` while holding the outbox lock, shared by every tab and the service worker. Browsers without
 * the Web Locks API run it directly (the in-tab join in the outbox still prevents double sends there).
 */
export function withOutboxLock<T>(fn: () => Promise<T>): Promise<T> {
  const locks = (globalThis.navigator as { locks?: LockManagerLike } | undefined)?.locks;
  return locks ? locks.request(OUTBOX_LOCK, fn) : fn();
}
