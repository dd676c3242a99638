import { createHash } from 'node:crypto';
import { z } from 'zod';
import { AssistantError } from './errors.ts';

/** What the API says about the caller (GET /api/auth/me); only `id` matters to the proxy. */
export const assistUserSchema = z.object({
  id: z.uuid(),
  telegramId: z.string().nullable().optional(),
  username: z.string().nullable().optional(),
  displayName: z.string().optional(),
  roles: z.array(z.string()).optional(),
});
export type AssistUser = z.infer<typeof assistUserSchema>;

export interface SessionAuth {
  /**
   * Resolves an Authorization header (`Bearer <session>` or `tma <init data>`) to its user through the
   * API, or throws a 401 AssistantError. `forwardedFor` is the client's address, for the API's limits.
   */
  authenticate(header: string | undefined, forwardedFor?: string): Promise<AssistUser>;
}

const SCHEME = /^(Bearer|tma) [\x21-\x7e]{1,8192}$/i;

const unauthenticated = (message: string) =>
  new AssistantError(401, 'invalid_api_key', message, { type: 'invalid_request_error' });

/**
 * Sessions live in the API; the proxy asks it. A positive answer is reused for a few seconds (keyed by a
 * hash of the header, so the cache holds no credential), which makes a burst of requests cost one API
 * call; concurrent first requests share that call. A refusal is never cached: signing in again must work
 * at once, and a revoked session stops working within `ttlMs`.
 */
export function createSessionAuth(opts: {
  apiUrl: string;
  ttlMs?: number;
  maxEntries?: number;
  timeoutMs?: number;
}): SessionAuth {
  const ttlMs = opts.ttlMs ?? 5000;
  const maxEntries = opts.maxEntries ?? 10_000;
  const timeoutMs = opts.timeoutMs ?? 5000;
  const cache = new Map<string, { user: AssistUser; expires: number }>();
  const inFlight = new Map<string, Promise<AssistUser>>();

  const remember = (key: string, user: AssistUser) => {
    // Map order is insertion order: the first entries are the oldest, and expired ones go first.
    if (cache.size >= maxEntries) {
      const now = Date.now();
      for (const [k, v] of cache) if (v.expires <= now) cache.delete(k);
      while (cache.size >= maxEntries) {
        const oldest = cache.keys().next().value;
        if (oldest === undefined) break;
        cache.delete(oldest);
      }
    }
    cache.set(key, { user, expires: Date.now() + ttlMs });
  };

  const ask = async (header: string, forwardedFor: string | undefined): Promise<AssistUser> => {
    let res: Response;
    try {
      res = await fetch(`${opts.apiUrl}/api/auth/me`, {
        headers: {
          authorization: header,
          accept: 'application/json',
          ...(forwardedFor ? { 'x-forwarded-for': forwardedFor } : {}),
        },
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch {
      throw new AssistantError(503, 'auth_unavailable', 'Sign-in cannot be checked right now; try again.');
    }
    if (res.status === 401 || res.status === 403) {
      await res.body?.cancel();
      throw unauthenticated('The session is invalid or expired: sign in to Amanat again.');
    }
    if (res.status === 429) {
      await res.body?.cancel();
      const retryAfter = Number(res.headers.get('retry-after'));
      throw new AssistantError(429, 'rate_limit_exceeded', 'Too many requests; slow down.', {
        ...(Number.isFinite(retryAfter) && retryAfter > 0 ? { retryAfterSec: Math.ceil(retryAfter) } : {}),
      });
    }
    if (res.status !== 200) {
      await res.body?.cancel();
      throw new AssistantError(503, 'auth_unavailable', 'Sign-in cannot be checked right now; try again.');
    }
    const parsed = assistUserSchema.safeParse(await res.json().catch(() => null));
    if (!parsed.success) {
      throw new AssistantError(502, 'auth_unavailable', 'Sign-in cannot be checked right now; try again.');
    }
    return parsed.data;
  };

  return {
    async authenticate(header, forwardedFor) {
      if (!header)
        throw unauthenticated('Send your Amanat session as the API key (Authorization: Bearer <token>).');
      if (!SCHEME.test(header)) {
        throw unauthenticated(
          'The Authorization header must be "Bearer <session token>" or "tma <init data>".',
        );
      }
      const key = createHash('sha256').update(header).digest('base64url');
      const hit = cache.get(key);
      if (hit && hit.expires > Date.now()) return hit.user;
      if (hit) cache.delete(key);
      const pending = inFlight.get(key);
      if (pending) return pending;
      const lookup = ask(header, forwardedFor)
        .then((user) => {
          remember(key, user);
          return user;
        })
        .finally(() => inFlight.delete(key));
      inFlight.set(key, lookup);
      return lookup;
    },
  };
}
