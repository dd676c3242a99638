import type { User } from '@amanat/core/api';
import { beforeEach, describe, expect, it } from 'vitest';
import { CACHED_AT_HEADER, createApiClient } from '#lib/api/client.ts';
import { ApiError, NetworkError } from '#lib/api/errors.ts';
import { session } from '#lib/state/session.svelte.ts';
import { cachedRead, readSaved } from './cache.ts';
import { clearOfflineData } from './db.ts';

const user = (id: string): User => ({
  id,
  telegramId: '1',
  username: null,
  displayName: `User ${id}`,
  language: 'en',
  roles: [],
});
const signIn = (id: string) =>
  session.begin({
    token: `token-${id}`,
    expiresAt: new Date(Date.now() + 3_600_000).toISOString(),
    user: user(id),
  });

const ALICE = '00000000-0000-4000-8000-00000000000a';
const BOB = '00000000-0000-4000-8000-00000000000b';
const offline = () => Promise.reject(new NetworkError(new TypeError('Failed to fetch')));

beforeEach(async () => {
  await clearOfflineData();
  await signIn(ALICE);
});

describe('cachedRead', () => {
  it('answers from the network and saves the answer', async () => {
    const read = await cachedRead('deal:1', async () => ({ title: 'Bike' }));
    expect(read).toMatchObject({ data: { title: 'Bike' }, fromCache: false });
    expect(await readSaved('deal:1')).toEqual({
      data: { title: 'Bike' },
      fromCache: true,
      savedAt: read.savedAt,
    });
  });

  it('falls back to the saved copy when the network fails', async () => {
    const first = await cachedRead('deals:mine', async () => ['a', 'b']);
    const second = await cachedRead('deals:mine', offline);
    expect(second).toEqual({ data: ['a', 'b'], fromCache: true, savedAt: first.savedAt });
  });

  it('throws the network error when nothing is saved', async () => {
    await expect(cachedRead('deal:2', offline)).rejects.toBeInstanceOf(NetworkError);
  });

  it('does not fall back on an answer that says no', async () => {
    await cachedRead('deals:mine', async () => ['a']);
    const failure = new ApiError(500, 'internal', 'Something went wrong');
    await expect(cachedRead('deals:mine', () => Promise.reject(failure))).rejects.toBe(failure);
    // The saved copy is still there for a later network failure.
    expect((await readSaved('deals:mine'))?.data).toEqual(['a']);
  });

  it('forgets a deal the API no longer shows (404, 403)', async () => {
    await cachedRead('deal:7', async () => ({ id: '7' }));
    await cachedRead('activity:7', async () => ({ entries: [] }));
    await cachedRead('deal:8', async () => ({ id: '8' }));
    const gone = new ApiError(404, 'deal_not_found', 'No such deal');
    await expect(cachedRead('deal:7', () => Promise.reject(gone))).rejects.toBe(gone);
    expect(await readSaved('deal:7')).toBeNull();
    expect(await readSaved('activity:7')).toBeNull();

    const forbidden = new ApiError(403, 'forbidden', 'Not yours');
    await expect(cachedRead('activity:8', () => Promise.reject(forbidden))).rejects.toBe(forbidden);
    expect(await readSaved('deal:8')).toBeNull();
  });

  it("never returns another user's saved data", async () => {
    await cachedRead('deals:mine', async () => ['alice-deal']);
    await signIn(BOB);
    expect(await readSaved('deals:mine')).toBeNull();
    await expect(cachedRead('deals:mine', offline)).rejects.toBeInstanceOf(NetworkError);
    await signIn(ALICE);
    expect((await readSaved('deals:mine'))?.data).toEqual(['alice-deal']);
  });

  describe("the service worker's saved copy", () => {
    /** The API client as the page has it, behind a worker that answers with `response`. */
    const clientAnswering = (response: () => Response) =>
      createApiClient({
        baseUrl: 'https://api.example',
        token: () => 'token',
        fetch: async () => response(),
      });
    const fromWorker = (body: unknown, storedAt: string) => () =>
      new Response(JSON.stringify(body), {
        headers: { 'content-type': 'application/json', [CACHED_AT_HEADER]: storedAt },
      });
    const STORED_AT = '2025-03-01T10:00:00.000Z';

    it('is shown as saved, with the date the worker stored it, and not saved again as fresh', async () => {
      const client = clientAnswering(fromWorker(['old'], STORED_AT));
      const read = await cachedRead('deals:mine', () => client.request<string[]>('/api/deals'));
      expect(read).toEqual({ data: ['old'], fromCache: true, savedAt: Date.parse(STORED_AT) });
      expect(await readSaved('deals:mine')).toBeNull();
    });

    it("gives way to the device's own copy when that is newer", async () => {
      const fresh = await cachedRead('deals:mine', async () => ['newer']);
      const client = clientAnswering(fromWorker(['old'], STORED_AT));
      const read = await cachedRead('deals:mine', () => client.request<string[]>('/api/deals'));
      expect(read).toEqual({ data: ['newer'], fromCache: true, savedAt: fresh.savedAt });
    });

    it('leaves a network answer fresh', async () => {
      const client = clientAnswering(() => Response.json(['live']));
      const read = await cachedRead('deals:mine', () => client.request<string[]>('/api/deals'));
      expect(read).toMatchObject({ data: ['live'], fromCache: false });
      expect((await readSaved('deals:mine'))?.data).toEqual(['live']);
    });
  });
});
