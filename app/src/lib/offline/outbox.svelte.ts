// The outbox: actions that are safe to do later (creating a deal, a dispute message), kept in IndexedDB
// and sent when the network is back. Money-moving actions are never queued.
import { api } from '#lib/api/index.ts';
import { session } from '#lib/state/session.svelte.ts';
import { addOutboxEntry, deleteOutboxEntry, listOutbox, setReplayAuth } from './db.ts';
import { replayOnce, type Send, sendWith, withOutboxLock } from './replay.ts';
import {
  OUTBOX_CHANNEL,
  OUTBOX_SYNC_TAG,
  type OutboxBroadcast,
  type OutboxEntry,
  type OutboxItem,
  type StoredOutboxEntry,
} from './types.ts';

export type { OutboxEntry, OutboxItem } from './types.ts';

/** How long an entry that went through stays in the list, so it can say "synced". */
const SYNCED_VISIBLE_MS = 5000;

export interface OutboxDeps {
  send: Send;
  userId: () => string | null;
  token: () => string | null;
  online: () => boolean;
}

function randomId(): string {
  if (typeof crypto.randomUUID === 'function') return crypto.randomUUID();
  // Plain-HTTP origins other than localhost have no randomUUID; the same 122 random bits.
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = ((b[6] ?? 0) & 0x0f) | 0x40;
  b[8] = ((b[8] ?? 0) & 0x3f) | 0x80;
  const hex = [...b].map((x) => x.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

function plain(entry: StoredOutboxEntry | OutboxEntry): OutboxEntry {
  const { id, idempotencyKey, item, createdAt, status, error, result } = entry;
  return {
    id,
    idempotencyKey,
    item,
    createdAt,
    status,
    ...(error ? { error } : {}),
    ...(result ? { result } : {}),
  };
}

export class Outbox {
  /** This user's entries, oldest first: queued, being sent, rejected, and just-synced ones. */
  entries = $state.raw<OutboxEntry[]>([]);
  readonly #deps: OutboxDeps;
  #running: Promise<void> | null = null;
  #again = false;
  #channel: BroadcastChannel | null = null;

  constructor(deps: OutboxDeps) {
    this.#deps = deps;
  }

  /** Entries still to be sent (what the banner counts). */
  get waiting(): number {
    return this.entries.filter((e) => !e.result && e.status !== 'rejected').length;
  }

  /** Read the queue from IndexedDB (at start, and when another tab or the worker changed it). */
  async load(): Promise<void> {
    const userId = this.#deps.userId();
    const stored = userId ? (await listOutbox(userId)).map(plain) : [];
    const justSynced = this.entries.filter((e) => e.result && !stored.some((s) => s.id === e.id));
    this.entries = [...justSynced, ...stored];
    await this.#syncReplayAuth();
  }

  /**
   * Queue an action that is safe to do later; it is sent at once when online. Pass the Idempotency-Key a
   * failed first attempt used, so an attempt that did reach the server is not done twice by the replay.
   */
  async enqueue(item: OutboxItem, options: { idempotencyKey?: string } = {}): Promise<OutboxEntry> {
    const userId = this.#deps.userId();
    if (!userId) throw new Error('Sign in before queueing actions');
    const entry: OutboxEntry = {
      id: randomId(),
      idempotencyKey: options.idempotencyKey ?? randomId(),
      item,
      createdAt: Date.now(),
      status: 'queued',
    };
    await addOutboxEntry(entry, userId);
    this.entries = [...this.entries, entry];
    await this.#syncReplayAuth();
    this.#broadcast([]);
    if (this.#deps.online()) void this.replay();
    else void requestBackgroundSync();
    return entry;
  }

  /**
   * Send the queued entries, oldest first, one at a time. A call while a replay runs joins it (and makes
   * it look once more for entries queued meanwhile); the Web Lock keeps other tabs and the worker out.
   */
  replay(): Promise<void> {
    if (this.#running) {
      this.#again = true;
      return this.#running;
    }
    this.#running = this.#run().finally(() => {
      this.#running = null;
    });
    return this.#running;
  }

  /**
   * Remove an entry the user no longer wants to see (a rejected or synced one) or to send (a queued one;
   * taken under the lock, so it is either sent already or never).
   */
  async dismiss(id: string): Promise<void> {
    const entry = this.entries.find((e) => e.id === id);
    if (!entry || (entry.status === 'sending' && !entry.result)) return;
    if (!entry.result) await withOutboxLock(() => deleteOutboxEntry(id));
    this.entries = this.entries.filter((e) => e.id !== id);
    await this.#syncReplayAuth();
    this.#broadcast([]);
  }

  /** Forget the queue in memory (signing out; the store itself is cleared by the caller). */
  reset(): void {
    this.entries = [];
  }

  /** Follow changes made by other tabs and by the service worker. */
  listen(): void {
    if (this.#channel || typeof BroadcastChannel === 'undefined') return;
    this.#channel = new BroadcastChannel(OUTBOX_CHANNEL);
    this.#channel.onmessage = (event: MessageEvent<OutboxBroadcast>) => {
      if (event.data?.type !== 'outbox-changed') return;
      for (const { id, result } of event.data.sent) this.#markSent(id, result);
      void this.load();
    };
  }

  async #run(): Promise<void> {
    try {
      do {
        this.#again = false;
        const userId = this.#deps.userId();
        if (!userId) return;
        const result = await withOutboxLock(() =>
          replayOnce(userId, this.#deps.send, {
            onSending: (entry) => this.#update(entry.id, { status: 'sending' }),
            onSent: (entry, answer) => this.#markSent(entry.id, answer),
            onRejected: (entry) => this.#update(entry.id, plain(entry)),
          }),
        );
        if (result.sent.length > 0 || result.rejected.length > 0) this.#broadcast(result.sent);
        if (result.stopped) {
          await this.load();
          void requestBackgroundSync();
          return;
        }
      } while (this.#again);
      await this.#syncReplayAuth();
    } catch {
      // IndexedDB failed mid-replay: what was not sent stays queued for the next attempt.
      await this.load().catch(() => {});
    }
  }

  #update(id: string, patch: Partial<OutboxEntry>): void {
    this.entries = this.entries.map((e) => (e.id === id ? { ...e, ...patch } : e));
  }

  #markSent(id: string, result: OutboxEntry['result']): void {
    if (!this.entries.some((e) => e.id === id)) return;
    this.#update(id, { result });
    setTimeout(() => {
      this.entries = this.entries.filter((e) => e.id !== id);
    }, SYNCED_VISIBLE_MS);
  }

  #broadcast(sent: OutboxBroadcast['sent']): void {
    const message: OutboxBroadcast = { type: 'outbox-changed', sent };
    this.#channel?.postMessage(message);
  }

  /** The worker gets the token only while there is something for it to send. */
  async #syncReplayAuth(): Promise<void> {
    const userId = this.#deps.userId();
    const token = this.#deps.token();
    await setReplayAuth(userId && token && this.waiting > 0 ? { userId, token } : null).catch(() => {});
  }
}

