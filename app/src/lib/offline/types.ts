import type { CreateDealInput, DealView } from '@amanat/core/api';

export type OutboxItem =
  | { kind: 'createDeal'; body: CreateDealInput }
  | { kind: 'disputeMessage'; dealId: string; text: string };

export interface OutboxEntry {
  id: string;
  /** The Idempotency-Key the replay sends: the server does the action once however often it arrives. */
  idempotencyKey: string;
  item: OutboxItem;
  createdAt: number;
  /** 'sending' while the request is out; an entry with `result` has gone through (shown as synced). */
  status: 'queued' | 'sending' | 'rejected';
  /** For rejected entries: the API's code and message, shown to the user until dismissed. */
  error?: { code: string; message: string };
  /** For an entry that went through: the deal as the server answered (a create: the deal it made). */
  result?: DealView;
}

/** An outbox entry as IndexedDB keeps it: whose it is, and its place in the queue. */
export interface StoredOutboxEntry extends OutboxEntry {
  userId: string;
  /** Increasing across tabs (assigned in the same transaction as the insert): replay order. */
  order: number;
}

/** Tag of the Background Sync registration that replays the outbox. */
export const OUTBOX_SYNC_TAG = 'amanat-outbox';
/** Web Lock that makes one replay run at a time, across tabs and the service worker. */
export const OUTBOX_LOCK = 'amanat-outbox';
/** BroadcastChannel on which tabs and the service worker say the outbox changed. */
export const OUTBOX_CHANNEL = 'amanat-outbox';

/** What the page and the service worker say to each other. */
export type WorkerMessage = { type: 'SKIP_WAITING' } | { type: 'SIGNED_OUT' };
export type PageMessage = { type: 'REPLAY_OUTBOX' };
export type OutboxBroadcast = {
  type: 'outbox-changed';
  /** Entries that went through, so other views can say "synced" for a moment. */
  sent: Array<{ id: string; result: DealView }>;
};

/** Cache Storage names: the service worker's caches, and which of them hold only the app's own code. */
export const CACHES = {
  /** Workbox's prefix: its precache is `amanat-precache-v2-<scope>`. */
  prefix: 'amanat',
  api: 'amanat-api',
  immutable: 'amanat-immutable',
  env: 'amanat-env',
} as const;
export const APP_CODE_CACHES: readonly string[] = ['amanat-precache', CACHES.immutable, CACHES.env];
