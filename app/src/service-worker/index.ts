/// <reference lib="webworker" />
// The service worker: the app shell and its code from the precache (the app opens offline), the user's
// deal reads from the network with a saved copy to fall back on, and the outbox replayed by Background
// Sync. Kit builds it as an ES module; registration is the app's (src/lib/offline/updates.svelte.ts).

import { CacheableResponsePlugin } from 'workbox-cacheable-response';
import { clientsClaim, setCacheNameDetails } from 'workbox-core';
import { ExpirationPlugin } from 'workbox-expiration';
import { cleanupOutdatedCaches, createHandlerBoundToURL, precacheAndRoute } from 'workbox-precaching';
import { NavigationRoute, registerRoute } from 'workbox-routing';
import { CacheFirst, NetworkFirst } from 'workbox-strategies';
import { createApiClient } from '#lib/api/client.ts';
import { endpoints } from '#lib/api/endpoints.ts';
import { sessionCachePlugin } from '#lib/offline/api-cache.ts';
import { getReplayAuth, listOutbox, setReplayAuth } from '#lib/offline/db.ts';
import { replayOnce, sendWith, withOutboxLock } from '#lib/offline/replay.ts';
import {
  CACHES,
  OUTBOX_CHANNEL,
  OUTBOX_SYNC_TAG,
  type OutboxBroadcast,
  type PageMessage,
  type WorkerMessage,
} from '#lib/offline/types.ts';
import { version } from '$app/env';
// Kit loads these from /_app/env.js when the worker starts: a static import of the worker's module
// graph, so it is kept with the worker (offline too) and a change of settings makes a worker update.
import { PUBLIC_API_URL, PUBLIC_ASSIST_URL, PUBLIC_DEV_SIGN_IN } from '$app/env/public';
import { assets, immutable, prerendered } from '$app/manifest';
import { self } from '$app/service-worker';

/** Background Sync's event; not in TypeScript's lib yet. */
interface SyncEvent extends ExtendableEvent {
  readonly tag: string;
}

setCacheNameDetails({ prefix: CACHES.prefix });

// ---- the app shell: precached at install, served for every navigation

/** Short, stable hash (FNV-1a) of the public settings the shell HTML inlines. */
function fingerprint(text: string): string {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193);
  return (hash >>> 0).toString(36);
}

// The shell HTML carries the build's version and the public settings inline: a new build or new
// settings (which also change env.js, so the browser installs a new worker) precache it afresh.
const shellRevision = `${version}-${fingerprint(
  JSON.stringify([PUBLIC_API_URL, PUBLIC_ASSIST_URL, PUBLIC_DEV_SIGN_IN]),
)}`;

/** Where the app lives (the worker is served from its root); Kit's manifest paths are relative to it. */
const base = self.location.pathname.split('/').slice(0, -1).join('/');

precacheAndRoute([
  // Content-hashed file names: the URL is the revision.
  ...immutable.map(({ path }) => ({ url: `${base}/${path}`, revision: null })),
  ...assets.map(({ path }) => ({ url: `${base}/${path}`, revision: version })),
  ...prerendered.map(({ path }) => ({ url: `${base}/${path}`, revision: version })),
  { url: '/', revision: shellRevision },
  { url: '/_app/version.json', revision: version },
]);
cleanupOutdatedCaches();

