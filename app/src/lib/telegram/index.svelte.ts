/**
 * The app as a Telegram Mini App. Outside Telegram this module only looks at the URL and session storage
 * and returns; inside, it loads the SDK (./sdk.ts), signs in with Telegram's init data, follows Telegram's
 * theme and safe areas, and lends the main and back buttons to the app. Development and tests (where
 * PUBLIC_DEV_SIGN_IN is on) open the app the same way through the mock (see ./mock.ts).
 */
import { api, isApiError } from '#lib/api/index.ts';
import { primaryAction } from '#lib/state/primary-action.svelte.ts';
import { session } from '#lib/state/session.svelte.ts';
import { PUBLIC_DEV_SIGN_IN } from '$app/env/public';
import { goto } from '$app/navigation';
import { page } from '$app/state';
import { canGoBack, historyIndex } from './bindings.svelte.ts';
import {
  findLaunchQuery,
  initDataUserId,
  inTelegramClient,
  isLaunchQuery,
  LAUNCH_STORAGE_KEY,
  launchQueryOf,
} from './launch.ts';
import type { HapticKind, TelegramConnection } from './sdk.ts';

export interface TelegramLaunch {
  /** `startapp` parameter, e.g. `deal_<code>`; only on the launch itself, not on reloads after it. */
  startParam: string | null;
}

/** Why signing in with Telegram's init data failed: an API error code, or `network`. */
export interface TelegramSignInError {
  code: string;
  message: string;
}

/** How an invite link went out, so the screen can say so ("Link copied"). */
export type ShareOutcome = 'telegram' | 'shared' | 'copied' | 'cancelled' | 'failed';

let connection: TelegramConnection | null = null;

class TelegramState {
  /** Running as a Mini App: Telegram's main button replaces the web one. */
  active = $state(false);
  /** Set when Telegram's init data did not sign the user in; the sign-in page explains it. */
  signInError = $state<TelegramSignInError | null>(null);

  haptic(kind: HapticKind): void {
    try {
      connection?.haptic(kind);
    } catch {
      // Haptics are a courtesy.
    }
  }

  /** Share an invite: Telegram's chat picker in Telegram, else the system share sheet, else the clipboard. */
  async shareInvite(url: string, text: string): Promise<ShareOutcome> {
    if (connection?.shareUrl(url, text)) return 'telegram';
    const nav = globalThis.navigator;
    if (typeof nav?.share === 'function') {
      try {
        await nav.share({ url, text });
        return 'shared';
      } catch (err) {
        if (err instanceof Error && err.name === 'AbortError') return 'cancelled';
        // Refused (no user gesture, unsupported data): copying still works.
      }
    }
    try {
      await nav.clipboard.writeText(url);
      return 'copied';
    } catch {
      return 'failed';
    }
  }
}

export const telegram = new TelegramState();

function sessionStore(): Storage | null {
  try {
    return globalThis.sessionStorage ?? null;
  } catch {
    return null;
  }
}

async function signIn(initData: string): Promise<void> {
  try {
    await session.begin(await api.signInWithInitData(initData));
    telegram.signInError = null;
  } catch (err) {
    telegram.signInError = isApiError(err)
      ? { code: err.code, message: err.message }
      : { code: 'network', message: err instanceof Error ? err.message : String(err) };
    // Refused init data means we do not know who this is. Otherwise (offline, server trouble) a saved
    // session of this same Telegram user keeps the app usable; anyone else's must not stay.
    const refused = isApiError(err) && (err.status === 401 || err.status === 403);
    const sameUser = session.user?.telegramId != null && session.user.telegramId === initDataUserId(initData);
    if (refused || !sameUser) session.expire();
  }
}

async function start(): Promise<TelegramLaunch | null> {
  if (typeof window === 'undefined') return null;
  const storage = sessionStore();
  const query = findLaunchQuery(window.location.href, storage);
  if (!query) return null;
  // Launch parameters outside a Telegram client come from whoever wrote the link: honoured only where
  // development sign-in is on (development, the end-to-end tests), else anyone's link could sign the
  // browser into the link author's account. Elsewhere the app runs as the web app.
  const mock = !inTelegramClient(window);
  if (mock && !PUBLIC_DEV_SIGN_IN) return null;
  const fresh = isLaunchQuery(launchQueryOf(window.location.href));
  try {
    // In-app navigation drops the hash; a reload in this Telegram session must still find them.
    storage?.setItem(LAUNCH_STORAGE_KEY, query);
  } catch {
    // No storage: this page load still has them.
  }
  const startIndex = historyIndex(history.state);
  const { connect } = await import('./sdk.ts');
  connection = await connect({
    query,
    mock,
    primaryAction,
    pathname: () => page.url.pathname,
    goBack: () => {
      if (canGoBack(history.state, startIndex)) history.back();
      else void goto('/');
    },
  });
  telegram.active = true;
  if (connection.initData) await signIn(connection.initData);
  return { startParam: fresh ? connection.startParam : null };
}

let starting: Promise<TelegramLaunch | null> | null = null;

/** Detect Telegram and set the app up for it; null outside Telegram. Runs once per page load. */
export function startTelegram(): Promise<TelegramLaunch | null> {
  starting ??= start();
  return starting;
}
