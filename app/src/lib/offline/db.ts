// The device's store: saved reads and the outbox in IndexedDB ('amanat'). Used by the page and by the
// service worker, so nothing here touches Svelte state or the window.
import { type DBSchema, type IDBPDatabase, openDB } from 'idb';
import type { OutboxEntry, StoredOutboxEntry } from './types.ts';

/** A read this device saved: whose it was and when the server gave it. */
export interface SavedRead {
  key: string;
  data: unknown;
  savedAt: number;
  /** The signed-in user's id when it was read (null: read without a session). */
  userId: string | null;
}

/** What a replay from the service worker needs, which it cannot read from localStorage. */
export interface ReplayAuth {
  userId: string;
  token: string;
}

interface AmanatDB extends DBSchema {
  reads: { key: string; value: SavedRead };
  outbox: { key: string; value: StoredOutboxEntry; indexes: { 'by-order': number } };
  meta: { key: string; value: unknown };
}

const DB_NAME = 'amanat';
const DB_VERSION = 1;
const OUTBOX_SEQ = 'outboxSeq';
const REPLAY_AUTH = 'replayAuth';

let connection: Promise<IDBPDatabase<AmanatDB>> | null = null;

function db(): Promise<IDBPDatabase<AmanatDB>> {
  connection ??= openDB<AmanatDB>(DB_NAME, DB_VERSION, {
    upgrade(database) {
      database.createObjectStore('reads', { keyPath: 'key' });
      const outbox = database.createObjectStore('outbox', { keyPath: 'id' });
      outbox.createIndex('by-order', 'order');
      database.createObjectStore('meta');
    },
    // A newer version of the app wants to upgrade the schema: let it, and reopen on the next call.
    blocking() {
      void connection?.then((open) => open.close());
      connection = null;
    },
    terminated() {
      connection = null;
    },
  }).catch((err: unknown) => {
    connection = null;
    throw err;
  });
  return connection;
}

// ---- reads

/** The saved copy of `key`, only if it was saved for this user. */
export async function getRead(key: string, userId: string | null): Promise<SavedRead | null> {
  const saved = await (await db()).get('reads', key);
  return saved && saved.userId === userId ? saved : null;
}

export async function putRead(key: string, data: unknown, userId: string | null, savedAt: number) {
  await (await db()).put('reads', { key, data, savedAt, userId });
}

export async function deleteReads(keys: readonly string[]): Promise<void> {
  const tx = (await db()).transaction('reads', 'readwrite');
  await Promise.all([...keys.map((key) => tx.store.delete(key)), tx.done]);
}

// ---- outbox

/** This user's entries, oldest first. */
export async function listOutbox(userId: string): Promise<StoredOutboxEntry[]> {
  const all = await (await db()).getAllFromIndex('outbox', 'by-order');
  return all.filter((entry) => entry.userId === userId);
}

export async function getOutboxEntry(id: string): Promise<StoredOutboxEntry | undefined> {
  return (await db()).get('outbox', id);
}

/** Append an entry at the end of the queue. */
export async function addOutboxEntry(entry: OutboxEntry, userId: string): Promise<StoredOutboxEntry> {
  const tx = (await db()).transaction(['outbox', 'meta'], 'readwrite');
  const meta = tx.objectStore('meta');
  const order = (((await meta.get(OUTBOX_SEQ)) as number | undefined) ?? 0) + 1;
  const stored: StoredOutboxEntry = { ...entry, userId, order };
  await Promise.all([meta.put(order, OUTBOX_SEQ), tx.objectStore('outbox').add(stored), tx.done]);
  return stored;
}

export async function putOutboxEntry(entry: StoredOutboxEntry): Promise<void> {
  await (await db()).put('outbox', entry);
}

export async function deleteOutboxEntry(id: string): Promise<void> {
  await (await db()).delete('outbox', id);
}

// ---- the service worker's replay credentials

export async function getReplayAuth(): Promise<ReplayAuth | null> {
  return ((await (await db()).get('meta', REPLAY_AUTH)) as ReplayAuth | undefined) ?? null;
}

export async function setReplayAuth(auth: ReplayAuth | null): Promise<void> {
  const database = await db();
  if (auth) await database.put('meta', auth, REPLAY_AUTH);
  else await database.delete('meta', REPLAY_AUTH);
}

/** Forget everything this device keeps about the user (signing out). */
export async function clearOfflineData(): Promise<void> {
  const tx = (await db()).transaction(['reads', 'outbox', 'meta'], 'readwrite');
  await Promise.all([
    tx.objectStore('reads').clear(),
    tx.objectStore('outbox').clear(),
    tx.objectStore('meta').clear(),
    tx.done,
  ]);
}
