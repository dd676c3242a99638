import type { Session } from '@amanat/core/api';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { session } from '#lib/state/session.svelte.ts';
import { LAUNCH_STORAGE_KEY } from '#lib/telegram/launch.ts';
import { cachedRead } from './cache.ts';
import { addOutboxEntry, clearOfflineData, getRead, getReplayAuth, listOutbox, setReplayAuth } from './db.ts';
// Loading the module registers the erasing of the user's data with the session.
import './index.ts';

const ALICE = '00000000-0000-4000-8000-00000000000a';
const BOB = '00000000-0000-4000-8000-00000000000b';

const sessionOf = (id: string): Session => ({
  token: `token-${id}`,
  expiresAt: new Date(Date.now() + 3_600_000).toISOString(),
  user: { id, telegramId: '1', username: null, displayName: id, language: 'en', roles: [] },
});

/** Cache Storage as the page sees it (jsdom has none): the names are what the erasing looks at. */
function cacheStorage(names: string[]) {
  const open = new Set(names);
  vi.stubGlobal('caches', {
    keys: async () => [...open],
    delete: async (name: string) => open.delete(name),
  });
  return open;
}

/** Alice uses the app: a saved read, a queued action with the worker's credentials, the worker's cache. */
async function aliceLeavesData(): Promise<Set<string>> {
  await session.begin(sessionOf(ALICE));
  await cachedRead('deals:mine', async () => ['alice-deal']);
  await addOutboxEntry(
    {
      id: 'entry-1',
      idempotencyKey: 'key-1',
      item: { kind: 'disputeMessage', dealId: 'd1', text: 'hello' },
      createdAt: Date.now(),
      status: 'queued',
    },
    ALICE,
  );
  await setReplayAuth({ userId: ALICE, token: `token-${ALICE}` });
  return cacheStorage(['amanat-api', 'amanat-precache-v2-http://app.test/', 'amanat-immutable']);
}

beforeEach(async () => {
  await session.signOut();
  await clearOfflineData();
  sessionStorage.clear();
});

afterEach(() => {
  vi.unstubAllGlobals();
});

describe("another user's data", () => {
  it('is erased before the next user signs in, also after the first session expired', async () => {
    const caches = await aliceLeavesData();
    session.expire();
    expect(session.signedIn).toBe(false);

    await session.begin(sessionOf(BOB));
    expect(session.user?.id).toBe(BOB);
    expect(await getRead('deals:mine', ALICE)).toBeNull();
    expect(await listOutbox(ALICE)).toEqual([]);
    expect(await getReplayAuth()).toBeNull();
    // The API answers go; the app's own code stays, so it still opens offline.
    expect([...caches].sort()).toEqual(['amanat-immutable', 'amanat-precache-v2-http://app.test/']);
  });

  it('stays when the same user signs in again after the session expired', async () => {
    const caches = await aliceLeavesData();
    session.expire();
    await session.begin(sessionOf(ALICE));
    expect((await getRead('deals:mine', ALICE))?.data).toEqual(['alice-deal']);
    expect(await listOutbox(ALICE)).toHaveLength(1);
    expect(caches.has('amanat-api')).toBe(true);
  });

  it('is erased before the new session is stored: nothing reads it as the new user', async () => {
    await aliceLeavesData();
    const seen: Array<string | null> = [];
    session.onSignOut(() => {
      seen.push(session.user?.id ?? null);
    });
    await session.begin(sessionOf(BOB));
    expect(seen).toEqual([null]);
  });
});

describe('signing out', () => {
  it("also forgets this tab's Telegram launch, so a reload does not sign back in", async () => {
    await aliceLeavesData();
    sessionStorage.setItem(
      LAUNCH_STORAGE_KEY,
      'tgWebAppData=x&tgWebAppVersion=8.0&tgWebAppPlatform=tdesktop',
    );
    sessionStorage.setItem(
      'tapps/launchParams',
      '"tgWebAppData=x&tgWebAppVersion=8.0&tgWebAppPlatform=tdesktop"',
    );
    sessionStorage.setItem('amanat.assistant.alice', '[]');
    await session.signOut();
    expect(sessionStorage.getItem(LAUNCH_STORAGE_KEY)).toBeNull();
    expect(sessionStorage.getItem('tapps/launchParams')).toBeNull();
    expect(sessionStorage.getItem('amanat.assistant.alice')).toBeNull();
    expect(localStorage.getItem('amanat.lastUser')).toBeNull();
    expect(await getRead('deals:mine', ALICE)).toBeNull();
  });

  it('keeps the launch when another account signs in (it is that account’s)', async () => {
    await aliceLeavesData();
    sessionStorage.setItem(
      LAUNCH_STORAGE_KEY,
      'tgWebAppData=x&tgWebAppVersion=8.0&tgWebAppPlatform=tdesktop',
    );
    await session.begin(sessionOf(BOB));
    expect(sessionStorage.getItem(LAUNCH_STORAGE_KEY)).not.toBeNull();
  });
});