/** Ask the service worker to replay when the network is back, even if the app is closed by then. */
export async function requestBackgroundSync(): Promise<void> {
  try {
    const registration = await globalThis.navigator?.serviceWorker?.getRegistration();
    const sync = (registration as { sync?: { register(tag: string): Promise<void> } } | undefined)?.sync;
    await sync?.register(OUTBOX_SYNC_TAG);
  } catch {
    // No Background Sync (Firefox, Safari): the app replays on `online` and at start instead.
  }
}

export const outbox = new Outbox({
  send: sendWith(api),
  userId: () => session.user?.id ?? null,
  token: () => session.token,
  online: () => globalThis.navigator?.onLine ?? true,
});

/**
 * Keep the outbox in step with the session: load the signed-in user's queue (and send it when online)
 * at start and after every sign-in; keep the worker's replay credentials current. Returns a stop function.
 */
export function followSession(): () => void {
  return $effect.root(() => {
    $effect(() => {
      // Re-run whenever the user or the token changes.
      void session.user?.id;
      void session.token;
      void outbox
        .load()
        .then(() => {
          if (navigator.onLine && outbox.waiting > 0) return outbox.replay();
        })
        .catch(() => {
          // No IndexedDB: nothing was queued on this device.
        });
    });
  });
}

/** Queue an action that is safe to do later; it is sent at once when online (see Outbox.enqueue). */
export function enqueue(item: OutboxItem, options: { idempotencyKey?: string } = {}): Promise<OutboxEntry> {
  return outbox.enqueue(item, options);
}
