/**
 * Everything that touches `@telegram-apps/sdk`. Loaded with a dynamic import only when the launch
 * parameters say the app runs as a Mini App, so browsers outside Telegram never download the SDK.
 * Named imports only: the SDK is side-effect free and the bundler keeps just what is used here.
 */
import {
  bindThemeParamsCssVars,
  bindViewportCssVars,
  expandViewport,
  hapticFeedbackImpactOccurred,
  hapticFeedbackNotificationOccurred,
  hideBackButton,
  init,
  miniAppReady,
  mountBackButton,
  mountMainButton,
  mountMiniAppSync,
  mountThemeParamsSync,
  mountViewport,
  onBackButtonClick,
  onMainButtonClick,
  retrieveLaunchParams,
  retrieveRawInitData,
  setMainButtonParams,
  shareURL,
  showBackButton,
  themeParamsState,
  viewportContentSafeAreaInsets,
  viewportSafeAreaInsets,
} from '@telegram-apps/sdk';
import { bindBackButton, bindMainButton, type PrimaryActionSource } from './bindings.svelte.ts';
import { initDataOf, startParamOf } from './launch.ts';
import { installTelegramMock } from './mock-env.ts';
import { applyTheme, applyVariables, SAFE_AREA_VARIABLES, safeAreaVariables } from './theme.ts';

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

/** Viewport measurements arrive as events; a client that never answers must not hold the app. */
const VIEWPORT_TIMEOUT_MS = 3000;

/** Call an SDK function the client may not support; a missing feature is not an error worth stopping. */
function attempt(fn: () => unknown): void {
  try {
    fn();
  } catch {
    // Older clients lack some methods; the app works without them.
  }
}

function launchValues(query: string): { initData: string | null; startParam: string | null } {
  let initData: string | null = null;
  let startParam: string | null = null;
  try {
    initData = retrieveRawInitData() ?? null;
    startParam = retrieveLaunchParams().tgWebAppStartParam ?? null;
  } catch {
    // The SDK rejected the parameters; our own reading of them still holds the raw text.
  }
  return { initData: initData ?? initDataOf(query), startParam: startParam ?? startParamOf(query) };
}

function followTheme(): void {
  const root = document.documentElement;
  mountThemeParamsSync();
  attempt(() => bindThemeParamsCssVars());
  applyTheme(root, themeParamsState());
  themeParamsState.sub((params) => applyTheme(root, params));
}

async function followViewport(): Promise<void> {
  await mountViewport({ timeout: VIEWPORT_TIMEOUT_MS });
  attempt(() => bindViewportCssVars());
  const root = document.documentElement;
  const apply = () =>
    applyVariables(
      root,
      SAFE_AREA_VARIABLES,
      safeAreaVariables(viewportSafeAreaInsets(), viewportContentSafeAreaInsets()),
    );
  apply();
  viewportSafeAreaInsets.sub(apply);
  viewportContentSafeAreaInsets.sub(apply);
}

/** Start the SDK, dress the page in Telegram's theme and hand the main and back buttons to the app. */
export async function connect(options: ConnectOptions): Promise<TelegramConnection> {
  if (options.mock) installTelegramMock(options.query);
  init();

  attempt(followTheme);
  attempt(() => mountMiniAppSync());
  attempt(expandViewport);
  // The safe areas follow when the client reports them; the app does not wait for them.
  void followViewport().catch(() => {});

  attempt(() => {
    mountMainButton();
    bindMainButton(options.primaryAction, { setParams: setMainButtonParams, onClick: onMainButtonClick });
  });
  attempt(() => {
    mountBackButton();
    bindBackButton(
      options.pathname,
      { show: showBackButton, hide: hideBackButton, onClick: onBackButtonClick },
      options.goBack,
    );
  });
  attempt(miniAppReady);

  return {
    ...launchValues(options.query),
    haptic(kind) {
      if (kind === 'light') hapticFeedbackImpactOccurred.ifAvailable('light');
      else hapticFeedbackNotificationOccurred.ifAvailable(kind);
    },
    shareUrl(url, text) {
      try {
        return shareURL.ifAvailable(url, text)[0];
      } catch {
        return false;
      }
    },
  };
}
