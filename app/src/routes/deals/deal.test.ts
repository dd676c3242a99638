import { cleanup, fireEvent, render, screen, waitFor } from '@testing-library/svelte';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

const DEAL_ID = '7a1c2a4e-5b6d-4e7f-8a9b-0c1d2e3f4a5b';
const SELLER = '0x1111111111111111111111111111111111111111';
const BUYER = '0x2222222222222222222222222222222222222222';

vi.hoisted(() => {
  localStorage.setItem('amanat.locale', 'en');
  localStorage.setItem(
    'amanat.session',
    JSON.stringify({
      token: 'buyer-token',
      expiresAt: new Date(Date.now() + 3_600_000).toISOString(),
      user: {
        id: '00000000-0000-4000-8000-000000000022',
        telegramId: '22',
        username: 'bea',
        displayName: 'Bea',
        language: 'en',
        roles: [],
      },
    }),
  );
});
vi.mock('$app/navigation', () => ({ goto: vi.fn() }));
vi.mock('$app/state', () => import('#lib/testing/page-state.svelte.ts'));

const { default: Page } = await import('./[id]/+page.svelte');
const { primaryAction } = await import('#lib/state/primary-action.svelte.ts');
const { network } = await import('#lib/state/network.svelte.ts');
const { page } = await import('#lib/testing/page-state.svelte.ts');
const OTHER_ID = '9b2d3c4e-5b6d-4e7f-8a9b-0c1d2e3f4a5c';

/** A socket that never connects: these tests exercise the screen, not the live client. */
class SilentSocket {
  readyState = 0;
  onopen = null;
  onmessage = null;
  onclose = null;
  onerror = null;
  send() {}
  close() {}
}

const party = (name: string, address: string) => ({
  userId: crypto.randomUUID(),
  displayName: name,
  username: name.toLowerCase(),
  address,
  acceptedAt: '2025-01-01T00:00:00.000Z',
});

/** 100 USDT, delivered; the seller pays a 1.5 USDT fee. The user is the buyer. */
const deal = (state = 'delivered', version = 5) => ({
  id: DEAL_ID,
  title: 'Bicycle',
  description: 'Red, 26 inch',
  state,
  needsReview: false,
  reviewReasons: [],
  version,
  asset: { chainId: 1, token: '0xdAC17F958D2ee523a2206206994597C13D831ec7', symbol: 'USDT', decimals: 6 },
  price: '100000000',
  amountDue: '100000000',
  fee: '1500000',
  sellerFee: '1500000',
  buyerFee: '0',
  display: { price: '100', amountDue: '100', fee: '1.5' },
  feeTerms: { feeBps: 150, feeMin: '1000000', feePayer: 'seller' },
  periods: { paymentWindowSec: 86400, deliveryPeriodSec: 604800, inspectionPeriodSec: 259200 },
  deadlines: {
    payment: '2025-01-02T00:00:00.000Z',
    delivery: '2099-01-09T00:00:00.000Z',
    inspection: '2099-01-12T00:00:00.000Z',
  },
  funding: { status: 'funded', confirmed: '100000000', confirming: '0', remaining: '0' },
  seller: party('Sam', SELLER),
  buyer: party('Bea', BUYER),
  depositAddress: '0x3333333333333333333333333333333333333333',
  yourRole: 'buyer',
  invite: null,
  createdAt: '2025-01-01T00:00:00.000Z',
  updatedAt: '2025-01-02T00:00:00.000Z',
  payments: [],
});
const activity = {
  entries: [
    {
      seq: 1,
      at: '2025-01-01T10:00:00.000Z',
      actor: { kind: 'user', userId: 'u', role: 'seller' },
      action: 'create',
      stateBefore: null,
      stateAfter: 'draft',
      facts: {},
      prevHash: '0'.repeat(64),
      hash: '1'.repeat(64),
    },
  ],
  verification: { ok: true, problems: [] },
};

const json = (status: number, body: unknown) =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });

let current = deal();
const calls: Array<{ url: string; init: RequestInit }> = [];
const released = async () => json(200, { ...current, state: 'releasing', version: 6 });
let confirmAnswer: () => Promise<Response> = released;

beforeEach(() => {
  page.params = { id: DEAL_ID };
  current = deal();
  calls.length = 0;
  confirmAnswer = released;
  network.online = true;
  vi.stubGlobal('WebSocket', SilentSocket);
  vi.stubGlobal(
    'fetch',
    vi.fn(async (input: URL | string, init: RequestInit = {}) => {
      const url = String(input);
      calls.push({ url, init });
      if (url.endsWith('/activity')) return json(200, activity);
      if (url.endsWith('/confirm')) return confirmAnswer();
      if (url.includes(OTHER_ID)) return json(200, { ...current, id: OTHER_ID, title: 'Kettle' });
      return json(200, current);
    }),
  );
});
afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

const confirmCalls = () => calls.filter((c) => c.url.endsWith('/confirm'));

