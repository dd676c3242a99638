// The app in a real browser (Debian's Chromium at phone size) against the real pipeline: API, workers,
// scanner, PostgreSQL, Redis and anvil, with the production build served by app/server.ts. One deal's
// story, step by step: the seller creates it inside Telegram (mocked launch parameters, Telegram's main
// button), the buyer joins on the web and pays on the local chain, the status turns funded live; then the
// service worker keeps the deals readable offline, a deal created offline is sent exactly once when the
// network returns, and confirming receipt offline is refused. Every page must log no console errors.
import type { Browser, Page } from 'playwright-core';
import { type Address, formatUnits } from 'viem';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { PAYOUT_ADDRESS, REFUND_ADDRESS, testInitData } from '../api/src/testing.ts';
import { apiClient } from '../devstack/api-client.ts';
import { type AnvilHandle, DEMO_TOKENS, deployDemoTokens, startAnvil } from '../devstack/chain.ts';
import { type ChainClients, chainClients, mine, sendToken } from '../devstack/test-chain.ts';
import {
  launchBrowser,
  PhoneContext,
  screenshot,
  telegramLaunchUrl,
  waitForServiceWorker,
  waitForValue,
} from './browser.ts';
import { type Pipeline, startPipeline } from './harness.ts';

const USDT = DEMO_TOKENS.usdt.address as Address;
const CONFIRMATIONS = 2;
const run = Date.now().toString(36);
const SELLER_TG = 810_000_000 + Math.floor(Math.random() * 1_000_000) * 4;
const BUYER_TG = SELLER_TG + 1;
const TITLE = `Vintage camera ${run}`;
const OFFLINE_TITLE = `Offline order ${run}`;
const PRICE = '125.5';
/** Conditions in a real browser against real services: generous, but they end. */
const UI_WAIT = 30_000;
const CHAIN_WAIT = 90_000;

let anvil: AnvilHandle;
let chain: ChainClients;
let p: Pipeline;
let browser: Browser;
let seller: PhoneContext;
let buyer: PhoneContext;
let sellerPage: Page;
let buyerPage: Page;
/** Filled in as the story goes. */
const deal = { id: '', webLink: '', deposit: '' as Address, amountDue: 0n };

beforeAll(async () => {
  anvil = await startAnvil();
  chain = chainClients(anvil.rpcUrl);
  await deployDemoTokens(anvil.rpcUrl);
  p = await startPipeline({
    rpcUrls: { 31337: [anvil.rpcUrl] },
    registry: { chains: { 31337: { confirmations: CONFIRMATIONS } } },
    env: { api: { DEV_SIGN_IN: 'true' }, app: { PUBLIC_DEV_SIGN_IN: 'true' } },
  });
  await p.startAll();
  // Before the app, so it offers the assistant screen.
  await p.start('assist');
  await p.start('app');
  browser = await launchBrowser();
  seller = await PhoneContext.open(browser);
  buyer = await PhoneContext.open(browser);
  sellerPage = await seller.newPage();
  buyerPage = await buyer.newPage();
}, 300_000);

afterAll(async () => {
  await browser?.close();
  await p?.close();
  await anvil?.stop();
});

// No page may log a console error or throw: checked after every step.
afterEach(() => {
  const problems: string[] = [];
  for (const [who, phone] of [
    ['seller', seller],
    ['buyer', buyer],
  ] as const) {
    try {
      phone?.expectClean(who);
    } catch (err) {
      problems.push((err as Error).message);
    }
  }
  if (problems.length > 0) throw new Error(problems.join('\n'));
});

/** A step of the story; its failure carries the tail of every service's output. */
function step(name: string, body: () => Promise<void>, timeout = 180_000) {
  it(
    name,
    async () => {
      try {
        await body();
      } catch (err) {
        const e = err instanceof Error ? err : new Error(String(err));
        const out = [...(p?.services.values() ?? [])].map(
          (s) => `--- ${s.name} ---\n${s.output().slice(-3000)}`,
        );
        e.message += `\n\nServices' output (tails):\n${out.join('\n')}`;
        throw e;
      }
    },
    timeout,
  );
}

const telegramCalls = (page: Page) =>
  page.evaluate('window.__telegramCalls ?? []') as Promise<Array<{ method: string; params: unknown }>>;

