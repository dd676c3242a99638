import { cleanup, fireEvent, render, screen, waitFor, within } from '@testing-library/svelte';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

const DEAL_ID = '3f1c2a4e-5b6d-4e7f-8a9b-0c1d2e3f4a5b';
const OTHER_ID = '9e8d7c6b-5a49-4382-a1b0-c9d8e7f6a5b4';
const SELLER = '0x1111111111111111111111111111111111111111';
const BUYER = '0x2222222222222222222222222222222222222222';
const USDT = '0xdAC17F958D2ee523a2206206994597C13D831ec7';
const USDC = '0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48';

vi.hoisted(() => {
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
vi.mock('$app/state', async () => import('#lib/testing/page-state.svelte.ts'));

const { page } = await import('#lib/testing/page-state.svelte.ts');
const { default: Page } = await import('./[id]/+page.svelte');

const party = (name: string, address: string) => ({
  userId: crypto.randomUUID(),
  displayName: name,
  username: null,
  address,
  acceptedAt: '2025-01-01T00:00:00.000Z',
});

/** A disputed deal of 100 USDT, the seller paying a 1.5 % fee (at least 1 USDT), fully funded. */
const deal = (version: number, id = DEAL_ID, title = 'Bicycle') => ({
  id,
  title,
  description: '',
  state: 'disputed',
  needsReview: false,
  reviewReasons: [],
  version,
  asset: { chainId: 1, token: USDT, symbol: 'USDT', decimals: 6 },
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
  payments: [] as unknown[],
});

const payment = (id: string, token: string, amount: string) => ({
  id,
  chainId: 1,
  txHash: `0x${id.repeat(64).slice(0, 64)}`,
  logIndex: 0,
  token,
  from: BUYER,
  amount,
  blockNumber: '100',
  blockTimestamp: '2025-01-03T00:00:00.000Z',
  status: 'confirmed',
});

const assets = {
  chains: [
    {
      chainId: 1,
      name: 'Ethereum',
      nativeSymbol: 'ETH',
      confirmations: 12,
      explorerUrl: null,
      tokens: [
        { token: USDT, symbol: 'USDT', name: 'Tether USD', decimals: 6, minFee: '1000000' },
        { token: USDC, symbol: 'USDC', name: 'USD Coin', decimals: 6, minFee: '1000000' },
      ],
    },
  ],
  feeBps: 150,
};

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

type Answer = Response | Error | Promise<Response>;
let version = 7;
let deals: Record<string, () => ReturnType<typeof deal>> = {};
/** Answers for the POSTs, by the path after /api/deals/; an Error stands for a dropped connection. */
let answers: Record<string, Answer[]> = {};
const calls: Array<{ url: string; init: RequestInit }> = [];
const posts = (suffix: string) =>
  calls
    .filter((c) => c.init.method === 'POST' && c.url.endsWith(suffix))
    .map((c) => ({
      url: c.url,
      body: JSON.parse(String(c.init.body)) as Record<string, unknown>,
      key: (c.init.headers as Record<string, string>)['idempotency-key'],
    }));

beforeEach(() => {
  version = 7;
  calls.length = 0;
  answers = {};
  deals = { [DEAL_ID]: () => deal(version) };
  page.params = { id: DEAL_ID };
  vi.stubGlobal(
    'fetch',
    vi.fn(async (input: URL | string, init: RequestInit = {}) => {
      const url = String(input);
      calls.push({ url, init });
      if (url.endsWith('/api/assets')) return json(200, assets);
      const path = url.split('/api/deals/')[1] ?? '';
      const [id = '', ...rest] = path.split('/');
      if (init.method === 'POST') {
        const next = answers[`${id}/${rest.join('/')}`]?.shift() ?? json(500, {});
        if (next instanceof Error) throw next;
        return next;
      }
      if (rest[0] === 'activity') return json(200, activity);
      const found = deals[id];
      return found ? json(200, found()) : json(404, { code: 'deal_not_found', detail: 'No such deal' });
    }),
  );
});
afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

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

    const heading = await screen.findByRole('heading', { name: 'Confirm the decision' });
    // Keyboard and screen-reader users land on the confirmation.
    await waitFor(() => expect(document.activeElement).toBe(heading));
    expect(screen.getByText(`Buyer Bea: 40 USDT to ${BUYER}`)).toBeTruthy();
    expect(screen.getByText(`Seller Sam: 59 USDT to ${SELLER}`)).toBeTruthy();
    expect(screen.getByText('Platform fee: 1 USDT')).toBeTruthy();

    // The deal changed meanwhile: the app reloads and asks again.
    answers[`${DEAL_ID}/resolve`] = [
      json(409, { code: 'version_conflict', detail: 'The deal changed', title: 'Conflict' }),
    ];
    version = 8;
    await fireEvent.click(screen.getByRole('button', { name: 'Resolve the dispute' }));
    await screen.findByText(/The deal changed while you were deciding/);
    const [first] = posts('/resolve');
    expect(first?.body).toEqual({ outcome: 'split', buyerAmount: '40000000', version: 7 });
    expect(first?.key).toMatch(/^[0-9a-f-]{36}$/);

    await fireEvent.click(screen.getByRole('button', { name: 'Review the payouts' }));
    answers[`${DEAL_ID}/resolve`] = [json(200, { ...deal(9), state: 'splitting' })];
    await fireEvent.click(await screen.findByRole('button', { name: 'Resolve the dispute' }));
    await screen.findByText(/The dispute is resolved/);
    expect(posts('/resolve')[1]?.body).toMatchObject({ outcome: 'split', version: 8 });
    await waitFor(() =>
      expect(calls.filter((c) => c.url.endsWith(DEAL_ID)).length).toBeGreaterThanOrEqual(3),
    );
  });

  it('returns focus to the review button when the decision is changed', async () => {
    render(Page);
    await fireEvent.click(await screen.findByRole('button', { name: 'Review the payouts' }));
    await fireEvent.click(await screen.findByRole('button', { name: 'Change the decision' }));
    await waitFor(() =>
      expect(document.activeElement).toBe(screen.getByRole('button', { name: 'Review the payouts' })),
    );
  });

  it('never resolves the next deal with the decision prepared for the previous one', async () => {
    deals[OTHER_ID] = () => ({ ...deal(3, OTHER_ID, 'Lamp') });
    render(Page);
    await screen.findByRole('heading', { name: 'Bicycle' });
    await fireEvent.click(screen.getByLabelText(/^Release/));
    await fireEvent.input(screen.getByLabelText('Note for the record (optional)'), {
      target: { value: 'Wheels arrived' },
    });
    await fireEvent.click(screen.getByRole('button', { name: 'Review the payouts' }));
    await screen.findByRole('heading', { name: 'Confirm the decision' });

    // A client-side navigation to another disputed deal.
    page.params = { id: OTHER_ID };
    await screen.findByRole('heading', { name: 'Lamp' });
    expect(screen.queryByRole('heading', { name: 'Confirm the decision' })).toBeNull();
    expect(screen.queryByRole('heading', { name: 'Bicycle' })).toBeNull();
    // Nothing chosen or written for the first deal carries over.
    expect((screen.getByLabelText(/^Refund/) as HTMLInputElement).checked).toBe(true);
    expect((screen.getByLabelText('Note for the record (optional)') as HTMLTextAreaElement).value).toBe('');

    answers[`${OTHER_ID}/resolve`] = [json(200, { ...deal(4, OTHER_ID, 'Lamp'), state: 'refunding' })];
    await fireEvent.click(screen.getByRole('button', { name: 'Review the payouts' }));
    await fireEvent.click(await screen.findByRole('button', { name: 'Resolve the dispute' }));
    await screen.findByText(/The dispute is resolved/);
    const resolves = posts('/resolve');
    expect(resolves).toHaveLength(1);
    expect(resolves[0]?.url).toBe(`http://api.test/api/deals/${OTHER_ID}/resolve`);
    expect(resolves[0]?.body).toEqual({ outcome: 'refund', version: 3 });
  });

  it('keeps a late answer for the previous deal off the next one', async () => {
    let answerFirst: (() => void) | undefined;
    const slow = new Promise<void>((resolve) => {
      answerFirst = resolve;
    });
    deals[OTHER_ID] = () => deal(3, OTHER_ID, 'Lamp');
    const fetchDeal = globalThis.fetch;
    vi.stubGlobal(
      'fetch',
      vi.fn(async (input: URL | string, init?: RequestInit) => {
        if (String(input).endsWith(DEAL_ID)) await slow;
        return fetchDeal(input, init);
      }),
    );
    render(Page);
    page.params = { id: OTHER_ID };
    await screen.findByRole('heading', { name: 'Lamp' });
    answerFirst?.();
    await waitFor(() => expect(calls.some((c) => c.url.endsWith(DEAL_ID))).toBe(true));
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(screen.getByRole('heading', { level: 1 }).textContent).toBe('Lamp');
  });

  it('formats a payment in another token with its decimals, or says base units when unknown', async () => {
    const unknownToken = '0x9999999999999999999999999999999999999999';
    deals[DEAL_ID] = () => ({
      ...deal(7),
      payments: [
        payment('a', USDT, '100000000'),
        payment('b', USDC, '2500000'),
        payment('c', unknownToken, '12345'),
      ],
    });
    render(Page);
    const payments = within(await screen.findByRole('region', { name: 'Payments' }));
    expect(payments.getByText('100 USDT')).toBeTruthy();
    expect(await payments.findByText('2.5 USDC')).toBeTruthy();
    expect(payments.getByText(`12345 base units of token ${unknownToken} on chain 1`)).toBeTruthy();
  });

  it('posts a dispute message once however often it is retried', async () => {
    render(Page);
    const box = await screen.findByLabelText('Message');
    const send = () => fireEvent.click(screen.getByRole('button', { name: 'Post message' }));

    // The server fails, then the arbitrator tries again: the same key, so at most one message.
    answers[`${DEAL_ID}/dispute/messages`] = [
      json(503, { code: 'unavailable', detail: 'Try later' }),
      json(201, {}),
    ];
    await fireEvent.input(box, { target: { value: 'Please send photos' } });
    await send();
    await screen.findByText('Try later');
    expect((box as HTMLTextAreaElement).value).toBe('Please send photos');
    await send();
    await screen.findByText('Message posted.');
    const [failed, retried] = posts('/dispute/messages');
    expect(retried?.key).toBe(failed?.key);
    expect(retried?.body).toEqual({ text: 'Please send photos' });
    expect((box as HTMLTextAreaElement).value).toBe('');

    // The next message is a new intent with its own key.
    answers[`${DEAL_ID}/dispute/messages`] = [json(201, {})];
    await fireEvent.input(box, { target: { value: 'Thanks' } });
    await send();
    await waitFor(() => expect(posts('/dispute/messages')).toHaveLength(3));
    expect(posts('/dispute/messages')[2]?.key).not.toBe(failed?.key);
  });

  it('queues a message whose request was cut off under the same key', async () => {
    render(Page);
    const box = await screen.findByLabelText('Message');
    answers[`${DEAL_ID}/dispute/messages`] = [new TypeError('Failed to fetch'), json(201, {})];
    await fireEvent.input(box, { target: { value: 'Did it arrive?' } });
    await fireEvent.click(screen.getByRole('button', { name: 'Post message' }));
    await screen.findByText(/the message will be posted when you are back online/);
    // The outbox sends it again, with the key of the attempt that may have reached the server.
    await waitFor(() => expect(posts('/dispute/messages')).toHaveLength(2));
    const [cut, replayed] = posts('/dispute/messages');
    expect(replayed?.key).toBe(cut?.key);
    expect(replayed?.body).toEqual({ text: 'Did it arrive?' });
  });
});
