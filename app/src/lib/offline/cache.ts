// Interface placeholder: the offline module replaces this file (IndexedDB behind the same signatures).

/** A read the app could answer: from the network, or from what this device saved earlier. */
export interface CachedRead<T> {
  data: T;
  /** The network failed and this came from the device's store. */
  fromCache: boolean;
  /** When this data came from the server (ms since epoch). */
  savedAt: number;
}

/**
 * Network first, falling back to the device's copy when the network fails; a successful read is saved.
 * Keys: `deals:<scope>`, `deal:<id>`, `activity:<id>`. Throws the network error when nothing is saved.
 */
export async function cachedRead<T>(_key: string, fetcher: () => Promise<T>): Promise<CachedRead<T>> {
  return { data: await fetcher(), fromCache: false, savedAt: Date.now() };
}

/** The device's copy only (for a first paint before the network answers), or null. */
export async function readSaved<T>(_key: string): Promise<CachedRead<T> | null> {
  return null;
}
