import { PUBLIC_API_URL } from '$app/env/public';
import { session } from '../state/session.svelte.ts';
import { createApiClient } from './client.ts';
import { endpoints } from './endpoints.ts';

/** The app's one API client: it carries the session and drops it when the API no longer accepts it. */
export const api = endpoints(
  createApiClient({
    baseUrl: PUBLIC_API_URL,
    token: () => session.token,
    onUnauthorized: () => session.expire(),
  }),
);
export { ApiError, isApiError, isNetworkError, NetworkError } from './errors.ts';
