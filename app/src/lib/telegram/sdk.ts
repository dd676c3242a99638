/**
 * Everything that talks to Telegram through `@telegram-apps/sdk`. Loaded with a dynamic import only when
 * the launch parameters say the app runs as a Mini App, so browsers outside Telegram never download it.
 *
 * Only the SDK's messaging layer is used (its re-exports of @telegram-apps/bridge: typed method calls
 * checked against the client's Mini Apps version, event listening, and the raw init data). The SDK's
 * components (`init()`, `mountMainButton()`, …) pull the whole SDK module, about 17 KB gzip, which alone
 * would push the Mini App's first load past its 80 KB budget; the few methods the app needs are called
 * here directly instead.
 */
import { createPostEvent, on, retrieveRawInitData } from '@telegram-apps/sdk';
import {
  bindBackButton,
  bindMainButton,
  type MainButtonParams,
  type PrimaryActionSource,
} from './bindings.svelte.ts';
import { initDataOf, startParamOf } from './launch.ts';
import {
  applyTheme,
  applyVariables,
  type Insets,
  SAFE_AREA_VARIABLES,
  safeAreaVariables,
  type ThemeParams,
} from './theme.ts';

export type HapticKind = 'success' | 'error' | 'warning' | 'light';

export interface ConnectOptions {
  /** The launch parameters found for this session. */
  query: string;
  /** Answer the SDK's calls ourselves: launch parameters outside a Telegram client (dev, tests). */
  mock: boolean;
  primaryAction: PrimaryActionSource;
  pathname: () => string;
  goBack: () => void;
}

export interface TelegramConnection {
  /** Signed init data to sign in with; null if Telegram sent none (e.g. opened from an inline button). */
  initData: string | null;
  startParam: string | null;
  haptic(kind: HapticKind): void;
  /** Open Telegram's "share to chat" for the link; false if the client cannot. */
  shareUrl(url: string, text: string): boolean;
}

/** A Mini Apps method call; throws when the client's version lacks the method. */
type Post = ReturnType<typeof createPostEvent>;
type Color = `#${string}`;

/** Call a method the client may not support; a missing feature is not an error worth stopping. */
function attempt(fn: () => unknown): boolean {
  try {
    fn();
    return true;
  } catch {
    // Older clients lack some methods; the app works without them.
    return false;
  }
}

/** The raw init data (the API checks its hash over the exact text), by the SDK, else our own reading. */
function rawInitData(query: string): string | null {
  try {
    const raw = retrieveRawInitData();
    if (raw) return raw;
  } catch {
    // The SDK rejected the parameters (e.g. init data without Telegram's third-party signature).
  }
  return initDataOf(query);
}

function launchTheme(query: string): ThemeParams {
  try {
    const parsed: unknown = JSON.parse(new URLSearchParams(query).get('tgWebAppThemeParams') ?? '{}');
    return parsed && typeof parsed === 'object' ? (parsed as ThemeParams) : {};
  } catch {
    return {};
  }
}

/** Tell the client the page is ready for events, and reload when it asks (Telegram's web clients). */
function initialise(post: Post): void {
  attempt(() => post('iframe_ready', { reload_supported: true }));
  on('reload_iframe', () => {
    attempt(() => post('iframe_will_reload'));
    window.location.reload();
  });
}

/** The page in Telegram's theme: the launch's at once, then every change the client reports. */
function followTheme(post: Post, query: string, onTheme: (theme: ThemeParams) => void): void {
  const root = document.documentElement;
  const apply = (theme: ThemeParams) => {
    applyTheme(root, theme);
    onTheme(theme);
  };
  apply(launchTheme(query));
  on('theme_changed', ({ theme_params }) => apply(theme_params as ThemeParams));
  attempt(() => post('web_app_request_theme'));
}

