// bench:app — the app as a phone gets it, from the production build served by app/server.ts against the
// real API: (a) JavaScript transferred (gzip) on the first load of the deals page, on the web and in the
// Mini App (where the Telegram SDK loads); (b) Lighthouse scores of the signed-in deals page with mobile
// emulation, medians of several runs; (c) time from navigation start to the deals list rendered from the
// cache while offline, median of several runs. Exits non-zero only when the app did not behave (the list
// never showed, a page reported errors); targets missed are reported, not failed.
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import lighthouse from 'lighthouse';
import { type Browser, chromium, type Page } from 'playwright-core';
import { LOCAL_USDT, PAYOUT_ADDRESS, testInitData } from '../api/src/testing.ts';
import { apiClient } from '../devstack/api-client.ts';
import { type AnvilHandle, startAnvil } from '../devstack/chain.ts';
import { findFreePort } from '../devstack/ports.ts';
import {
  CHROMIUM,
  CHROMIUM_ARGS,
  launchBrowser,
  PhoneContext,
  telegramLaunchUrl,
  waitForServiceWorker,
  waitForValue,
} from '../e2e/browser.ts';
import { type Pipeline, startPipeline } from '../e2e/harness.ts';
import { median } from './stats.ts';

const LIGHTHOUSE_RUNS = 3;
const OFFLINE_RUNS = 7;
const DEALS = 5;
const TITLE = 'Bench deal';
const TARGET = { jsKb: 80, score: 95 };
const SESSION_KEY = 'amanat.session';
const CLIENT_DIR = join(import.meta.dirname, '..', 'app', 'build', 'client');

const log = (m: string) => console.log(`[bench:app] ${m}`);

interface JsLoad {
  /** Encoded bytes of every script response as the browser received it, asking for gzip only. */
  transferred: number;
  /** The same scripts' precompressed .gz files in app/build/client (a check on the figure above). */
  gzFiles: number;
  scripts: Array<{ path: string; bytes: number; encoding: string }>;
}

interface LighthouseRun {
  performance: number;
  accessibility: number;
  bestPractices: number;
  /** Audits that lost points, for the report. */
  failing: string[];
}

interface Figures {
  web: JsLoad;
  miniApp: JsLoad | null;
  miniAppProblem: string | null;
  lighthouse: LighthouseRun[];
  offlineMs: number[];
  problems: string[];
}

export async function benchApp(env: { databaseUrl: string; redisUrl: string }): Promise<void> {
  // The harness makes its schema and reads Redis from the environment, as tests get them from `npm test`.
  process.env.DATABASE_URL = env.databaseUrl;
  process.env.REDIS_URL = env.redisUrl;
  let anvil: AnvilHandle | null = null;
  let pipeline: Pipeline | null = null;
  let browser: Browser | null = null;
  try {
    // The API only takes deals on chains it has RPC endpoints for; nothing is paid here.
    anvil = await startAnvil();
    // The Mini App figure opens the app with the development Telegram mock, which needs the dev flag.
    pipeline = await startPipeline({
      rpcUrls: { 31337: [anvil.rpcUrl] },
      env: { app: { PUBLIC_DEV_SIGN_IN: 'true' } },
    });
    await pipeline.start('api');
    log('app: production build (built first when the sources changed)');
    await pipeline.start('app');
    const telegramId = 700_100_001;
    const session = await seedDeals(pipeline, telegramId);
    browser = await launchBrowser();
    const figures = await measure(browser, pipeline, session, telegramId + 10);
    if (report(figures)) process.exitCode = 1;
  } finally {
    await browser?.close();
    await pipeline?.close();
    await anvil?.stop();
  }
}

/** A seller with a few deals in the list; returns the session the app keeps in localStorage. */
async function seedDeals(p: Pipeline, telegramId: number): Promise<string> {
  const call = apiClient(p.apiUrl);
  const session = await call('POST', '/api/auth/telegram', null, { initData: testInitData(telegramId) });
  for (let i = 1; i <= DEALS; i++) {
    await call('POST', '/api/deals', session.token as string, {
      title: `${TITLE} ${i}`,
      amount: `${i * 25}`,
      asset: { chainId: 31337, token: LOCAL_USDT },
      role: 'seller',
      address: PAYOUT_ADDRESS,
    });
  }
  return JSON.stringify(session);
}

