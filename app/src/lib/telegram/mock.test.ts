import { flushSync } from 'svelte';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { primaryAction } from '../state/primary-action.svelte.ts';
import { LAUNCH_STORAGE_KEY } from './launch.ts';
import { MOCK_THEMES, miniAppUrl, mockLaunchQuery, mockTelegram } from './mock.ts';
import { connect, type TelegramConnection } from './sdk.ts';

// Init data as the API's dev sign-in returns it: signed, but without Telegram's third-party `signature`.
const initData = `auth_date=1700000000&user=${encodeURIComponent('{"id":2,"first_name":"Bo"}')}&hash=${'a'.repeat(64)}`;

const calls = () => window.__telegramCalls ?? [];
const called = (method: string) => calls().filter((c) => c.method === method);
const settle = () => new Promise((resolve) => setTimeout(resolve, 0));

describe('the launch URL', () => {
  it('carries Telegram Desktop’s launch parameters in the hash', () => {
    const url = miniAppUrl(initData, { startParam: 'deal_ABCDEFGH23', theme: 'dark' });
    expect(url.startsWith('/#')).toBe(true);
    const params = new URLSearchParams(url.slice(2));
    expect(params.get('tgWebAppData')).toBe(initData);
    expect(params.get('tgWebAppPlatform')).toBe('tdesktop');
    expect(params.get('tgWebAppVersion')).toBe('8.0');
    expect(params.get('tgWebAppStartParam')).toBe('deal_ABCDEFGH23');
    expect(JSON.parse(params.get('tgWebAppThemeParams') ?? '')).toEqual(MOCK_THEMES.dark);
  });
});

describe('connect() against the mock', () => {
  let tg: TelegramConnection;
  // Opened on a deal (e.g. from a notification): not the root screen, so the back button shows.
  const path = '/deals/7';
  let wentBack = 0;

  beforeAll(async () => {
    window.__telegramCalls = [];
    await mockTelegram(initData, { startParam: 'deal_ABCDEFGH23', theme: 'dark' });
    tg = await connect({
      query: mockLaunchQuery(initData, { startParam: 'deal_ABCDEFGH23', theme: 'dark' }),
      mock: false, // installed above
      primaryAction,
      pathname: () => path,
      goBack: () => wentBack++,
    });
    flushSync();
    await settle();
  });

  afterAll(() => {
    primaryAction.current = null;
    sessionStorage.clear();
  });

  it('keeps the launch parameters for reloads in this session', () => {
    expect(sessionStorage.getItem(LAUNCH_STORAGE_KEY)).toContain('tgWebAppPlatform=tdesktop');
  });

  it('hands back the raw signed init data and the start parameter', () => {
    expect(tg.initData).toBe(initData);
    expect(tg.startParam).toBe('deal_ABCDEFGH23');
  });

  it('expands the app and tells Telegram it is ready', () => {
    expect(called('web_app_expand')).toHaveLength(1);
    expect(called('web_app_ready')).toHaveLength(1);
  });

  it('dresses the page in Telegram’s theme', () => {
    const root = document.documentElement;
    expect(root.dataset.theme).toBe('dark');
    expect(root.style.getPropertyValue('--bg')).toBe(MOCK_THEMES.dark.bg_color);
    expect(root.style.getPropertyValue('--accent')).toBe(MOCK_THEMES.dark.button_color);
  });

  it('pads the page by the safe areas the client reports', () => {
    expect(called('web_app_request_safe_area').length).toBeGreaterThan(0);
    expect(document.documentElement.style.getPropertyValue('--safe-top')).toBe('0px');
  });

  it('sets up the main button from the primary action and runs it when pressed', async () => {
    let ran = 0;
    primaryAction.current = { label: 'Accept deal', run: () => void ran++ };
    flushSync();
    const setup = called('web_app_setup_main_button').at(-1)?.params as Record<string, unknown>;
    expect(setup).toMatchObject({ text: 'Accept deal', is_visible: true, is_active: true });

    window.Telegram?.WebView?.receiveEvent?.('main_button_pressed');
    await settle();
    expect(ran).toBe(1);

    primaryAction.current = null;
    flushSync();
    expect(called('web_app_setup_main_button').at(-1)?.params).toMatchObject({ is_visible: false });
  });

  it('shows the back button away from the deals list and goes back when it is pressed', () => {
    expect(called('web_app_setup_back_button').at(-1)?.params).toEqual({ is_visible: true });
    window.Telegram?.WebView?.receiveEvent?.('back_button_pressed');
    expect(wentBack).toBe(1);
  });

  it('plays haptics through Telegram', () => {
    tg.haptic('success');
    tg.haptic('light');
    expect(called('web_app_trigger_haptic_feedback').map((c) => c.params)).toEqual([
      { type: 'notification', notification_type: 'success' },
      { type: 'impact', impact_style: 'light' },
    ]);
  });

  it('shares a link through Telegram’s share sheet', () => {
    expect(tg.shareUrl('https://t.me/amanat_bot?startapp=deal_ABCDEFGH23', 'Join my deal')).toBe(true);
    const open = called('web_app_open_tg_link').at(-1)?.params as { path_full: string };
    const shared = new URL(`https://t.me${open.path_full}`);
    expect(shared.pathname).toBe('/share/url');
    expect(shared.searchParams.get('url')).toBe('https://t.me/amanat_bot?startapp=deal_ABCDEFGH23');
    expect(shared.searchParams.get('text')).toBe('Join my deal');
  });
});

declare global {
  interface Window {
    Telegram?: { WebView?: { receiveEvent?: (event: string, data?: unknown) => void } };
  }
}
