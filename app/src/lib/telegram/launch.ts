/**
 * Whether the app was launched as a Telegram Mini App, read without the SDK so that browsers outside
 * Telegram never download it. Telegram appends its launch parameters to the URL (usually the hash:
 * `#tgWebAppData=…&tgWebAppVersion=…&tgWebAppPlatform=…`); the router drops them on the first navigation,
 * so they are also kept in session storage for reloads within the same Telegram session.
 */

/** Our copy of the launch parameters (the SDK keeps its own under `tapps/launchParams`). */
export const LAUNCH_STORAGE_KEY = 'amanat.telegram.launch';
const SDK_STORAGE_KEY = 'tapps/launchParams';

type ReadableStorage = Pick<Storage, 'getItem'>;

/** The query part of a URL's search and hash together, the way the SDK reads launch parameters. */
export function launchQueryOf(href: string): string {
  return href.replace(/^[^?#]*[?#]/, '').replace(/[?#]/g, '&');
}

/** Launch parameters need at least the platform and the Mini Apps version to mean anything. */
export function isLaunchQuery(query: string): boolean {
  const params = new URLSearchParams(query);
  return Boolean(params.get('tgWebAppPlatform') && params.get('tgWebAppVersion'));
}

function stored(storage: ReadableStorage | null, key: string): string | null {
  try {
    const raw = storage?.getItem(key);
    if (!raw) return null;
    // The SDK stores a JSON string; we store the query as it is.
    const value = key === SDK_STORAGE_KEY ? (JSON.parse(raw) as unknown) : raw;
    return typeof value === 'string' && isLaunchQuery(value) ? value : null;
  } catch {
    return null;
  }
}

/** The launch parameters of this session: the URL first (fresh from Telegram), then what we saved. */
export function findLaunchQuery(href: string, storage: ReadableStorage | null): string | null {
  const fromUrl = launchQueryOf(href);
  if (isLaunchQuery(fromUrl)) return fromUrl;
  return stored(storage, LAUNCH_STORAGE_KEY) ?? stored(storage, SDK_STORAGE_KEY);
}

/**
 * Forget this tab's launch parameters (ours and the SDK's): they hold signed init data, and a reload
 * after signing out must not sign the user back in with them.
 */
export function forgetLaunch(storage: Pick<Storage, 'removeItem'> | null): void {
  try {
    storage?.removeItem(LAUNCH_STORAGE_KEY);
    storage?.removeItem(SDK_STORAGE_KEY);
  } catch {
    // No storage: nothing was kept.
  }
}

/** The signed init data exactly as Telegram sent it (the API checks its hash over the raw text). */
export const initDataOf = (query: string): string | null =>
  new URLSearchParams(query).get('tgWebAppData') || null;

/** `startapp` of a `t.me/<bot>/<app>?startapp=…` or `t.me/<bot>?startapp=…` link. */
export const startParamOf = (query: string): string | null =>
  new URLSearchParams(query).get('tgWebAppStartParam') || null;

/**
 * Telegram's own clients talk to the page through an injected `TelegramWebviewProxy` (mobile and desktop
 * apps) or from a parent frame (web clients). Launch parameters without either mean a developer or a test
 * opened the app with them, and the SDK's calls must be answered by the mock.
 */
export function inTelegramClient(win: Window): boolean {
  if ('TelegramWebviewProxy' in win) return true;
  try {
    return win.self !== win.top;
  } catch {
    // A cross-origin parent: only Telegram's web clients frame the app (frame-ancestors).
    return true;
  }
}

/** The Telegram user id inside init data, as a decimal string (ids may exceed 2^53). */
export function initDataUserId(initData: string): string | null {
  const raw = new URLSearchParams(initData).get('user');
  // Read the digits from the JSON text: parsing would round an id beyond 2^53.
  return raw?.match(/"id"\s*:\s*(\d+)/)?.[1] ?? null;
}