async function measure(
  browser: Browser,
  p: Pipeline,
  session: string,
  miniAppUser: number,
): Promise<Figures> {
  const problems: string[] = [];
  const signedIn = {
    cookies: [],
    origins: [{ origin: p.appUrl, localStorage: [{ name: SESSION_KEY, value: session }] }],
  };

  log('first load of the deals page on the web');
  const web = await firstLoadJs(browser, `${p.appUrl}/`, { storageState: signedIn }, problems, 'web');
  log('first load in the Mini App (mocked Telegram launch parameters)');
  let miniApp: JsLoad | null = null;
  let miniAppProblem: string | null = null;
  try {
    miniApp = await firstLoadJs(
      browser,
      telegramLaunchUrl(p.appUrl, testInitData(miniAppUser)),
      {},
      problems,
      'Mini App',
      /** A new Telegram user has no deals: the page is ready when it has a heading. */
      'h1',
    );
  } catch (err) {
    miniAppProblem = (err as Error).message.split('\n')[0] ?? String(err);
  }

  log(`offline: the deals list from the cache, ${OFFLINE_RUNS} runs`);
  let offlineMs: number[] = [];
  try {
    offlineMs = await offlineListTimes(browser, p, signedIn, problems);
  } catch (err) {
    problems.push(`offline: ${(err as Error).message.split('\n')[0]}`);
  }

  const lighthouseRuns: LighthouseRun[] = [];
  for (let i = 1; i <= LIGHTHOUSE_RUNS; i++) {
    log(`Lighthouse run ${i}/${LIGHTHOUSE_RUNS} (mobile, signed-in deals page)`);
    lighthouseRuns.push(await lighthouseRun(p.appUrl, session));
  }
  return { web, miniApp, miniAppProblem, lighthouse: lighthouseRuns, offlineMs, problems };
}

/** Waits until a link naming one of the seeded deals is visible. */
const dealListShown = (page: Page) =>
  page
    .getByRole('link', { name: new RegExp(TITLE) })
    .first()
    .waitFor({ state: 'visible', timeout: 30_000 });

async function firstLoadJs(
  browser: Browser,
  url: string,
  options: Parameters<typeof PhoneContext.open>[1],
  problems: string[],
  what: string,
  readySelector?: string,
): Promise<JsLoad> {
  // A new context is a first visit: no HTTP cache, no service worker. Only gzip is accepted, so what is
  // counted is what the budget names.
  const phone = await PhoneContext.open(browser, {
    ...options,
    extraHTTPHeaders: { 'accept-encoding': 'gzip' },
  });
  try {
    const page = await phone.newPage();
    const pending: Array<Promise<JsLoad['scripts'][number] | null>> = [];
    page.on('requestfinished', (request) => {
      if (request.resourceType() !== 'script') return;
      pending.push(
        Promise.all([request.sizes(), request.response()]).then(([sizes, response]) => ({
          path: new URL(request.url()).pathname,
          bytes: sizes.responseBodySize,
          encoding: response?.headers()['content-encoding'] ?? 'identity',
        })),
      );
    });
    await page.goto(url);
    if (readySelector) await page.locator(readySelector).first().waitFor({ timeout: 30_000 });
    else await dealListShown(page);
    await page.waitForLoadState('networkidle');
    const scripts = (await Promise.all(pending)).filter((s) => s !== null);
    try {
      phone.expectClean(what);
    } catch (err) {
      problems.push((err as Error).message);
    }
    const gzSize = (path: string) => {
      try {
        return statSync(join(CLIENT_DIR, `${path}.gz`)).size;
      } catch {
        return 0;
      }
    };
    return {
      transferred: scripts.reduce((sum, s) => sum + s.bytes, 0),
      gzFiles: scripts.reduce((sum, s) => sum + gzSize(s.path), 0),
      scripts,
    };
  } finally {
    await phone.close();
  }
}

async function offlineListTimes(
  browser: Browser,
  p: Pipeline,
  signedIn: NonNullable<Parameters<typeof PhoneContext.open>[1]>['storageState'],
  problems: string[],
): Promise<number[]> {
  const phone = await PhoneContext.open(browser, { storageState: signedIn });
  try {
    // Records when a link naming a seeded deal first becomes visible, in ms since navigation start.
    // (Browser code as text: this package is type-checked without the DOM library.)
    await phone.context.addInitScript({
      content: `(() => {
        const title = ${JSON.stringify(TITLE)};
        const check = () => {
          if (window.__dealListAt !== undefined) return;
          for (const a of document.querySelectorAll('a')) {
            if (a.textContent.includes(title) && a.checkVisibility()) {
              window.__dealListAt = performance.now();
              observer.disconnect();
              return;
            }
          }
        };
        const observer = new MutationObserver(check);
        observer.observe(document, { childList: true, subtree: true, characterData: true });
      })();`,
    });
    const page = await phone.newPage();
    await page.goto(`${p.appUrl}/`);
    await dealListShown(page);
    await waitForServiceWorker(page);
    // Once more online under the service worker, so the shell and the list are in its caches.
    await page.reload();
    await dealListShown(page);
    await page.waitForLoadState('networkidle');
    await phone.goOffline([p.apiUrl, p.appUrl, p.assistUrl]);
    const times: number[] = [];
    for (let i = 0; i < OFFLINE_RUNS; i++) {
      await page.goto(`${p.appUrl}/`);
      const at = await waitForValue<number>(page, 'window.__dealListAt', 'the deals list offline');
      times.push(at);
    }
    await phone.goOnline();
    try {
      phone.expectClean('offline runs');
    } catch (err) {
      problems.push((err as Error).message);
    }
    return times;
  } finally {
    await phone.close();
  }
}

/**
 * One Lighthouse audit of the signed-in deals page in a fresh Chromium profile. The session is put in
 * localStorage from a page of the app's origin that loads none of the app (/readyz), and Lighthouse is
 * told not to reset storage, so it audits a first visit of a signed-in user rather than the sign-in page.
 */
