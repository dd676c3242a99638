import type { Handle } from '@sveltejs/kit/hooks';
import { connectSources } from '#lib/csp.ts';
import { PUBLIC_API_URL, PUBLIC_ASSIST_URL } from '$app/env/public';

const extraConnect = connectSources([PUBLIC_API_URL, PUBLIC_ASSIST_URL]);

/**
 * Kit writes the CSP with the hashes of its own inline scripts; the API and the assistant may live on
 * other domains that are only known when the server starts, so connect-src gets them here.
 */
export const handle: Handle = async ({ event, resolve }) => {
  const response = await resolve(event);
  const csp = response.headers.get('content-security-policy');
  if (csp) {
    response.headers.set(
      'content-security-policy',
      csp.replace(/connect-src ([^;]*)/, (_m, list: string) => `connect-src ${list} ${extraConnect}`),
    );
  }
  response.headers.set('x-content-type-options', 'nosniff');
  response.headers.set('referrer-policy', 'strict-origin-when-cross-origin');
  response.headers.set('permissions-policy', 'camera=(), microphone=(), geolocation=()');
  return response;
};
