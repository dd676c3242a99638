/**
 * The answering half of the Telegram mock (see ./mock.ts for how to use it): stands in for a Telegram
 * client behind the SDK's method calls.
 */
import { emitEvent, mockTelegramEnv } from '@telegram-apps/sdk';
import type { MockTheme } from './mock.ts';

const NO_INSETS = { top: 0, bottom: 0, left: 0, right: 0 };

/** The theme the launch parameters announce, answered when the app asks for it again. */
function themeOf(query: string): MockTheme {
  let parsed: unknown;
  try {
    parsed = JSON.parse(new URLSearchParams(query).get('tgWebAppThemeParams') ?? '{}');
  } catch {
    return {};
  }
  const theme: MockTheme = {};
  if (parsed && typeof parsed === 'object') {
    for (const [key, value] of Object.entries(parsed)) {
      if (typeof value === 'string' && /^#[\da-f]{6}$/i.test(value)) theme[key] = value as `#${string}`;
    }
  }
  return theme;
}

/**
 * Answer the SDK's Mini App method calls as a Telegram client would, for the launch parameters in
 * `launchQuery`. Every call is recorded on `window.__telegramCalls`.
 */
export function installTelegramMock(launchQuery: string): void {
  window.__telegramCalls ??= [];
  const calls = window.__telegramCalls;
  const theme = themeOf(launchQuery);
  let expanded = false;
  const viewport = () => ({
    height: window.innerHeight,
    width: window.innerWidth,
    is_expanded: expanded,
    is_state_stable: true,
  });
  // Real clients answer asynchronously; so does the mock.
  const answer = (send: () => void) => queueMicrotask(send);

  const onEvent = ([method, params]: [string, unknown]) => {
    calls.push({ method, params });
    switch (method) {
      case 'web_app_request_theme':
        return answer(() => emitEvent('theme_changed', { theme_params: theme }));
      case 'web_app_request_viewport':
        return answer(() => emitEvent('viewport_changed', viewport()));
      case 'web_app_expand':
        expanded = true;
        return answer(() => emitEvent('viewport_changed', viewport()));
      case 'web_app_request_safe_area':
        return answer(() => emitEvent('safe_area_changed', NO_INSETS));
      case 'web_app_request_content_safe_area':
        return answer(() => emitEvent('content_safe_area_changed', NO_INSETS));
      default:
        // Buttons, haptics, ready, links: recording them is all a test needs.
        return;
    }
  };

  try {
    mockTelegramEnv({ launchParams: launchQuery, onEvent, resetPostMessage: true });
  } catch {
    // The SDK insists on fields our own sign-in does not need (e.g. init data without Telegram's
    // third-party `signature`). It works without init data; the app signs in with the raw text it keeps.
    const params = new URLSearchParams(launchQuery);
    params.delete('tgWebAppData');
    mockTelegramEnv({ launchParams: params.toString(), onEvent, resetPostMessage: true });
  }
}
