import { ApiError, NetworkError } from './errors.ts';

export interface RequestOptions {
  method?: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  body?: unknown;
  query?: Record<string, string | number | undefined>;
  /** Makes a retried write happen once: the API answers a repeat with the first answer. */
  idempotencyKey?: string;
  headers?: Record<string, string>;
  signal?: AbortSignal;
  /** Send the session (default). */
  auth?: boolean;
}

export interface ApiClientOptions {
  baseUrl: string;
  token: () => string | null;
  /** The API said the session is no longer valid (401 on an authenticated call). */
  onUnauthorized?: () => void;
  fetch?: typeof fetch;
}

export interface ApiClient {
  readonly baseUrl: string;
  request<T>(path: string, options?: RequestOptions): Promise<T>;
}

/**
 * The service worker's mark on an answer it served from its cache rather than the network: when it stored
 * that answer (an ISO date). The page must not take such an answer for a fresh one.
 */
export const CACHED_AT_HEADER = 'x-amanat-cached-at';

/** What the app knows about how an answer arrived, beyond its body. */
export interface ResponseMeta {
  /** When the service worker stored the answer it served instead of the network's (ms since epoch). */
  cachedAt: number | null;
}

const FRESH: ResponseMeta = { cachedAt: null };
const metas = new WeakMap<object, ResponseMeta>();

/** How the answer `data` (as `request` returned it) arrived; fresh unless the worker says otherwise. */
export function responseMeta(data: unknown): ResponseMeta {
  return (typeof data === 'object' && data !== null && metas.get(data)) || FRESH;
}

function cachedAtOf(res: Response): number | null {
  const at = Date.parse(res.headers.get(CACHED_AT_HEADER) ?? '');
  return Number.isFinite(at) ? at : null;
}

/** How long a request may take before it counts as a network failure (mobile networks stall). */
const TIMEOUT_MS = 15_000;

export function createApiClient(options: ApiClientOptions): ApiClient {
  const baseUrl = options.baseUrl.replace(/\/+$/, '');
  const doFetch = options.fetch ?? ((input, init) => fetch(input, init));

  async function request<T>(path: string, req: RequestOptions = {}): Promise<T> {
    const url = new URL(baseUrl + path);
    for (const [k, v] of Object.entries(req.query ?? {}))
      if (v !== undefined) url.searchParams.set(k, String(v));
    const headers: Record<string, string> = { accept: 'application/json', ...req.headers };
    const token = req.auth === false ? null : options.token();
    if (token) headers.authorization = `Bearer ${token}`;
    if (req.idempotencyKey) headers['idempotency-key'] = req.idempotencyKey;
    let body: string | undefined;
    if (req.body !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(req.body);
    }
    const timeout = AbortSignal.timeout(TIMEOUT_MS);
    let res: Response;
    try {
      res = await doFetch(url, {
        method: req.method ?? (body === undefined ? 'GET' : 'POST'),
        headers,
        ...(body === undefined ? {} : { body }),
        signal: req.signal ? AbortSignal.any([req.signal, timeout]) : timeout,
        credentials: 'omit',
      });
    } catch (err) {
      if (req.signal?.aborted) throw err;
      throw new NetworkError(err);
    }
    if (res.status === 204) return null as T;
    const text = await res.text();
    let json: unknown = null;
    try {
      json = text ? JSON.parse(text) : null;
    } catch {
      json = null;
    }
    if (res.ok) {
      const cachedAt = cachedAtOf(res);
      if (cachedAt !== null && typeof json === 'object' && json !== null) metas.set(json, { cachedAt });
      return json as T;
    }
    const problem = (json ?? {}) as {
      code?: string;
      detail?: string;
      title?: string;
      errors?: ApiError['fields'];
    };
    if (res.status === 401 && token) options.onUnauthorized?.();
    const retryAfter = Number(res.headers.get('retry-after'));
    throw new ApiError(
      res.status,
      problem.code ?? `http_${res.status}`,
      problem.detail ?? problem.title ?? res.statusText ?? 'Request failed',
      problem.errors ?? [],
      Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter : null,
    );
  }

  return { baseUrl, request };
}
