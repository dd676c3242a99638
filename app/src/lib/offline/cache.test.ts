import type { User } from '@amanat/core/api';
import { beforeEach, describe, expect, it } from 'vitest';
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
  signIn(ALICE);
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
    signIn(BOB);
    expect(await readSaved('deals:mine')).toBeNull();
    await expect(cachedRead('deals:mine', offline)).rejects.toBeInstanceOf(NetworkError);
    signIn(ALICE);
    expect((await readSaved('deals:mine'))?.data).toEqual(['alice-deal']);
  });
});