async function lighthouseRun(appUrl: string, session: string): Promise<LighthouseRun> {
  const profile = mkdtempSync(join(tmpdir(), 'amanat-lighthouse-'));
  const port = await findFreePort();
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    args: [...CHROMIUM_ARGS, `--remote-debugging-port=${port}`],
  });
  try {
    const page = context.pages()[0] ?? (await context.newPage());
    await page.goto(`${appUrl}/readyz`);
    await page.evaluate(
      ([key, value]) => localStorage.setItem(key as string, value as string),
      [SESSION_KEY, session],
    );
    await page.goto('about:blank');
    const result = await lighthouse(`${appUrl}/`, {
      port,
      logLevel: 'error',
      output: 'json',
      onlyCategories: ['performance', 'accessibility', 'best-practices'],
      disableStorageReset: true,
      formFactor: 'mobile',
    });
    if (!result) throw new Error('Lighthouse returned no result');
    const { categories, audits } = result.lhr;
    const score = (id: string) => Math.round((categories[id]?.score ?? 0) * 100);
    const failing = Object.values(categories)
      .flatMap((c) => c.auditRefs.filter((r) => r.weight > 0).map((r) => audits[r.id]))
      .filter((a) => a && a.score !== null && a.score < 0.9)
      .map((a) => `${a?.id} (${Math.round((a?.score ?? 0) * 100)})`);
    // The audit is of the deals page only if the session held.
    if (new URL(result.lhr.finalDisplayedUrl).pathname !== '/') {
      throw new Error(`Lighthouse audited ${result.lhr.finalDisplayedUrl}, not the deals page`);
    }
    return {
      performance: score('performance'),
      accessibility: score('accessibility'),
      bestPractices: score('best-practices'),
      failing: [...new Set(failing)],
    };
  } finally {
    await context.close();
    rmSync(profile, { recursive: true, force: true });
  }
}

/** Prints the figures next to their targets; true when the app did not behave. */
function report(f: Figures): boolean {
  const ok = (b: boolean) => (b ? 'ok' : 'MISSED');
  const row = (name: string, value: string, target = '', verdict = '') =>
    console.log(`  ${name.padEnd(52)} ${value.padEnd(18)} ${target.padEnd(10)} ${verdict}`.trimEnd());
  const note = (text: string) => console.log(`        ${text}`);
  const kb = (bytes: number) => `${(bytes / 1024).toFixed(1)} KB`;

  console.log(
    `\nbench:app (production build served by app/server.ts, real API; Chromium ${CHROMIUM} at 390×844, ` +
      `${DEALS} deals in the list)`,
  );
  row('', 'figure', 'target');
  console.log('  JavaScript transferred on the first load of the deals page (gzip)');
  const js = (name: string, load: JsLoad) => {
    row(
      `  ${name}`,
      kb(load.transferred),
      `<= ${TARGET.jsKb} KB`,
      ok(load.transferred <= TARGET.jsKb * 1024),
    );
    const encodings = [...new Set(load.scripts.map((s) => s.encoding))].join(', ');
    note(
      `${load.scripts.length} scripts, content-encoding ${encodings}; their .gz files sum to ${kb(load.gzFiles)}`,
    );
  };
  js('web', f.web);
  if (f.miniApp) {
    js('Mini App (Telegram SDK included)', f.miniApp);
    const web = new Set(f.web.scripts.map((s) => s.path));
    const extra = f.miniApp.scripts.filter((s) => !web.has(s.path));
    note(
      `only in the Mini App: ${extra.map((s) => `${s.path.split('/').at(-1)} ${kb(s.bytes)}`).join(', ') || 'nothing'}`,
    );
  } else row('  Mini App (Telegram SDK included)', 'not measured', `<= ${TARGET.jsKb} KB`, 'MISSED');
  if (f.miniAppProblem) note(f.miniAppProblem);

  console.log(`  Lighthouse, mobile, signed-in deals page (median of ${f.lighthouse.length} runs)`);
  for (const [name, key] of [
    ['performance', 'performance'],
    ['accessibility', 'accessibility'],
    ['best practices', 'bestPractices'],
  ] as const) {
    const scores = f.lighthouse.map((r) => r[key]);
    const m = median(scores);
    row(`  ${name}`, String(m), `>= ${TARGET.score}`, ok(m >= TARGET.score));
    note(`runs: ${scores.join(', ')}`);
  }
  const failing = [...new Set(f.lighthouse.flatMap((r) => r.failing))];
  if (failing.length > 0) note(`audits below 90 in some run: ${failing.join(', ')}`);

  if (f.offlineMs.length > 0) {
    const offline = median(f.offlineMs);
    row(`deals list from the cache, offline (median of ${f.offlineMs.length})`, `${offline.toFixed(0)} ms`);
    note(`navigation start to the list visible; runs: ${f.offlineMs.map((t) => t.toFixed(0)).join(', ')} ms`);
  } else {
    row('deals list from the cache, offline', 'not measured');
  }

  for (const p of f.problems) note(p);
  return f.problems.length > 0;
}