/** Pad the page by the device's and Telegram's safe areas, once the client reports them. */
function followSafeAreas(post: Post): void {
  const root = document.documentElement;
  const none: Insets = { top: 0, bottom: 0, left: 0, right: 0 };
  let safe = none;
  let content = none;
  const apply = () => applyVariables(root, SAFE_AREA_VARIABLES, safeAreaVariables(safe, content));
  on('safe_area_changed', (insets) => {
    safe = insets;
    apply();
  });
  on('content_safe_area_changed', (insets) => {
    content = insets;
    apply();
  });
  attempt(() => post('web_app_request_safe_area'));
  attempt(() => post('web_app_request_content_safe_area'));
}

/** Telegram's main button: keeps the last parameters, sends only changes, in the theme's colours. */
function mainButton(post: Post) {
  let params = { is_visible: false, is_active: true, is_progress_visible: false, text: '' };
  let colors: { color?: Color; text_color?: Color } = {};
  let sent = '';
  const send = () => {
    const message = { ...params, ...colors };
    const text = JSON.stringify(message);
    if (text === sent) return;
    // Telegram refuses a visible button without a label.
    if (message.is_visible && !message.text) return;
    if (attempt(() => post('web_app_setup_main_button', message))) sent = text;
  };
  return {
    setParams(next: MainButtonParams) {
      params = {
        is_visible: next.isVisible ?? params.is_visible,
        is_active: next.isEnabled ?? params.is_active,
        is_progress_visible: next.isLoaderVisible ?? params.is_progress_visible,
        text: next.text ?? params.text,
      };
      send();
    },
    setTheme(theme: ThemeParams) {
      const hex = (value: string | undefined) =>
        value && /^#[\da-f]{6}$/i.test(value) ? (value as Color) : undefined;
      const color = hex(theme.button_color);
      const textColor = hex(theme.button_text_color);
      colors = { ...(color ? { color } : {}), ...(textColor ? { text_color: textColor } : {}) };
      if (params.is_visible) send();
    },
    onClick(listener: () => void) {
      return on('main_button_pressed', listener);
    },
  };
}

function backButton(post: Post) {
  let visible: boolean | null = null;
  const set = (isVisible: boolean) => {
    if (visible === isVisible) return;
    if (attempt(() => post('web_app_setup_back_button', { is_visible: isVisible }))) visible = isVisible;
  };
  return {
    show: () => set(true),
    hide: () => set(false),
    onClick: (listener: () => void) => on('back_button_pressed', listener),
  };
}

/** Start talking to Telegram, dress the page in its theme and hand the main and back buttons to the app. */
export async function connect(options: ConnectOptions): Promise<TelegramConnection> {
  // Its own chunk: Telegram's real clients never download the mock.
  if (options.mock) (await import('./mock-env.ts')).installTelegramMock(options.query);
  const version = new URLSearchParams(options.query).get('tgWebAppVersion') ?? '0.0';
  // Strict: a method this client's version lacks throws, and `attempt` leaves it out.
  const post = createPostEvent(version, 'strict');
  initialise(post);

  const main = mainButton(post);
  attempt(() => followTheme(post, options.query, (theme) => main.setTheme(theme)));
  attempt(() => post('web_app_expand'));
  attempt(() => followSafeAreas(post));
  attempt(() => bindMainButton(options.primaryAction, main));
  attempt(() => bindBackButton(options.pathname, backButton(post), options.goBack));
  attempt(() => post('web_app_ready'));

  return {
    initData: rawInitData(options.query),
    startParam: startParamOf(options.query),
    haptic(kind) {
      if (kind === 'light')
        post('web_app_trigger_haptic_feedback', { type: 'impact', impact_style: 'light' });
      else post('web_app_trigger_haptic_feedback', { type: 'notification', notification_type: kind });
    },
    shareUrl(url, text) {
      const share = new URLSearchParams({ url, text }).toString().replace(/\+/g, '%20');
      return attempt(() => post('web_app_open_tg_link', { path_full: `/share/url?${share}` }));
    },
  };
}
