// How the service worker keeps the user's API reads: one copy per signed-in session (never another
// user's answer for this one), each stamped with when it was stored, and marked as the saved copy when it
// is served instead of the network's answer. Pure functions and a Workbox plugin, so the worker uses them
// and tests check them without a worker.
import type { WorkboxPlugin } from 'workbox-core';
import { CACHED_AT_HEADER } from '#lib/api/client.ts';

/** The query parameter of the cache key that names whose answer it is. */
export const CACHE_USER_PARAM = 'amanat-user';
/** Requests without a session: a key under which nothing is ever stored. */
const NO_SESSION = 'none';

/** SHA-256 of the Authorization header in hex: the key names the session without holding its token. */
export async function sessionHash(authorization: string): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(authorization));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('');
}

/** The cache key of a read: its URL with the session's hash; requests without one share a key never stored. */
export async function cacheKeyFor(url: string, authorization: string | null): Promise<string> {
  const key = new URL(url);
  key.searchParams.set(CACHE_USER_PARAM, authorization ? await sessionHash(authorization) : NO_SESSION);
  return key.href;
}

/** A copy of a response with its headers changed (the body is read once, by whoever uses the copy). */
function withHeaders(response: Response, change: (headers: Headers) => void): Response {
  const headers = new Headers(response.headers);
  change(headers);
  return new Response(response.body, { status: response.status, statusText: response.statusText, headers });
}

/** The response as it goes into the cache: stamped with when it was stored. */
export function stampStored(response: Response, now: Date): Response {
  return withHeaders(response, (headers) => headers.set(CACHED_AT_HEADER, now.toISOString()));
}

/**
 * The stored response as the page gets it: the stamp stays and is readable by the page (the API is on
 * another origin, and a cross-origin page only sees the headers a response exposes). A response without
 * a stamp is not served: nobody could tell how old it is.
 */
export function markServedFromCache(cached: Response): Response | null {
  if (!Number.isFinite(Date.parse(cached.headers.get(CACHED_AT_HEADER) ?? ''))) return null;
  return withHeaders(cached, (headers) => {
    const exposed = headers.get('access-control-expose-headers');
    const names = exposed ? exposed.split(',').map((name) => name.trim().toLowerCase()) : [];
    if (!names.includes(CACHED_AT_HEADER) && !names.includes('*')) {
      headers.set('access-control-expose-headers', [...names, CACHED_AT_HEADER].join(', '));
    }
  });
}

/**
 * The Workbox plugin of the API reads route: a cache key per session, only requests with a session
 * stored, stamped when stored and marked when served.
 */
export function sessionCachePlugin(now: () => Date = () => new Date()): WorkboxPlugin {
  return {
    cacheKeyWillBeUsed: async ({ request }) => cacheKeyFor(request.url, request.headers.get('authorization')),
    cacheWillUpdate: async ({ request, response }) =>
      request.headers.has('authorization') ? stampStored(response, now()) : null,
    cachedResponseWillBeUsed: async ({ cachedResponse }) =>
      cachedResponse ? markServedFromCache(cachedResponse) : null,
  };
}
