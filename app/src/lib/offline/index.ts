// Starts everything that keeps the app useful offline: the service worker (shell, saved API reads,
// Background Sync), the outbox and its replay, and the erasing of the user's data on sign-out.
import { session } from '#lib/state/session.svelte.ts';
import { dev } from '$app/env';
import { clearOfflineData } from './db.ts';
import { followSession, outbox } from './outbox.svelte.ts';
import { APP_CODE_CACHES, type PageMessage } from './types.ts';
import { updates } from './updates.svelte.ts';

let started = false;

export async function startOffline(): Promise<void> {
  if (started || typeof window === 'undefined') return;
  started = true;

  session.onSignOut(eraseUserData);
  outbox.listen();
  followSession();
  window.addEventListener('online', () => void outbox.replay());

  const container = navigator.serviceWorker;
  if (!container || dev) return;
  container.addEventListener('message', (event: MessageEvent<PageMessage>) => {
    if (event.data?.type === 'REPLAY_OUTBOX') void outbox.replay();
  });
  // The worker is served from the root so that its scope is the whole app.
  await updates.register('/service-worker.js').catch(() => {
    // No worker (private mode, an old browser): the app still works online, and reads still fall back
    // to IndexedDB.
  });
}

/**
 * Signing out (or another account signing in) erases what this device keeps about the user: saved
 * reads, the outbox and the worker's replay credentials in IndexedDB, and every Cache Storage cache
 * that holds API answers. The caches of the app's own code (shell, scripts, icons) hold nothing
 * personal and stay, so the app still opens offline.
 */
async function eraseUserData(): Promise<void> {
  outbox.reset();
  updates.post({ type: 'SIGNED_OUT' });
  await Promise.allSettled([
    clearOfflineData(),
    (async () => {
      if (typeof caches === 'undefined') return;
      const names = await caches.keys();
      await Promise.all(
        names
          .filter((name) => !APP_CODE_CACHES.some((prefix) => name.startsWith(prefix)))
          .map((name) => caches.delete(name)),
      );
    })(),
  ]);
}
