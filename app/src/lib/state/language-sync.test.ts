import type { User } from '@amanat/core/api';
import { describe, expect, it, vi } from 'vitest';
import { LanguageSync } from './language-sync.svelte.ts';

const user = (language: User['language']): User => ({
  id: 'u-1',
  telegramId: '42',
  username: null,
  displayName: 'Ann',
  language,
  roles: [],
});

class NetworkDown extends Error {}

function setup(online: { value: boolean }, save: (l: User['language']) => Promise<User>) {
  localStorage.clear();
  const setLocale = vi.fn();
  const updateUser = vi.fn();
  const sync = new LanguageSync({
    setLocale,
    save,
    updateUser,
    userId: () => 'u-1',
    online: () => online.value,
    isNetworkError: (err) => err instanceof NetworkDown,
    storage: localStorage,
  });
  return { sync, setLocale, updateUser };
}

describe('LanguageSync', () => {
  it('switches the app and saves the language to the account', async () => {
    const save = vi.fn(async (l: User['language']) => user(l));
    const { sync, setLocale, updateUser } = setup({ value: true }, save);
    await sync.choose('ru');
    expect(setLocale).toHaveBeenCalledWith('ru');
    expect(save).toHaveBeenCalledWith('ru');
    expect(updateUser).toHaveBeenCalledWith(user('ru'));
    expect(sync.status).toEqual({ kind: 'saved' });
  });

  it('offline: changes locally, says so, and saves once back online', async () => {
    const online = { value: false };
    const save = vi.fn(async (l: User['language']) => user(l));
    const { sync, setLocale, updateUser } = setup(online, save);
    await sync.choose('ru');
    expect(setLocale).toHaveBeenCalledWith('ru');
    expect(save).not.toHaveBeenCalled();
    expect(sync.status).toEqual({ kind: 'pending' });

    online.value = true;
    await sync.retry();
    expect(save).toHaveBeenCalledWith('ru');
    expect(updateUser).toHaveBeenCalledWith(user('ru'));
    expect(sync.status).toEqual({ kind: 'saved' });
    // Nothing is left to send.
    await sync.retry();
    expect(save).toHaveBeenCalledTimes(1);
  });

  it('keeps the change when the request never got an answer, and drops it when the API refused', async () => {
    const save = vi.fn<(l: User['language']) => Promise<User>>(async () => {
      throw new NetworkDown();
    });
    const { sync } = setup({ value: true }, save);
    await sync.choose('en');
    expect(sync.status).toEqual({ kind: 'pending' });

    save.mockRejectedValueOnce(new Error('Invalid language'));
    await sync.retry();
    expect(sync.status).toEqual({ kind: 'failed', message: 'Invalid language' });
    await sync.retry();
    expect(save).toHaveBeenCalledTimes(2);
  });
});
