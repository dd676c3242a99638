import { cleanup, fireEvent, render, screen, waitFor } from '@testing-library/svelte';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

const USDT = '0xdAC17F958D2ee523a2206206994597C13D831ec7';
const ADDRESS = '0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed';

vi.hoisted(() => {
  localStorage.setItem('amanat.locale', 'en');
  localStorage.setItem(
    'amanat.session',
    JSON.stringify({
      token: 'seller-token',
      expiresAt: new Date(Date.now() + 3_600_000).toISOString(),
      user: {
        id: '00000000-0000-4000-8000-000000000041',
        telegramId: '41',
        username: 'sam',
        displayName: 'Sam',
        language: 'en',
        roles: [],
      },
    }),
  );
});
vi.mock('$app/navigation', () => ({ goto: vi.fn() }));
vi.mock('$app/state', () => ({ page: { params: {}, url: new URL('http://app.test/deals/new') } }));

const { default: Page } = await import('./new/+page.svelte');
const { primaryAction } = await import('#lib/state/primary-action.svelte.ts');
const { network } = await import('#lib/state/network.svelte.ts');
const { outbox } = await import('#lib/offline/outbox.svelte.ts');
const { saveCreateDraft } = await import('#lib/deals/draft.ts');

const assets = {
  chains: [
    {
      chainId: 1,
      name: 'Ethereum',
      nativeSymbol: 'ETH',
      confirmations: 12,
      explorerUrl: null,
      tokens: [{ token: USDT, symbol: 'USDT', name: 'Tether', decimals: 6, minFee: '1000000' }],
    },
  ],
  feeBps: 150,
};

const json = (status: number, body: unknown) =>
  new Response(JSON.stringify(body), {
    status,
    headers: { 'content-type': status >= 400 ? 'application/problem+json' : 'application/json' },
  });

const creates: Array<{ key: string; body: Record<string, unknown> }> = [];
let createAnswer: () => Promise<Response>;

beforeEach(async () => {
  creates.length = 0;
  network.online = true;
  createAnswer = async () => json(201, { id: '7a1c2a4e-5b6d-4e7f-8a9b-0c1d2e3f4a5b' });
  vi.stubGlobal(
    'fetch',
    vi.fn(async (input: URL | string, init: RequestInit = {}) => {
      const url = String(input);
      if (url.endsWith('/api/assets')) return json(200, assets);
      if (url.endsWith('/api/deals') && init.method === 'POST') {
        creates.push({
          key: (init.headers as Record<string, string>)['idempotency-key'] ?? '',
          body: JSON.parse(String(init.body)),
        });
        return createAnswer();
      }
      return json(404, { code: 'not_found', detail: 'no' });
    }),
  );
  for (const e of outbox.entries) await outbox.dismiss(e.id);
});
afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

async function fill(amount: string) {
  render(Page);
  await screen.findByRole('option', { name: 'USDT on Ethereum' });
  await fireEvent.input(screen.getByLabelText('What is the deal about?'), { target: { value: 'Camera' } });
  await fireEvent.input(screen.getByLabelText(/^Price in USDT/), { target: { value: amount } });
  await fireEvent.input(screen.getByLabelText('Your payout address'), { target: { value: ADDRESS } });
}

describe('new deal', () => {
  it('sends the amount in its canonical spelling', async () => {
    await fill('1.500000');
    await primaryAction.trigger();
    await waitFor(() => expect(creates).toHaveLength(1));
    expect(creates[0]?.body.amount).toBe('1.5');
  });

  it('refuses an amount larger than the API accepts, before sending', async () => {
    await fill('10000000000000000');
    await primaryAction.trigger();
    await screen.findByText(/The price is too large/);
    expect(creates).toHaveLength(0);
  });

  it('queues a create that got no answer under the key the attempt used, so replay cannot make a second deal', async () => {
    let failures = 1;
    createAnswer = async () => {
      if (failures-- > 0) throw new TypeError('Failed to fetch');
      return json(201, { id: '7a1c2a4e-5b6d-4e7f-8a9b-0c1d2e3f4a5b' });
    };
    await fill('40');
    await primaryAction.trigger();
    // The outbox sends it at once (online): the server sees the same key twice and makes one deal.
    await waitFor(() => expect(creates).toHaveLength(2));
    expect(creates[0]?.key).toMatch(/^[0-9a-f-]{36}$/);
    expect(creates[1]?.key).toBe(creates[0]?.key);
    expect(creates[1]?.body).toEqual(creates[0]?.body);
  });

  it('opens with a refused deal handed back for editing', async () => {
    saveCreateDraft({
      title: 'Lens',
      description: '',
      amount: '12.5',
      asset: { chainId: 1, token: USDT },
      role: 'buyer',
      address: ADDRESS,
      paymentWindowSec: 86_400,
      deliveryPeriodSec: 604_800,
      inspectionPeriodSec: 259_200,
      feePayer: 'split',
    });
    render(Page);
    await screen.findByRole('option', { name: 'USDT on Ethereum' });
    expect((screen.getByLabelText('What is the deal about?') as HTMLInputElement).value).toBe('Lens');
    expect((screen.getByLabelText(/^Price in USDT/) as HTMLInputElement).value).toBe('12.5');
    expect((screen.getByLabelText('Your refund address') as HTMLInputElement).value).toBe(ADDRESS);
    expect((screen.getByLabelText('Split in half') as HTMLInputElement).checked).toBe(true);
  });

  it('names a field the API refused that the form does not show, instead of its raw path', async () => {
    createAnswer = async () =>
      json(400, {
        code: 'validation_failed',
        detail: 'Invalid body',
        errors: [{ in: 'body', path: 'feePayer', message: 'must be seller or split' }],
      });
    await fill('40');
    await primaryAction.trigger();
    await screen.findByText('Who pays the Amanat fee: must be seller or split');
  });
});
