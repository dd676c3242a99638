import { cleanup, fireEvent, render, screen } from '@testing-library/svelte';
import { afterEach, describe, expect, it, vi } from 'vitest';

vi.hoisted(() => {
  Object.assign(globalThis, {
    __sveltekit_dev: {
      env: { PUBLIC_API_URL: 'http://api.test', PUBLIC_ASSIST_URL: '', PUBLIC_DEV_SIGN_IN: true },
    },
  });
});
const { goto } = vi.hoisted(() => ({ goto: vi.fn(async () => {}) }));
vi.mock('$app/navigation', () => ({ goto }));
vi.mock('$app/state', () => ({
  page: { params: {}, url: new URL('http://app.test/login?next=%2Fdeals%2Fabc') },
}));

const { default: Page } = await import('./+page.svelte');
const { primaryAction } = await import('#lib/state/primary-action.svelte.ts');
const { session } = await import('#lib/state/session.svelte.ts');
const { telegram } = await import('#lib/telegram/index.svelte.ts');

const json = (status: number, body: unknown) =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });
const user = {
  id: '00000000-0000-4000-8000-000000000001',
  telegramId: '1',
  username: null,
  displayName: 'Olga',
  language: 'en',
  roles: ['operator'],
};
const link = {
  nonce: 'n'.repeat(32),
  pollSecret: 'secret-1',
  link: `https://t.me/amanat_bot?start=login_${'n'.repeat(32)}`,
  expiresAt: new Date(Date.now() + 600_000).toISOString(),
};

afterEach(async () => {
  cleanup();
  vi.unstubAllGlobals();
  goto.mockClear();
  telegram.active = false;
  telegram.signInError = null;
  await session.signOut();
});

describe('login screen', () => {
  it('shows the Telegram link and a QR code, polls with the secret, and says when the user declined', async () => {
    const calls: Array<{ url: string; init: RequestInit }> = [];
    vi.stubGlobal(
      'fetch',
      vi.fn(async (input: URL | string, init: RequestInit = {}) => {
        calls.push({ url: String(input), init });
        return String(input).endsWith('/api/auth/login-link')
          ? json(200, link)
          : json(403, { code: 'login_link_declined', detail: 'Declined' });
      }),
    );
    render(Page);
    expect(primaryAction.current?.label).toBe('Sign in with Telegram');
    await primaryAction.trigger();

    const open = await screen.findByRole('link', { name: 'Open Telegram to confirm' });
    expect(open.getAttribute('href')).toBe(link.link);
    expect(screen.getByAltText('QR code of the sign-in link for Telegram').getAttribute('src')).toMatch(
      /^data:image\/svg\+xml/,
    );
    expect(JSON.parse(String(calls[0]?.init.body))).toEqual({ device: expect.any(String) });

    await screen.findByText('You declined this sign-in in Telegram.', {}, { timeout: 5000 });
    const poll = calls[1];
    expect(poll?.url).toBe(`http://api.test/api/auth/login-link/${link.nonce}`);
    expect((poll?.init.headers as Record<string, string> | undefined)?.['x-poll-secret']).toBe('secret-1');
    expect(primaryAction.current?.label).toBe('Get a new link');
  });

  it('signs in when confirmed and goes to the page the user came for', async () => {
    vi.stubGlobal(
      'fetch',
      vi.fn(async (input: URL | string) =>
        String(input).endsWith('/api/auth/login-link')
          ? json(200, link)
          : json(200, { status: 'confirmed', token: 'tok', expiresAt: link.expiresAt, user }),
      ),
    );
    render(Page);
    await primaryAction.trigger();
    await screen.findByText('Signed in. Opening Amanat…', {}, { timeout: 5000 });
    expect(session.token).toBe('tok');
    expect(goto).toHaveBeenCalledWith('/deals/abc', { replaceState: true });
  });

  it('offers development sign-in as operator', async () => {
    const fetchMock = vi.fn(async () =>
      json(200, { token: 'dev', expiresAt: link.expiresAt, user, initData: 'x' }),
    );
    vi.stubGlobal('fetch', fetchMock);
    render(Page);
    await fireEvent.click(screen.getByRole('button', { name: 'Sign in as operator (id 1)' }));
    await vi.waitFor(() => expect(session.isOperator).toBe(true));
    expect(JSON.parse(String((fetchMock.mock.calls[0] as unknown as [string, RequestInit])[1].body))).toEqual(
      {
        telegramId: 1,
      },
    );
    expect(goto).toHaveBeenCalledWith('/deals/abc', { replaceState: true });
  });

  it('explains a refused Telegram sign-in inside Telegram and offers no browser link there', async () => {
    const fetchMock = vi.fn(async () =>
      json(200, { token: 'dev', expiresAt: link.expiresAt, user, initData: 'x' }),
    );
    vi.stubGlobal('fetch', fetchMock);
    telegram.active = true;
    telegram.signInError = { code: 'init_data_expired', message: 'Init data expired' };
    render(Page);
    expect(screen.getByRole('alert').textContent).toBe(
      'Telegram’s sign-in data has expired. Close the app and open it again from the bot.',
    );
    expect(screen.getByText(/open the app again from the bot’s menu button/)).toBeTruthy();
    // No "Sign in with Telegram" link flow inside Telegram: nothing for its main button to start.
    expect(primaryAction.current).toBeNull();
    expect(fetchMock).not.toHaveBeenCalled();
    // Development sign-in stays available.
    await fireEvent.input(screen.getByLabelText('Telegram id'), { target: { value: '7' } });
    await fireEvent.click(screen.getByRole('button', { name: 'Sign in with this id' }));
    await vi.waitFor(() => expect(session.signedIn).toBe(true));
  });

  it('shows the API’s own words for a Telegram sign-in failure it has no sentence for', async () => {
    telegram.active = true;
    telegram.signInError = { code: 'user_blocked', message: 'This account is blocked' };
    render(Page);
    expect(screen.getByRole('alert').textContent).toBe(
      'Signing in with Telegram failed: This account is blocked',
    );
  });
});
