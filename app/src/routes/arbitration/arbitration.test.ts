import { fireEvent, render, screen, waitFor, within } from '@testing-library/svelte';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

const DEAL_ID = '3f1c2a4e-5b6d-4e7f-8a9b-0c1d2e3f4a5b';
const SELLER = '0x1111111111111111111111111111111111111111';
const BUYER = '0x2222222222222222222222222222222222222222';

vi.hoisted(() => {
  Object.assign(globalThis, {
    __sveltekit_dev: {
      env: { PUBLIC_API_URL: 'http://api.test', PUBLIC_ASSIST_URL: '', PUBLIC_DEV_SIGN_IN: false },
    },
  });
  localStorage.setItem(
    'amanat.session',
    JSON.stringify({
      token: 'arb-token',
      expiresAt: new Date(Date.now() + 3_600_000).toISOString(),
      user: {
        id: '00000000-0000-4000-8000-000000000002',
        telegramId: '2',
        username: null,
        displayName: 'Ari',
        language: 'en',
        roles: ['arbitrator'],
      },
    }),
  );
});
vi.mock('$app/navigation', () => ({ goto: vi.fn() }));
vi.mock('$app/state', () => ({
  page: { params: { id: '3f1c2a4e-5b6d-4e7f-8a9b-0c1d2e3f4a5b' }, url: new URL('http://app.test/') },
}));

const { default: Page } = await import('./[id]/+page.svelte');

const party = (name: string, address: string) => ({
  userId: crypto.randomUUID(),
  displayName: name,
  username: null,
  address,
  acceptedAt: '2025-01-01T00:00:00.000Z',
});

/** A disputed deal of 100 USDT, the seller paying a 1.5 % fee (at least 1 USDT), fully funded. */
const deal = (version: number) => ({
  id: DEAL_ID,
  title: 'Bicycle',
  description: '',
  state: 'disputed',
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
  deadlines: { payment: null, delivery: null, inspection: null },
  funding: { status: 'funded', confirmed: '100000000', confirming: '0', remaining: '0' },
  seller: party('Sam', SELLER),
  buyer: party('Bea', BUYER),
  depositAddress: '0x3333333333333333333333333333333333333333',
  yourRole: 'arbitrator',
  invite: null,
  createdAt: '2025-01-01T00:00:00.000Z',
  updatedAt: '2025-01-02T00:00:00.000Z',
  payments: [],
});

const entry = (seq: number, action: string, role: string, facts: Record<string, unknown>) => ({
  seq,
  at: `2025-01-0${seq}T10:00:00.000Z`,
  actor: { kind: 'user', userId: crypto.randomUUID(), role },
  action,
  stateBefore: 'disputed',
  stateAfter: 'disputed',
  facts,
  prevHash: '0'.repeat(64),
  hash: '1'.repeat(64),
});
const activity = {
  entries: [
    entry(1, 'open_dispute', 'buyer', { reason: 'The bicycle has no wheels' }),
    entry(2, 'dispute_message', 'seller', { text: 'The wheels ship separately' }),
  ],
  verification: { ok: true, problems: [] },
};

const json = (status: number, body: unknown) =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });

let version = 7;
let resolveAnswers: Response[] = [];
const calls: Array<{ url: string; init: RequestInit }> = [];

beforeEach(() => {
  version = 7;
  calls.length = 0;
  vi.stubGlobal(
    'fetch',
    vi.fn(async (input: URL | string, init: RequestInit = {}) => {
      const url = String(input);
      calls.push({ url, init });
      if (url.endsWith('/activity')) return json(200, activity);
      if (url.endsWith('/resolve')) return resolveAnswers.shift() ?? json(500, {});
      return json(200, deal(version));
    }),
  );
});
afterEach(() => vi.unstubAllGlobals());

describe('arbitration detail', () => {
  it('shows both sides of the dispute and confirms exactly who receives what', async () => {
    render(Page);
    await screen.findByRole('heading', { name: 'Bicycle' });
    const dispute = within(screen.getByRole('region', { name: 'Dispute' }));
    expect(dispute.getByText('The bicycle has no wheels')).toBeTruthy();
    expect(dispute.getByText('Opened by the Buyer on Jan 1, 2025, 10:00 AM')).toBeTruthy();
    expect(dispute.getByText('The wheels ship separately')).toBeTruthy();
    expect(dispute.getByText('Seller Sam')).toBeTruthy();
    const parties = within(screen.getByRole('region', { name: 'Parties' }));
    expect(parties.getByText(SELLER)).toBeTruthy();
    expect(parties.getByText(BUYER)).toBeTruthy();

    await fireEvent.click(screen.getByLabelText(/^Split/));
    const amount = screen.getByLabelText('Buyer gets (USDT)');
    await fireEvent.input(amount, { target: { value: '100.5' } });
    expect(screen.getByText('That is more than the escrow holds.')).toBeTruthy();
    await fireEvent.input(amount, { target: { value: '40' } });
    await fireEvent.click(screen.getByRole('button', { name: 'Review the payouts' }));

    await screen.findByRole('heading', { name: 'Confirm the decision' });
    expect(screen.getByText(`Buyer Bea: 40 USDT to ${BUYER}`)).toBeTruthy();
    expect(screen.getByText(`Seller Sam: 59 USDT to ${SELLER}`)).toBeTruthy();
    expect(screen.getByText('Platform fee: 1 USDT')).toBeTruthy();

    // The deal changed meanwhile: the app reloads and asks again.
    resolveAnswers = [json(409, { code: 'version_conflict', detail: 'The deal changed', title: 'Conflict' })];
    version = 8;
    await fireEvent.click(screen.getByRole('button', { name: 'Resolve the dispute' }));
    await screen.findByText(/The deal changed while you were deciding/);
    const first = calls.find((c) => c.url.endsWith('/resolve'));
    expect(JSON.parse(String(first?.init.body))).toEqual({
      outcome: 'split',
      buyerAmount: '40000000',
      version: 7,
    });
    expect((first?.init.headers as Record<string, string> | undefined)?.['idempotency-key']).toMatch(
      /^[0-9a-f-]{36}$/,
    );

    await fireEvent.click(screen.getByRole('button', { name: 'Review the payouts' }));
    resolveAnswers = [json(200, { ...deal(9), state: 'splitting' })];
    await fireEvent.click(await screen.findByRole('button', { name: 'Resolve the dispute' }));
    await screen.findByText(/The dispute is resolved/);
    const second = calls.filter((c) => c.url.endsWith('/resolve'))[1];
    expect(JSON.parse(String(second?.init.body))).toMatchObject({ outcome: 'split', version: 8 });
    await waitFor(() =>
      expect(calls.filter((c) => c.url.endsWith(DEAL_ID)).length).toBeGreaterThanOrEqual(3),
    );
  });
});
