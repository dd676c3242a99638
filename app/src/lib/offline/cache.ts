// Reads that still answer offline: the network first, the device's copy (IndexedDB) when it fails.
import { responseMeta } from '#lib/api/client.ts';
import { ApiError, NetworkError } from '#lib/api/errors.ts';
import { session } from '#lib/state/session.svelte.ts';
import { deleteReads, getRead, putRead } from './db.ts';

/** A read the app could answer: from the network, or from what this device saved earlier. */
export interface CachedRead<T> {
  data: T;
  /** Not the network's answer now: the device's store, or the service worker's saved copy. */
  fromCache: boolean;
  /** When this data came from the server (ms since epoch). */
  savedAt: number;
}

const currentUserId = () => session.user?.id ?? null;

/**
 * Network first, falling back to the device's copy when the network fails; a fresh read is saved.
 * Keys: `deals:<scope>`, `deal:<id>`, `activity:<id>`. Throws the network error when nothing is saved.
 * Only a network failure falls back: an answer that says no (403, 404, 5xx) is thrown, and a deal the
 * user may no longer see (403/404) is also forgotten here.
 */
export async function cachedRead<T>(key: string, fetcher: () => Promise<T>): Promise<CachedRead<T>> {
  const userId = currentUserId();
  let data: T;
  try {
    data = await fetcher();
  } catch (err) {
    if (err instanceof ApiError && (err.status === 403 || err.status === 404)) await forgetDeal(key);
    if (!(err instanceof NetworkError)) throw err;
    const saved = await readSaved<T>(key);
    if (!saved) throw err;
    return saved;
  }
  // The service worker answered with its saved copy (the network failed or was too slow): show it as
  // saved, with its own date, and keep the device's copy as it is. The device's copy wins if newer.
  const { cachedAt } = responseMeta(data);
  if (cachedAt !== null) {
    const saved = await readSaved<T>(key);
    return saved && saved.savedAt > cachedAt ? saved : { data, fromCache: true, savedAt: cachedAt };
  }
  const savedAt = Date.now();
  await putRead(key, data, userId, savedAt).catch(() => {
    // No IndexedDB (private mode, quota): the read still answers, it just is not kept.
  });
  return { data, fromCache: false, savedAt };
}

/** The device's copy only (for a first paint before the network answers), or null. */
export async function readSaved<T>(key: string): Promise<CachedRead<T> | null> {
  try {
    const saved = await getRead(key, currentUserId());
    return saved ? { data: saved.data as T, fromCache: true, savedAt: saved.savedAt } : null;
  } catch {
    return null;
  }
}

/** A deal the API no longer shows this user: drop its saved detail and activity. */
async function forgetDeal(key: string): Promise<void> {
  const id = key.match(/^(?:deal|activity):(.+)$/)?.[1];
  if (!id) return;
  await deleteReads([`deal:${id}`, `activity:${id}`]).catch(() => {});
}
