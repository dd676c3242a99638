import { network } from '#lib/state/network.svelte.ts';
import { session } from '#lib/state/session.svelte.ts';
import { PUBLIC_API_URL } from '$app/env/public';
import { createLiveClient, type LiveSignal, liveUrl } from './client.ts';

export { isResync, type LiveSignal, type ResyncSignal } from './client.ts';

/** Whether deal events arrive live; screens poll while it is false. */
class LiveState {
  connected = $state(false);
}
export const live = new LiveState();

const client = createLiveClient({
  url: () => liveUrl(PUBLIC_API_URL),
  token: () => session.token,
  onSessionInvalid: () => session.expire(),
  onConnectedChange: (connected) => {
    live.connected = connected;
  },
});

session.onSignOut(() => client.stop());
// A new session (sign-in, another account) gets its own socket; no session, no socket.
$effect.root(() => {
  $effect(() => {
    const token = session.token;
    client.stop();
    if (token) client.wake();
  });
});
if (typeof window !== 'undefined') {
  // Back online, or back in the foreground: try now instead of waiting out the backoff.
  window.addEventListener('online', () => client.wake());
  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'visible' && network.online) client.wake();
  });
}

/**
 * Deal events for the signed-in user, each once, plus a `{ kind: 'resync' }` signal when some may have
 * been missed (refetch what you show). Returns the unsubscribe function; one socket serves everyone.
 */
export function subscribeDealEvents(onEvent: (signal: LiveSignal) => void): () => void {
  return client.subscribe(onEvent);
}
