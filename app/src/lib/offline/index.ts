// Starts everything that keeps the app useful offline: the service worker (shell, saved API reads,
// Background Sync), the outbox and its replay, and the erasing of the user's data on sign-out.
import { clearSavedChats } from '#lib/assistant/saved-chats.ts';
import { type CleanupReason, session } from '#lib/state/session.svelte.ts';
import { forgetLaunch } from '#lib/telegram/launch.ts';
import { dev } from '$app/env';
import { clearOfflineData } from './db.ts';
import { followSession, outbox } from './outbox.svelte.ts';
import { APP_CODE_CACHES, type PageMessage } from './types.ts';
import { updates } from './updates.svelte.ts';

let started = false;

// From the moment the module loads: a sign-in at start (Telegram's, before startOffline runs) that
// switches accounts must already erase the previous one's data.
if (typeof window !== 'undefined') session.onSignOut(eraseUserData);

export async function startOffline(): Promise<void> {
  if (started || typeof window === 'undefined') return;
  started = true;

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

function sessionStore(): Storage | null {
  try {
    return globalThis.sessionStorage ?? null;
  } catch {
    return null;
  }
}

/**
 * Signing out (or another account signing in) erases what this device keeps about the user: saved
 * reads, the outbox and the worker's replay credentials in IndexedDB, every Cache Storage cache that
 * holds API answers, and the assistant's saved conversations. The caches of the app's own code (shell,
 * scripts, icons) hold nothing personal and stay, so the app still opens offline. Signing out also
 * forgets Telegram's launch parameters of this tab (signed init data that would sign the user back in
 * on a reload); another account signing in keeps them, they are that account's.
 */
export async function eraseUserData(reason: CleanupReason): Promise<void> {
  const tab = sessionStore();
  if (reason === 'sign-out') forgetLaunch(tab);
  clearSavedChats(tab);
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