describe('deal screen', () => {
  it('starts clean on another deal: an open confirmation does not carry over', async () => {
    render(Page);
    await screen.findByRole('heading', { name: 'Bicycle' });
    await waitFor(() => expect(primaryAction.current?.label).toBe('Confirm receipt'));
    await primaryAction.trigger();
    await screen.findByRole('button', { name: 'Yes, release the money' });
    page.params = { id: OTHER_ID };
    await screen.findByRole('heading', { name: 'Kettle' });
    expect(screen.queryByRole('button', { name: 'Yes, release the money' })).toBeNull();
    expect(screen.queryByRole('heading', { name: 'Bicycle' })).toBeNull();
  });

  it('shows the terms, the parties and a verified history', async () => {
    render(Page);
    await screen.findByRole('heading', { name: 'Bicycle' });
    expect(screen.getByText('Delivered')).toBeTruthy();
    // Price and what the buyer pays (the seller pays the fee).
    expect(screen.getAllByText('100 USDT', { selector: 'dd' })).toHaveLength(2);
    expect(screen.getByText(/Sam \(@sam\)/)).toBeTruthy();
    expect(screen.getByText(SELLER)).toBeTruthy();
    expect(screen.getByText(BUYER)).toBeTruthy();
    expect(screen.getByText('Verified', { exact: false })).toBeTruthy();
  });

  it('asks before confirming receipt, saying what the seller receives, then releases once', async () => {
    render(Page);
    await screen.findByRole('heading', { name: 'Bicycle' });
    await waitFor(() => expect(primaryAction.current?.label).toBe('Confirm receipt'));
    await primaryAction.trigger();
    await screen.findByRole('heading', { name: 'Confirm that you received what you paid for' });
    expect(screen.getByText('The seller receives 98.5 USDT. This cannot be undone.')).toBeTruthy();
    expect(confirmCalls()).toHaveLength(0);

    await fireEvent.click(screen.getByRole('button', { name: 'Yes, release the money' }));
    await screen.findByText('Receipt confirmed: the money is on its way to the seller.');
    expect(confirmCalls()).toHaveLength(1);
    const call = confirmCalls()[0];
    expect(JSON.parse(String(call?.init.body))).toEqual({ version: 5 });
    expect((call?.init.headers as Record<string, string> | undefined)?.['idempotency-key']).toMatch(
      /^[0-9a-f-]{36}$/,
    );
  });

  it('refuses to confirm receipt offline and changes nothing', async () => {
    render(Page);
    await screen.findByRole('heading', { name: 'Bicycle' });
    await waitFor(() => expect(primaryAction.current?.label).toBe('Confirm receipt'));
    await primaryAction.trigger();
    network.online = false;
    await fireEvent.click(await screen.findByRole('button', { name: 'Yes, release the money' }));
    expect(
      (
        await screen.findAllByText(
          "You're offline: confirming receipt needs the network. Nothing was changed.",
        )
      ).length,
    ).toBeGreaterThan(0);
    expect(confirmCalls()).toHaveLength(0);
    expect(screen.getByText('Delivered')).toBeTruthy();
  });

  it('when a sent confirmation gets no answer, says the result is unknown rather than that nothing changed', async () => {
    confirmAnswer = async () => {
      throw new TypeError('Failed to fetch');
    };
    render(Page);
    await screen.findByRole('heading', { name: 'Bicycle' });
    await waitFor(() => expect(primaryAction.current?.label).toBe('Confirm receipt'));
    await primaryAction.trigger();
    await fireEvent.click(await screen.findByRole('button', { name: 'Yes, release the money' }));
    await screen.findByText(/we do not know whether your confirmation went through/);
    expect(screen.queryByText(/Nothing was changed/)).toBeNull();
    expect(screen.getByText('Delivered')).toBeTruthy();
  });

  it('retries a confirmation that got no answer with the same Idempotency-Key', async () => {
    let failures = 1;
    confirmAnswer = async () => {
      if (failures-- > 0) throw new TypeError('Failed to fetch');
      return released();
    };
    render(Page);
    await screen.findByRole('heading', { name: 'Bicycle' });
    await waitFor(() => expect(primaryAction.current?.label).toBe('Confirm receipt'));
    await primaryAction.trigger();
    await fireEvent.click(await screen.findByRole('button', { name: 'Yes, release the money' }));
    await screen.findByText(/we do not know whether your confirmation went through/);
    await fireEvent.click(screen.getByRole('button', { name: 'Yes, release the money' }));
    await screen.findByText('Receipt confirmed: the money is on its way to the seller.');
    const keys = confirmCalls().map((c) => (c.init.headers as Record<string, string>)['idempotency-key']);
    expect(keys).toHaveLength(2);
    expect(keys[0]).toMatch(/^[0-9a-f-]{36}$/);
    expect(keys[1]).toBe(keys[0]);
  });

  it('queues a dispute message that got no answer under the key the attempt used', async () => {
    current = { ...deal('disputed'), funding: deal().funding };
    let failures = 1;
    const messageCalls = () => calls.filter((c) => c.url.endsWith('/dispute/messages'));
    vi.stubGlobal(
      'fetch',
      vi.fn(async (input: URL | string, init: RequestInit = {}) => {
        const url = String(input);
        calls.push({ url, init });
        if (url.endsWith('/activity')) return json(200, activity);
        if (url.endsWith('/dispute/messages') && failures-- > 0) throw new TypeError('Failed to fetch');
        return json(200, current);
      }),
    );
    render(Page);
    await screen.findByRole('heading', { name: 'Bicycle' });
    await fireEvent.input(screen.getByLabelText('Your message'), { target: { value: 'It never came.' } });
    await fireEvent.click(screen.getByRole('button', { name: 'Send' }));
    await screen.findByText(
      'Amanat could not be reached: the message will be sent when the connection is back.',
    );
    // The outbox sends it at once (online) with the first attempt's key: the server posts it once.
    await waitFor(() => expect(messageCalls()).toHaveLength(2));
    const keys = messageCalls().map((c) => (c.init.headers as Record<string, string>)['idempotency-key']);
    expect(keys[1]).toBe(keys[0]);
  });
});
