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
        id: '00000000-0000-4000-8000-000000000051',
        telegramId: '51',
        username: 'sam',
        displayName: 'Sam',
        language: 'en',
        roles: [],
      },
    }),
  );
});
const goto = vi.hoisted(() => vi.fn());
vi.mock('$app/navigation', () => ({ goto }));
vi.mock('$app/state', () => ({ page: { params: {}, url: new URL('http://app.test/') } }));

const { default: Page } = await import('../+page.svelte');
const { outbox } = await import('#lib/offline/outbox.svelte.ts');
const { takeCreateDraft } = await import('#lib/deals/draft.ts');

class SilentSocket {
  readyState = 0;
  onopen = null;
  onmessage = null;
  onclose = null;
  onerror = null;
  send() {}
  close() {}
}

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
const body = {
  title: 'Lens',
  description: '',
  amount: '40',
  asset: { chainId: 1, token: USDT },
  role: 'buyer' as const,
  address: ADDRESS,
  paymentWindowSec: 86_400,
  deliveryPeriodSec: 604_800,
  inspectionPeriodSec: 259_200,
  feePayer: 'seller' as const,
};
const listed = (id: string, title: string) => ({
  id,
  title,
  state: 'draft',
  version: 1,
  yourRole: 'seller',
  asset: { chainId: 1, token: USDT, symbol: 'USDT', decimals: 6 },
  price: '1000000',
  seller: null,
  buyer: null,
  invite: null,
  funding: { status: 'unpaid', confirmed: '0', confirming: '0', remaining: '1000000' },
  deadlines: { payment: null, delivery: null, inspection: null },
  needsReview: false,
});

const json = (status: number, data: unknown) =>
  new Response(JSON.stringify(data), {
    status,
    headers: { 'content-type': status >= 400 ? 'application/problem+json' : 'application/json' },
  });

let listAnswer: (url: URL) => Promise<Response>;

beforeEach(async () => {
  goto.mockClear();
  listAnswer = async () => json(200, { deals: [], nextCursor: null });
  vi.stubGlobal('WebSocket', SilentSocket);
  vi.stubGlobal(
    'fetch',
    vi.fn(async (input: URL | string, init: RequestInit = {}) => {
      const url = new URL(String(input));
      if (url.pathname === '/api/assets') return json(200, assets);
      if (url.pathname === '/api/deals' && init.method === 'POST')
        return json(422, { code: 'amount_too_precise', detail: 'USDT has 6 decimals; …' });
      if (url.pathname === '/api/deals') return listAnswer(url);
      return json(404, { code: 'not_found', detail: 'no' });
    }),
  );
  for (const e of outbox.entries) await outbox.dismiss(e.id);
});
afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

describe('deals list', () => {
  it('explains a refused queued create, shows its amount with the symbol, and hands it back for editing', async () => {
    await outbox.enqueue({ kind: 'createDeal', body });
    await waitFor(() => expect(outbox.entries[0]?.status).toBe('rejected'));
    render(Page);
    await screen.findByText('The price has more digits after the point than this token allows.');
    await screen.findByText('40 USDT');
    await fireEvent.click(screen.getByRole('button', { name: 'Edit and try again' }));
    await waitFor(() => expect(goto).toHaveBeenCalledWith('/deals/new'));
    expect(takeCreateDraft()).toEqual(body);
    expect(outbox.entries).toHaveLength(0);
  });

  it('drops a page that arrives after the filter changed', async () => {
    let releaseOld: (r: Response) => void = () => {};
    listAnswer = async (url) => {
      if (url.searchParams.get('cursor')) return new Promise<Response>((resolve) => (releaseOld = resolve));
      if (url.searchParams.get('status'))
        return json(200, {
          deals: [listed('00000000-0000-4000-8000-0000000000f1', 'Finished one')],
          nextCursor: null,
        });
      return json(200, {
        deals: [listed('00000000-0000-4000-8000-0000000000a1', 'First')],
        nextCursor: 'c2',
      });
    };
    render(Page);
    await fireEvent.click(await screen.findByRole('button', { name: 'Load more' }));
    await fireEvent.change(screen.getByLabelText('Show'), { target: { value: 'finished' } });
    await screen.findByText('Finished one');
    releaseOld(
      json(200, { deals: [listed('00000000-0000-4000-8000-0000000000a2', 'Old page')], nextCursor: null }),
    );
    // Let the old page's answer arrive and be handled (or dropped).
    await new Promise((r) => setTimeout(r, 20));
    expect(screen.queryByText('Old page')).toBeNull();
    expect(screen.getByText('Finished one')).toBeTruthy();
  });
});
