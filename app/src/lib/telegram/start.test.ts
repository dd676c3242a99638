import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { mockLaunchQuery } from './mock.ts';

const env = vi.hoisted(() => ({ devSignIn: false }));
vi.mock('$app/env/public', () => ({
  PUBLIC_API_URL: 'http://api.test',
  PUBLIC_ASSIST_URL: '',
  get PUBLIC_DEV_SIGN_IN() {
    return env.devSignIn;
  },
}));
vi.mock('$app/navigation', () => ({ goto: vi.fn() }));
vi.mock('$app/state', () => ({ page: { url: new URL('http://app.test/') } }));

// Someone's valid init data, as an attacker would put it into a link.
const initData = `auth_date=1700000000&user=${encodeURIComponent('{"id":66,"first_name":"Mallory"}')}&hash=${'b'.repeat(64)}`;
const malloryUser = {
  id: '00000000-0000-4000-8000-000000000066',
  telegramId: '66',
  username: null,
  displayName: 'Mallory',
  language: 'en',
  roles: [],
};

/** A fresh page load: the module keeps its start per page. */
async function load() {
  vi.resetModules();
  const telegram = await import('./index.svelte.ts');
  const { session } = await import('#lib/state/session.svelte.ts');
  return { ...telegram, session };
}

let requests: string[];

beforeEach(() => {
  requests = [];
  vi.stubGlobal(
    'fetch',
    vi.fn(async (input: RequestInfo | URL) => {
      requests.push(new URL(String(input)).pathname);
      return Response.json({
        token: 'mallory-token',
        expiresAt: new Date(Date.now() + 3_600_000).toISOString(),
        user: malloryUser,
      });
    }),
  );
  history.replaceState(null, '', `/#${mockLaunchQuery(initData)}`);
});

afterEach(() => {
  vi.unstubAllGlobals();
  history.replaceState(null, '', '/');
  sessionStorage.clear();
  localStorage.clear();
});

describe('launch parameters outside a Telegram client', () => {
  it('are ignored where development sign-in is off: the app runs as the web app', async () => {
    env.devSignIn = false;
    const { startTelegram, telegram, session } = await load();
    expect(await startTelegram()).toBeNull();
    expect(telegram.active).toBe(false);
    expect(requests).toEqual([]);
    expect(session.signedIn).toBe(false);
    expect(sessionStorage.length).toBe(0);
  });

  it('open the mocked Mini App where development sign-in is on (development, tests)', async () => {
    env.devSignIn = true;
    const { startTelegram, telegram, session } = await load();
    expect(await startTelegram()).toEqual({ startParam: null });
    expect(telegram.active).toBe(true);
    expect(requests).toEqual(['/api/auth/telegram']);
    expect(session.user?.id).toBe(malloryUser.id);
  });
});
