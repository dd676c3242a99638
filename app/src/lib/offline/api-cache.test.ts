import { describe, expect, it } from 'vitest';
import { CACHED_AT_HEADER } from '#lib/api/client.ts';
import {
  CACHE_USER_PARAM,
  cacheKeyFor,
  markServedFromCache,
  sessionCachePlugin,
  sessionHash,
  stampStored,
} from './api-cache.ts';

const DEALS = 'https://api.example/api/deals?scope=mine';
const ALICE = 'Bearer alice-token';
const BOB = 'Bearer bob-token';
const STORED_AT = new Date('2025-03-01T10:00:00.000Z');

const read = (authorization?: string) =>
  new Request(DEALS, authorization ? { headers: { authorization } } : {});
const answer = (body: unknown, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), {
    status: 200,
    headers: { 'content-type': 'application/json', ...headers },
  });

// The callbacks take Workbox's full parameters; these tests pass what the plugin reads.
type Param<K extends keyof ReturnType<typeof sessionCachePlugin>> = Parameters<
  NonNullable<ReturnType<typeof sessionCachePlugin>[K]>
>[0];
const event = {} as Param<'cacheWillUpdate'>['event'];

describe('cache keys', () => {
  it('name the session by a hash of its Authorization header, never the token', async () => {
    const key = await cacheKeyFor(DEALS, ALICE);
    const url = new URL(key);
    expect(url.searchParams.get('scope')).toBe('mine');
    expect(url.searchParams.get(CACHE_USER_PARAM)).toBe(await sessionHash(ALICE));
    expect(url.searchParams.get(CACHE_USER_PARAM)).toMatch(/^[0-9a-f]{64}$/);
    expect(key).not.toContain('alice-token');
  });

  it('differ between users, and are stable for one', async () => {
    expect(await cacheKeyFor(DEALS, ALICE)).toBe(await cacheKeyFor(DEALS, ALICE));
    expect(await cacheKeyFor(DEALS, ALICE)).not.toBe(await cacheKeyFor(DEALS, BOB));
    expect(await cacheKeyFor(DEALS, null)).not.toBe(await cacheKeyFor(DEALS, ALICE));
  });

  it('are what the plugin gives Workbox for reads and writes', async () => {
    const plugin = sessionCachePlugin();
    for (const mode of ['read', 'write']) {
      const key = await plugin.cacheKeyWillBeUsed?.({
        mode,
        request: read(ALICE),
        event,
      } as Param<'cacheKeyWillBeUsed'>);
      expect(key).toBe(await cacheKeyFor(DEALS, ALICE));
    }
  });
});

describe('storing', () => {
  it('stamps the stored copy with when it was stored, body and status unchanged', async () => {
    const stored = stampStored(answer(['deal'], { 'x-other': '1' }), STORED_AT);
    expect(stored.status).toBe(200);
    expect(stored.headers.get(CACHED_AT_HEADER)).toBe(STORED_AT.toISOString());
    expect(stored.headers.get('x-other')).toBe('1');
    expect(await stored.json()).toEqual(['deal']);
  });

  it('keeps nothing read without a session', async () => {
    const plugin = sessionCachePlugin(() => STORED_AT);
    const param = (request: Request) => ({ request, response: answer(['deal']), event });
    expect(await plugin.cacheWillUpdate?.(param(read()))).toBeNull();
    const stored = await plugin.cacheWillUpdate?.(param(read(ALICE)));
    expect(stored?.headers.get(CACHED_AT_HEADER)).toBe(STORED_AT.toISOString());
  });
});

describe('serving the stored copy', () => {
  it('keeps the stamp and lets a cross-origin page read it', async () => {
    const served = markServedFromCache(stampStored(answer(['deal']), STORED_AT));
    expect(served?.headers.get(CACHED_AT_HEADER)).toBe(STORED_AT.toISOString());
    expect(served?.headers.get('access-control-expose-headers')).toBe(CACHED_AT_HEADER);
    expect(await served?.json()).toEqual(['deal']);
  });

  it('adds to the headers the API already exposes', () => {
    const cached = stampStored(answer([], { 'access-control-expose-headers': 'Retry-After' }), STORED_AT);
    expect(markServedFromCache(cached)?.headers.get('access-control-expose-headers')).toBe(
      `retry-after, ${CACHED_AT_HEADER}`,
    );
  });

  it('does not serve a copy without a stamp (its age is unknown)', async () => {
    expect(markServedFromCache(answer(['deal']))).toBeNull();
    const plugin = sessionCachePlugin();
    const param = (cachedResponse?: Response) =>
      ({
        cacheName: 'amanat-api',
        request: read(ALICE),
        cachedResponse,
        event,
      }) as Param<'cachedResponseWillBeUsed'>;
    expect(await plugin.cachedResponseWillBeUsed?.(param(answer(['deal'])))).toBeNull();
    expect(await plugin.cachedResponseWillBeUsed?.(param(undefined))).toBeNull();
    const served = await plugin.cachedResponseWillBeUsed?.(param(stampStored(answer(['deal']), STORED_AT)));
    expect(served?.headers.get(CACHED_AT_HEADER)).toBe(STORED_AT.toISOString());
  });
});