/** Waits until Telegram's main button shows `label` and can be pressed, then presses it. */
async function pressMainButton(page: Page, label: string): Promise<void> {
  await waitForValue(
    page,
    `(() => {
      const setups = (window.__telegramCalls ?? []).filter((c) => c.method === 'web_app_setup_main_button');
      const last = setups.at(-1)?.params;
      return last && last.text === ${JSON.stringify(label)} && last.is_visible === true && last.is_active !== false;
    })()`,
    `Telegram's main button to offer "${label}"`,
    UI_WAIT,
  ).catch(async (err: Error) => {
    const setups = (await telegramCalls(page)).filter((c) => c.method === 'web_app_setup_main_button');
    throw new Error(`${err.message}; its last setups: ${JSON.stringify(setups.slice(-3))}`);
  });
  // What a Telegram client does when the user taps the button.
  await page.evaluate(`window.Telegram.WebView.receiveEvent('main_button_pressed')`);
}

/** The web's primary action: the button at the bottom of the screen. */
const primaryButton = (page: Page, label: string) =>
  page.locator('.primary-bar').getByRole('button', { name: label });

const dealsWithTitle = async (title: string) =>
  Number((await p.db.pool.query(`SELECT count(*) FROM deals WHERE title = $1`, [title])).rows[0].count);

