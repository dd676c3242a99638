// Real-browser helpers for the app's end-to-end tests and benchmark: Debian's Chromium driven by
// playwright-core, phone-size contexts, every console error and page error collected (the app must have
// none), offline switches that also cover the service worker, and screenshots kept as test artifacts.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import {
  type Browser,
  type BrowserContext,
  type BrowserContextOptions,
  chromium,
  type Page,
} from 'playwright-core';

const root = join(import.meta.dirname, '..');
/** Debian's `chromium` package; `npm test` installs it (devstack/system-packages.ts). */
export const CHROMIUM = '/usr/bin/chromium';
export const SCREENSHOT_DIR = join(root, 'test-results', 'app');

/**
 * The machine has no way out: without the background-networking switches Chromium keeps trying to reach
 * Google's services and stalls or logs errors that are not the app's.
 */
export const CHROMIUM_ARGS = [
  '--headless=new',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export function launchBrowser(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
}

/** A phone: what the app is designed for first. */
export const PHONE: BrowserContextOptions = {
  viewport: { width: 390, height: 844 },
  deviceScaleFactor: 2,
  isMobile: true,
  hasTouch: true,
  locale: 'en-US',
  colorScheme: 'light',
};

export interface BrowserProblem {
  kind: 'console' | 'pageerror' | 'crash';
  page: string;
  text: string;
}

/**
 * A browser context that records every console error and uncaught page error of every page it opens.
 * `expectClean()` fails with all of them. While `offline` is set, the browser's own reports of the requests
 * the test cut ("Failed to load resource: net::ERR_…", a WebSocket that could not connect) are not the
 * app's doing and are not counted; anything else still is.
 */
export class PhoneContext {
  readonly context: BrowserContext;
  readonly problems: BrowserProblem[] = [];
  #offline = false;
  #blocked: string[] = [];

  private constructor(context: BrowserContext) {
    this.context = context;
    for (const page of context.pages()) this.#watch(page);
    context.on('page', (page) => this.#watch(page));
  }

  static async open(browser: Browser, extra: BrowserContextOptions = {}): Promise<PhoneContext> {
    return new PhoneContext(await browser.newContext({ ...PHONE, ...extra }));
  }

  async newPage(): Promise<Page> {
    return this.context.newPage();
  }

  #watch(page: Page): void {
    page.on('console', (msg) => {
      if (msg.type() !== 'error') return;
      const text = msg.text();
      if (this.#offline && isCutNetworkReport(text)) return;
      this.problems.push({ kind: 'console', page: page.url(), text: `${text} (${where(msg.location())})` });
    });
    page.on('pageerror', (err) =>
      this.problems.push({ kind: 'pageerror', page: page.url(), text: err.stack ?? String(err) }),
    );
    page.on('crash', () => this.problems.push({ kind: 'crash', page: page.url(), text: 'the page crashed' }));
  }

  /** Throws with every console error and page error so far (and forgets them). */
  expectClean(context = ''): void {
    if (this.problems.length === 0) return;
    const list = this.problems.map((p) => `  [${p.kind}] ${p.page}: ${p.text}`).join('\n');
    this.problems.length = 0;
    throw new Error(`The browser reported errors${context ? ` (${context})` : ''}:\n${list}`);
  }

  /**
   * Cuts the network: Chromium's offline emulation, plus aborting every request to `origins` at the
   * context (offline emulation does not reach service-worker fetches in every Chromium version).
   */
  async goOffline(origins: string[]): Promise<void> {
    this.#offline = true;
    this.#blocked = origins.map((o) => new URL(o).origin);
    await this.context.setOffline(true);
    await this.context.route(this.#isBlocked, (route) => route.abort('internetdisconnected'));
  }

  async goOnline(): Promise<void> {
    await this.context.unroute(this.#isBlocked);
    await this.context.setOffline(false);
    this.#offline = false;
  }

  #isBlocked = (url: URL): boolean => this.#blocked.includes(url.origin);

  async close(): Promise<void> {
    await this.context.close();
  }
}

const where = (loc: { url: string; lineNumber: number }) =>
  loc.url ? `${loc.url}:${loc.lineNumber}` : 'no source';

/** The browser's own report of a request that failed because the network is gone. */
const isCutNetworkReport = (text: string) =>
  /^Failed to load resource: net::ERR_(INTERNET_DISCONNECTED|FAILED|NETWORK_CHANGED)/.test(text) ||
  /^WebSocket connection to '.*' failed/.test(text);

/** Waits until a service worker is active and controls the page (reloading once if it does not claim it). */
export async function waitForServiceWorker(page: Page, ms = 30_000): Promise<void> {
  // Browser code as text: this package is type-checked without the DOM library.
  const controlled = () =>
    page.evaluate(`(async () => {
      const sw = navigator.serviceWorker;
      if (!sw) return 'no serviceWorker API';
      const ready = await Promise.race([
        sw.ready.then(() => true),
        new Promise((r) => setTimeout(() => r(false), ${ms})),
      ]);
      if (!ready) return 'no service worker became active';
      if (sw.controller) return 'ok';
      await new Promise((r) => {
        sw.addEventListener('controllerchange', r, { once: true });
        setTimeout(r, 3000);
      });
      return sw.controller ? 'ok' : 'active but not controlling';
    })()`) as Promise<string>;
  let state = await controlled();
  if (state === 'active but not controlling') {
    await page.reload();
    state = await controlled();
  }
  if (state !== 'ok') throw new Error(`service worker not controlling ${page.url()}: ${state}`);
}

/** A full-page screenshot at the context's size, kept under test-results/app/. */
export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  const path = join(SCREENSHOT_DIR, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}

/** Telegram's theme for the mocked launch (a light theme, as Telegram Desktop sends it). */
export const TELEGRAM_THEME = {
  bg_color: '#ffffff',
  text_color: '#000000',
  hint_color: '#707579',
  link_color: '#3390ec',
  button_color: '#3390ec',
  button_text_color: '#ffffff',
  secondary_bg_color: '#f4f4f5',
};

/**
 * The app's URL as Telegram opens a Mini App: launch parameters in the hash (signed init data, version,
 * platform, theme and the startapp parameter), which the app's Telegram mock recognises outside Telegram.
 */
export function telegramLaunchUrl(
  appUrl: string,
  initData: string,
  opts: { startParam?: string; path?: string } = {},
) {
  const params: Array<[string, string]> = [
    ['tgWebAppData', initData],
    ['tgWebAppVersion', '8.0'],
    ['tgWebAppPlatform', 'tdesktop'],
    ['tgWebAppThemeParams', JSON.stringify(TELEGRAM_THEME)],
    ...(opts.startParam ? [['tgWebAppStartParam', opts.startParam] as [string, string]] : []),
  ];
  const hash = params.map(([k, v]) => `${k}=${encodeURIComponent(v)}`).join('&');
  return `${appUrl}${opts.path ?? '/'}#${hash}`;
}

/**
 * Polls `expression` in the page until it is truthy and returns its value. Evaluated through the DevTools
 * protocol, which the app's CSP does not govern (Playwright's waitForFunction compiles strings in the page,
 * which a CSP without 'unsafe-eval' refuses).
 */
export async function waitForValue<T>(page: Page, expression: string, what: string, ms = 30_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = (await page.evaluate(expression)) as T;
    if (value) return value;
    if (Date.now() > deadline)
      throw new Error(`timed out after ${ms} ms waiting for ${what} (${expression})`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
