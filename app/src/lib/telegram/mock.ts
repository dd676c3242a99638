/**
 * Telegram imitated in an ordinary browser, for development and the end-to-end tests.
 *
 * How to open the app as a Mini App without Telegram: load it with Telegram's launch parameters in the
 * URL hash, exactly as Telegram's clients do:
 *
 *   /#tgWebAppData=<urlencoded signed init data>&tgWebAppVersion=8.0&tgWebAppPlatform=tdesktop
 *     &tgWebAppThemeParams=<urlencoded JSON>[&tgWebAppStartParam=deal_<code>]
 *
 * `miniAppUrl()` builds that URL and `openAsMiniApp()` goes there (the dev sign-in page uses it with the
 * init data `POST /api/auth/dev` returns, signed with the development bot token). On load,
 * `startTelegram()` finds the parameters; because the page is neither inside Telegram's WebView (no
 * `window.TelegramWebviewProxy`) nor framed by Telegram's web client, it installs this mock (only where
 * PUBLIC_DEV_SIGN_IN is on: elsewhere such a link could sign anyone into its author's account, and the
 * app ignores the parameters and runs as the web app), which answers
 * the Mini App methods the app calls and records each call on `window.__telegramCalls` as
 * `{ method, params }` (e.g. `web_app_setup_main_button` with `{ text, is_visible, … }`, `web_app_expand`).
 * The init data then signs the user in through `POST /api/auth/telegram` like real Telegram's would.
 *
 * The parameters are kept in session storage, so reloads and in-app navigation (which drop the hash) stay
 * in Mini App mode for the tab; a new tab, or clearing session storage, leaves it. A test can equally set
 * `sessionStorage['amanat.telegram.launch']` to the same query (without the leading `#`) in an init script.
 *
 * This module does not import the SDK (the answering part is ./mock-env.ts, its own chunk), so the sign-in
 * page can import `openAsMiniApp` without downloading the SDK.
 */
import { LAUNCH_STORAGE_KEY } from './launch.ts';

export interface TelegramCall {
  method: string;
  params: unknown;
}

/** Theme parameters as Telegram sends them: `#rrggbb` colours by snake_case key. */
export type MockTheme = Partial<Record<string, `#${string}`>>;

declare global {
  interface Window {
    __telegramCalls?: TelegramCall[];
  }
}

/** Telegram's default palettes, close enough to see how the app looks in each. */
export const MOCK_THEMES: Record<'light' | 'dark', MockTheme> = {
  light: {
    bg_color: '#ffffff',
    text_color: '#000000',
    hint_color: '#707579',
    link_color: '#2481cc',
    button_color: '#2481cc',
    button_text_color: '#ffffff',
    secondary_bg_color: '#f4f4f5',
    header_bg_color: '#ffffff',
    bottom_bar_bg_color: '#ffffff',
    accent_text_color: '#2481cc',
    section_bg_color: '#ffffff',
    section_header_text_color: '#2481cc',
    section_separator_color: '#e7e7e7',
    subtitle_text_color: '#707579',
    destructive_text_color: '#e53935',
  },
  dark: {
    bg_color: '#212121',
    text_color: '#ffffff',
    hint_color: '#aaaaaa',
    link_color: '#8774e1',
    button_color: '#8774e1',
    button_text_color: '#ffffff',
    secondary_bg_color: '#0f0f0f',
    header_bg_color: '#212121',
    bottom_bar_bg_color: '#212121',
    accent_text_color: '#8774e1',
    section_bg_color: '#212121',
    section_header_text_color: '#aaaaaa',
    section_separator_color: '#2f2f2f',
    subtitle_text_color: '#aaaaaa',
    destructive_text_color: '#ee686f',
  },
};

export interface MockOptions {
  startParam?: string;
  theme?: 'light' | 'dark';
}

/** Launch parameters as Telegram Desktop would pass them. */
export function mockLaunchQuery(initDataRaw: string, opts: MockOptions = {}): string {
  const params = new URLSearchParams({
    tgWebAppData: initDataRaw,
    tgWebAppVersion: '8.0',
    tgWebAppPlatform: 'tdesktop',
    tgWebAppThemeParams: JSON.stringify(MOCK_THEMES[opts.theme ?? 'light']),
  });
  if (opts.startParam) params.set('tgWebAppStartParam', opts.startParam);
  return params.toString();
}

/** The app's address opened as a Mini App (see the top of this file). */
export function miniAppUrl(initDataRaw: string, opts: MockOptions = {}): string {
  return `/#${mockLaunchQuery(initDataRaw, opts)}`;
}

/** Reload the app as a Mini App signed in with `initDataRaw` (from the API's dev sign-in). */
export function openAsMiniApp(initDataRaw: string, startParam?: string): void {
  const url = miniAppUrl(initDataRaw, startParam ? { startParam } : {});
  // Changing only the hash would not reload the page, and the app reads the parameters on load.
  if (location.pathname === '/') {
    location.hash = url.slice(1);
    location.reload();
  } else {
    location.assign(url);
  }
}

/** Imitate Telegram Desktop launching the app for the user of `initDataRaw`. */
export async function mockTelegram(initDataRaw: string, opts: MockOptions = {}): Promise<void> {
  const query = mockLaunchQuery(initDataRaw, opts);
  try {
    sessionStorage.setItem(LAUNCH_STORAGE_KEY, query);
  } catch {
    // No storage: the mock still answers for this page.
  }
  const { installTelegramMock } = await import('./mock-env.ts');
  installTelegramMock(query);
}