describe('the app in a phone browser', () => {
  step('the seller opens the Mini App: signed in by Telegram, expanded, the main button set up', async () => {
    await sellerPage.goto(telegramLaunchUrl(p.appUrl, testInitData(SELLER_TG)));
    await sellerPage.getByRole('heading', { name: 'Your deals' }).waitFor({ timeout: UI_WAIT });
    await sellerPage.getByRole('navigation').getByRole('link', { name: 'New deal' }).click();
    await sellerPage.getByRole('heading', { name: 'New deal' }).waitFor({ timeout: UI_WAIT });
    const calls = await telegramCalls(sellerPage);
    const methods = calls.map((c) => c.method);
    expect(methods).toContain('web_app_expand');
    expect(methods).toContain('web_app_setup_main_button');
    // Inside Telegram the web's own bottom button is not shown: the main button is the primary action.
    expect(await sellerPage.locator('.primary-bar').count()).toBe(0);
  });

  step('the seller creates a deal through the form and the main button, and gets the invite', async () => {
    const page = sellerPage;
    await page.getByLabel('What is the deal about?').fill(TITLE);
    await page.getByLabel('Details (optional)').fill('A film camera in working order, with its case.');
    await page.getByLabel('I sell').check();
    await page.getByLabel('Currency and network').selectOption({ label: 'USDT on Local (anvil)' });
    await page.getByLabel(/^Price in USDT/).fill(PRICE);
    await page.getByLabel('Your payout address').fill(PAYOUT_ADDRESS);
    await screenshot(page, 'create');
    await pressMainButton(page, 'Create the deal');

    await page.waitForURL(/\/deals\/[0-9a-f-]{36}$/, { timeout: UI_WAIT });
    deal.id = new URL(page.url()).pathname.split('/').at(-1) as string;
    await page.getByRole('heading', { name: TITLE }).waitFor({ timeout: UI_WAIT });
    await page.getByRole('heading', { name: 'Invite the other party' }).waitFor();
    const link = page.getByRole('link', { name: /\/join\/[A-Z0-9]{10}$/ });
    deal.webLink = (await link.textContent())?.trim() ?? '';
    expect(deal.webLink).toMatch(new RegExp(`^${p.appUrl}/join/[A-HJ-NP-Z2-9]{10}$`));
    await screenshot(page, 'deal-draft');

    const record = await p.deal(deal.id);
    expect(record).toMatchObject({ title: TITLE, state: 'draft' });
    expect(record.quote.price).toBe(125_500_000n);
  });

  step('the buyer opens the invite on the web, signs in, joins, and both accept', async () => {
    const page = buyerPage;
    await page.goto(deal.webLink);
    // Not signed in: the sign-in page, then back to the invite.
    await page.getByRole('heading', { name: 'Sign in' }).waitFor({ timeout: UI_WAIT });
    await screenshot(page, 'login');
    await page.getByLabel('Telegram id').fill(String(BUYER_TG));
    await page.getByRole('button', { name: 'Sign in with this id' }).click();
    await page.getByRole('heading', { name: `Join “${TITLE}”` }).waitFor({ timeout: UI_WAIT });
    await page.getByLabel('Your refund address').fill(REFUND_ADDRESS);
    await screenshot(page, 'join');
    await primaryButton(page, 'Join the deal').click();
    await page.waitForURL(`${p.appUrl}/deals/${deal.id}`, { timeout: UI_WAIT });
    await primaryButton(page, 'Accept the terms').click();
    await p.waitForDeal(deal.id, (d) => Boolean(d.buyer?.acceptedAt), 'accepted by the buyer');

    // The seller's deal page learns of the buyer's acceptance live (no reload); then the seller accepts
    // with the main button, on the deal's current version.
    await sellerPage.getByText('· accepted', { exact: true }).waitFor({ timeout: UI_WAIT });
    await pressMainButton(sellerPage, 'Accept the terms');
    await p.waitForDeal(deal.id, (d) => d.state === 'awaiting_payment', 'awaiting payment');
  });

  step('the buyer sees the payment screen with the deposit address and the exact amount', async () => {
    const page = buyerPage;
    const record = await p.deal(deal.id);
    deal.deposit = record.deposit?.address as Address;
    deal.amountDue = record.quote.amountDue;
    expect(deal.deposit).toMatch(/^0x[0-9a-fA-F]{40}$/);

    await primaryButton(page, 'Pay').click({ timeout: UI_WAIT });
    await page.waitForURL(`${p.appUrl}/deals/${deal.id}/pay`, { timeout: UI_WAIT });
    await page.getByRole('heading', { name: `Pay for “${TITLE}”` }).waitFor({ timeout: UI_WAIT });
    // Exactly what the API computed: the deposit address and the amount due, to the last base unit.
    const amount = page.getByTestId('pay-amount');
    await amount.waitFor({ timeout: UI_WAIT });
    expect((await amount.textContent())?.trim()).toBe(`${formatUnits(deal.amountDue, 6)} USDT`);
    expect((await page.getByTestId('pay-address').textContent())?.trim().toLowerCase()).toBe(
      deal.deposit.toLowerCase(),
    );
    await screenshot(page, 'payment');
  });

  step('paid on the chain, the payment screen turns funded without a reload', async () => {
    const page = buyerPage;
    await page.evaluate('window.__sameDocument = true');
    await sendToken(chain, USDT, deal.deposit, deal.amountDue);
    await mine(chain, CONFIRMATIONS);
    await p.waitForDeal(deal.id, (d) => d.state === 'funded', 'funded', CHAIN_WAIT);
    await page
      .getByText('Paid in full. The seller has been told to deliver.')
      .waitFor({ timeout: UI_WAIT })
      .catch((err: Error) => {
        throw new Error(`the server has the deal funded, the page never said so:\n${err.message}`);
      });
    expect(await page.evaluate('window.__sameDocument')).toBe(true);
    await screenshot(page, 'payment-funded');
  });

  step('offline, a reload still shows the deals from the cache', async () => {
    const page = buyerPage;
    await waitForServiceWorker(page);
    // The create form's currencies and the list, seen once online, are what the cache holds.
    const nav = page.getByRole('navigation');
    await nav.getByRole('link', { name: 'New deal' }).click();
    await page
      .getByRole('option', { name: 'USDT on Local (anvil)' })
      .waitFor({ state: 'attached', timeout: UI_WAIT });
    await nav.getByRole('link', { name: 'Deals' }).click();
    await page.getByRole('link', { name: new RegExp(TITLE) }).waitFor({ timeout: UI_WAIT });
    await page.waitForLoadState('networkidle');
    await screenshot(page, 'deals');

    await buyer.goOffline([p.apiUrl, p.appUrl, p.assistUrl]);
    await page.reload();
    await page.getByRole('link', { name: new RegExp(TITLE) }).waitFor({ timeout: UI_WAIT });
    await screenshot(page, 'deals-offline');
  });

  step('a deal created offline is sent once when the network returns', async () => {
    const page = buyerPage;
    await page.getByRole('navigation').getByRole('link', { name: 'New deal' }).click();
    await page.getByRole('heading', { name: 'New deal' }).waitFor({ timeout: UI_WAIT });
    await page.getByLabel('What is the deal about?').fill(OFFLINE_TITLE);
    await page.getByLabel('I buy').check();
    await page.getByLabel('Currency and network').selectOption({ label: 'USDT on Local (anvil)' });
    await page.getByLabel(/^Price in USDT/).fill('40');
    await page.getByLabel('Your refund address').fill(REFUND_ADDRESS);
    await primaryButton(page, 'Create the deal').click();
    // Queued: back on the list, shown as waiting to be sent; the server has nothing yet.
    await page.waitForURL(`${p.appUrl}/`, { timeout: UI_WAIT });
    await page.getByText(OFFLINE_TITLE).first().waitFor({ timeout: UI_WAIT });
    await screenshot(page, 'deals-queued');
    expect(await dealsWithTitle(OFFLINE_TITLE)).toBe(0);

    await buyer.goOnline();
    await expect
      .poll(() => dealsWithTitle(OFFLINE_TITLE), {
        timeout: UI_WAIT,
        message: 'the queued deal never reached the server',
      })
      .toBe(1);
    await page.getByRole('link', { name: new RegExp(OFFLINE_TITLE) }).waitFor({ timeout: UI_WAIT });
    // Another reconnect and a reload replay nothing a second time.
    await page.evaluate(`window.dispatchEvent(new Event('online'))`);
    await page.reload();
    await page.getByRole('link', { name: new RegExp(OFFLINE_TITLE) }).waitFor({ timeout: UI_WAIT });
    await page.waitForLoadState('networkidle');
    expect(await dealsWithTitle(OFFLINE_TITLE)).toBe(1);
  });

  step('confirming receipt offline is refused with a clear message, and nothing changes', async () => {
    const page = buyerPage;
    const sellerToken = await p.signIn(SELLER_TG);
    await apiClient(p.apiUrl)('POST', `/api/deals/${deal.id}/deliver`, sellerToken, {});
    await page.getByRole('link', { name: new RegExp(TITLE) }).click();
    await page.waitForURL(`${p.appUrl}/deals/${deal.id}`, { timeout: UI_WAIT });
    await page.getByText('Delivered', { exact: true }).first().waitFor({ timeout: UI_WAIT });
    const before = await p.deal(deal.id);
    expect(before.state).toBe('delivered');

    await buyer.goOffline([p.apiUrl, p.appUrl, p.assistUrl]);
    await primaryButton(page, 'Confirm receipt').click();
    const yes = page.getByRole('button', { name: 'Yes, release the money' });
    if (await yes.isEnabled().catch(() => false)) await yes.click();
    await page
      .getByText("You're offline: confirming receipt needs the network. Nothing was changed.")
      .first()
      .waitFor({ timeout: UI_WAIT });
    await screenshot(page, 'confirm-offline');
    await buyer.goOnline();
    const after = await p.deal(deal.id);
    expect(after.state).toBe('delivered');
    expect(after.version).toBe(before.version);
  });

  step('under the service worker, a deal page opened directly (a link, a reload) loads', async () => {
    const page = buyerPage;
    await waitForServiceWorker(page);
    await page.goto(`${p.appUrl}/deals/${deal.id}`);
    await page.getByRole('heading', { name: TITLE }).waitFor({ timeout: UI_WAIT });
    await page.reload();
    await page.getByRole('heading', { name: TITLE }).waitFor({ timeout: UI_WAIT });
    await screenshot(page, 'deal');
  });

  step('the other main screens render at phone size', async () => {
    // The seller's Mini App is still on the deal page, updated live all along.
    await sellerPage.getByRole('heading', { name: TITLE }).waitFor({ timeout: UI_WAIT });
    await screenshot(sellerPage, 'deal-miniapp');
    await buyerPage.goto(`${p.appUrl}/settings`);
    await buyerPage.getByRole('heading', { level: 1 }).waitFor({ timeout: UI_WAIT });
    await buyerPage.waitForLoadState('networkidle');
    await screenshot(buyerPage, 'settings');
    await buyerPage.getByRole('navigation').getByRole('link', { name: 'Assistant' }).click();
    await buyerPage.waitForURL(`${p.appUrl}/assistant`, { timeout: UI_WAIT });
    await buyerPage.getByRole('heading', { level: 1 }).waitFor({ timeout: UI_WAIT });
    await screenshot(buyerPage, 'assistant');
  });
});