// The app renders in the browser, so one shell answers every page; the router takes it from there.
registerRoute(
  new NavigationRoute(createHandlerBoundToURL('/'), {
    denylist: [/^\/_app\//, /^\/api\//, /^\/(?:healthz|readyz)$/],
  }),
);

// ---- the app's code

// Precached above; this catches files of a newer build (for instance ones a waiting worker precached,
// found through `caches.match`) and anything the precache missed.
registerRoute(
  ({ url, sameOrigin }) => sameOrigin && url.pathname.startsWith('/_app/immutable/'),
  new CacheFirst({
    cacheName: CACHES.immutable,
    plugins: [
      new CacheableResponsePlugin({ statuses: [200] }),
      new ExpirationPlugin({ maxEntries: 300, purgeOnQuotaError: true }),
      {
        cachedResponseWillBeUsed: async ({ cachedResponse, request }) =>
          cachedResponse ?? (await caches.match(request)) ?? null,
      },
    ],
  }),
);

// The runtime settings: fresh when the network answers, the last copy offline.
registerRoute(
  ({ url, sameOrigin }) => sameOrigin && url.pathname === '/_app/env.js',
  new NetworkFirst({
    cacheName: CACHES.env,
    networkTimeoutSeconds: 3,
    plugins: [new CacheableResponsePlugin({ statuses: [200] })],
  }),
);

// ---- the user's reads from the API

// Network first, the saved copy after a short wait (a stalled mobile network) or a failure. Each copy is
// the signed-in session's own (the key carries a hash of its Authorization header; reads without one are
// not kept), and one served from the cache says so and since when (api-cache.ts): the page shows it as
// a saved copy, not as fresh.

const apiBase = PUBLIC_API_URL ? new URL(PUBLIC_API_URL) : null;
const apiPrefix = apiBase?.pathname.replace(/\/+$/, '') ?? '';
/** Deal lists, a deal, its activity, the asset list and the signed-in user. */
const API_READS = /^\/api\/(?:deals(?:\/[^/]+(?:\/activity)?)?|assets|auth\/me)$/;

const apiExpiration = new ExpirationPlugin({
  maxEntries: 200,
  maxAgeSeconds: 14 * 24 * 60 * 60,
  purgeOnQuotaError: true,
});

registerRoute(
  ({ url }) =>
    apiBase !== null &&
    url.origin === apiBase.origin &&
    url.pathname.startsWith(apiPrefix) &&
    API_READS.test(url.pathname.slice(apiPrefix.length)),
  new NetworkFirst({
    cacheName: CACHES.api,
    networkTimeoutSeconds: 3,
    plugins: [new CacheableResponsePlugin({ statuses: [200] }), apiExpiration, sessionCachePlugin()],
  }),
  'GET',
);

// ---- lifecycle and messages

// The first install takes the open pages at once (there is no older version to mix with); an update
// waits until the page's "Reload" sends SKIP_WAITING.
clientsClaim();

self.addEventListener('message', (event: ExtendableMessageEvent) => {
  const message = event.data as WorkerMessage | undefined;
  if (message?.type === 'SKIP_WAITING') void self.skipWaiting();
  if (message?.type === 'SIGNED_OUT') {
    // The page clears Cache Storage too; this also drops the expiration bookkeeping (deal URLs).
    event.waitUntil(apiExpiration.deleteCacheAndMetadata().then(() => caches.delete(CACHES.api)));
  }
});

// ---- the outbox, when the network is back (even with the app closed)

self.addEventListener('sync', (event: Event) => {
  const sync = event as SyncEvent;
  if (sync.tag === OUTBOX_SYNC_TAG) sync.waitUntil(replayOutbox());
});

async function replayOutbox(): Promise<void> {
  const auth = await getReplayAuth();
  if (!auth) {
    // Nothing stored for the worker to send with: the open pages replay with their own session.
    const message: PageMessage = { type: 'REPLAY_OUTBOX' };
    for (const client of await self.clients.matchAll({ type: 'window' })) client.postMessage(message);
    return;
  }
  const api = endpoints(createApiClient({ baseUrl: PUBLIC_API_URL, token: () => auth.token }));
  const result = await withOutboxLock(() => replayOnce(auth.userId, sendWith(api)));
  if (result.sent.length > 0 || result.rejected.length > 0) {
    const channel = new BroadcastChannel(OUTBOX_CHANNEL);
    const message: OutboxBroadcast = { type: 'outbox-changed', sent: result.sent };
    channel.postMessage(message);
    channel.close();
  }
  // A rejected promise makes the browser try the sync again later.
  if (result.stopped) throw new Error('The outbox could not be sent yet');
  const left = await listOutbox(auth.userId);
  if (left.every((entry) => entry.status === 'rejected')) await setReplayAuth(null);
}
