import { cleanup, fireEvent, render, screen, waitFor, within } from '@testing-library/svelte';
import { afterEach, describe, expect, it, vi } from 'vitest';

const DEAL_ID = '7a1c2a4e-5b6d-4e7f-8a9b-0c1d2e3f4a5b';
const SENDER = '0x4444444444444444444444444444444444444444';

vi.hoisted(() => {
  localStorage.setItem(
    'amanat.session',
    JSON.stringify({
      token: 'op-token',
      expiresAt: new Date(Date.now() + 3_600_000).toISOString(),
      user: {
        id: '00000000-0000-4000-8000-000000000001',
        telegramId: '1',
        username: null,
        displayName: 'Olga',
        language: 'en',
        roles: ['operator'],
      },
    }),
  );
});
vi.mock('$app/navigation', () => ({ goto: vi.fn() }));

const { default: Page } = await import('./+page.svelte');

const deal = {
  id: DEAL_ID,
  title: 'Laptop',
  description: '',
  state: 'released',
  needsReview: true,
  reviewReasons: ['late_payment', 'manual check'],
  version: 12,
  asset: { chainId: 1, token: '0xdAC17F958D2ee523a2206206994597C13D831ec7', symbol: 'USDT', decimals: 6 },
  price: '50000000',
  amountDue: '50000000',
  fee: '750000',
  sellerFee: '750000',
  buyerFee: '0',
  display: { price: '50', amountDue: '50', fee: '0.75' },
  feeTerms: { feeBps: 150, feeMin: '0', feePayer: 'seller' },
  periods: { paymentWindowSec: 86400, deliveryPeriodSec: 604800, inspectionPeriodSec: 259200 },
  deadlines: { payment: null, delivery: null, inspection: null },
  funding: { status: 'funded', confirmed: '50000000', confirming: '0', remaining: '0' },
  seller: null,
  buyer: null,
  depositAddress: '0x3333333333333333333333333333333333333333',
  yourRole: 'operator',
  invite: null,
  createdAt: '2025-01-01T00:00:00.000Z',
  updatedAt: '2025-01-02T00:00:00.000Z',
};
const stray = {
  id: '42',
  chainId: 1,
  txHash: `0x${'ab'.repeat(32)}`,
  logIndex: 0,
  token: deal.asset.token,
  from: SENDER,
  amount: '2500000',
  blockNumber: '100',
  blockTimestamp: '2025-01-03T00:00:00.000Z',
  status: 'confirmed',
  classification: 'late',
  decision: null,
};

const json = (status: number, body: unknown) =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

describe('review screen', () => {
  it('explains the reasons and clears a review after a confirm step, explaining a conflict', async () => {
    const calls: Array<{ url: string; init: RequestInit }> = [];
    vi.stubGlobal(
      'fetch',
      vi.fn(async (input: URL | string, init: RequestInit = {}) => {
        calls.push({ url: String(input), init });
        if (String(input).endsWith('/clear-review'))
          return json(409, { code: 'review_not_flagged', detail: 'The deal is not flagged for review' });
        return json(200, {
          items: [{ deal, strayPayments: [stray], failedPayouts: [], awaitingApproval: [] }],
          nextCursor: null,
        });
      }),
    );
    render(Page);
    const item = within(await screen.findByRole('article', { name: 'Laptop' }));
    expect(item.getByText(/A payment arrived after the payment window/)).toBeTruthy();
    expect(item.getByText('Flagged with the reason: “manual check”')).toBeTruthy();
    expect(item.getByText('2.5 USDT')).toBeTruthy();
    expect(item.getByText(SENDER)).toBeTruthy();

    await fireEvent.click(item.getByRole('button', { name: 'Clear the review' }));
    await fireEvent.click(item.getByRole('button', { name: 'Continue' }));
    expect(item.getByText('Write a note.')).toBeTruthy();
    await fireEvent.input(item.getByLabelText('Note for the record'), {
      target: { value: 'Checked with both' },
    });
    await fireEvent.click(item.getByRole('button', { name: 'Continue' }));
    expect(item.getByText('Clear the review of “Laptop”.')).toBeTruthy();
    await fireEvent.click(item.getByRole('button', { name: 'Confirm' }));

    await item.findByText('The deal is no longer flagged for review.');
    const clear = calls.find((c) => c.url.endsWith('/clear-review'));
    expect(clear?.url).toBe(`http://api.test/api/admin/deals/${DEAL_ID}/clear-review`);
    expect(JSON.parse(String(clear?.init.body))).toEqual({ version: 12, note: 'Checked with both' });
    expect((clear?.init.headers as Record<string, string> | undefined)?.['idempotency-key']).toMatch(
      /^[0-9a-f-]{36}$/,
    );
  });

  it('moves focus into the confirm step and back to Continue when it is cancelled', async () => {
    vi.stubGlobal(
      'fetch',
      vi.fn(async () =>
        json(200, {
          items: [{ deal, strayPayments: [], failedPayouts: [], awaitingApproval: [] }],
          nextCursor: null,
        }),
      ),
    );
    render(Page);
    const item = within(await screen.findByRole('article', { name: 'Laptop' }));
    await fireEvent.click(item.getByRole('button', { name: 'Clear the review' }));
    // Ids carry the whole deal id, so two deals on the page never share one.
    const note = item.getByLabelText('Note for the record');
    expect(note.id).toBe(`note-${DEAL_ID}`);
    await fireEvent.input(note, { target: { value: 'Checked' } });
    await fireEvent.click(item.getByRole('button', { name: 'Continue' }));
    const heading = await item.findByRole('heading', { name: 'Confirm' });
    await waitFor(() => expect(document.activeElement).toBe(heading));
    await fireEvent.click(item.getByRole('button', { name: 'Cancel' }));
    await waitFor(() => expect(document.activeElement).toBe(item.getByRole('button', { name: 'Continue' })));
  });

  it('approves a payout held above the threshold after a confirm step naming who receives what', async () => {
    const SELLER = '0x70997970C51812dc3A010C7d01b50e0d17dc79C8';
    const held = {
      id: '901',
      kind: 'seller',
      chainId: 1,
      token: deal.asset.token,
      recipient: SELLER,
      amount: '49250000',
      cause: '9',
    };
    const flagged = { ...deal, state: 'releasing', reviewReasons: ['payout_approval_required:901'] };
    const calls: Array<{ url: string; init: RequestInit }> = [];
    let approvals = 0;
    vi.stubGlobal(
      'fetch',
      vi.fn(async (input: URL | string, init: RequestInit = {}) => {
        calls.push({ url: String(input), init });
        if (String(input).endsWith('/approve')) {
          approvals += 1;
          // The first try wins; the second finds it approved meanwhile.
          return approvals === 1
            ? json(200, { deal: { ...flagged, needsReview: false }, payout: { ...held, status: 'pending' } })
            : json(409, { code: 'payout_not_awaiting_approval', detail: 'The payout is pending' });
        }
        return json(200, {
          items: [
            {
              deal: flagged,
              strayPayments: [],
              failedPayouts: [],
              awaitingApproval: approvals === 0 ? [held] : [],
            },
          ],
          nextCursor: null,
        });
      }),
    );
    render(Page);
    const item = within(await screen.findByRole('article', { name: 'Laptop' }));
    expect(
      item.getByText(
        'Payout #901 is above the approval threshold and waits for an operator to approve it (below).',
      ),
    ).toBeTruthy();
    expect(item.getByRole('heading', { name: 'Payouts waiting for approval' })).toBeTruthy();
    const line = `To the seller: 49.25 USDT to ${SELLER}`;
    expect(item.getByText(line)).toBeTruthy();

    await fireEvent.click(item.getByRole('button', { name: `Approve payout: ${line}` }));
    await fireEvent.click(item.getByRole('button', { name: 'Continue' }));
    expect(item.getByText('Write a note.')).toBeTruthy();
    await fireEvent.input(item.getByLabelText('Note for the record'), {
      target: { value: 'Seller confirmed the address by phone' },
    });
    await fireEvent.click(item.getByRole('button', { name: 'Continue' }));
    expect(item.getByText(`Send 49.25 USDT to ${SELLER} (To the seller, payout #901).`)).toBeTruthy();
    expect(item.getByText('Note: Seller confirmed the address by phone')).toBeTruthy();
    await fireEvent.click(item.getByRole('button', { name: 'Confirm' }));

    await item.findByText('Done.');
    const approve = calls.filter((c) => c.url.endsWith('/approve'));
    expect(approve.map((c) => c.url)).toEqual(['http://api.test/api/admin/payouts/901/approve']);
    expect(approve[0]?.init.method).toBe('POST');
    expect(JSON.parse(String(approve[0]?.init.body))).toEqual({
      version: 12,
      note: 'Seller confirmed the address by phone',
    });
    expect((approve[0]?.init.headers as Record<string, string> | undefined)?.['idempotency-key']).toMatch(
      /^[0-9a-f-]{36}$/,
    );
    // Reloaded: nothing is waiting any more.
    await waitFor(() =>
      expect(item.queryByRole('heading', { name: 'Payouts waiting for approval' })).toBeNull(),
    );
  });

  it('explains an approval that lost the race and reloads the list', async () => {
    const held = {
      id: '902',
      kind: 'fee',
      chainId: 1,
      token: deal.asset.token,
      recipient: null,
      amount: '2000000',
      cause: '9',
    };
    let lists = 0;
    vi.stubGlobal(
      'fetch',
      vi.fn(async (input: URL | string) => {
        if (String(input).endsWith('/approve'))
          return json(409, { code: 'payout_not_awaiting_approval', detail: 'The payout is pending' });
        lists += 1;
        return json(200, {
          items: [{ deal, strayPayments: [], failedPayouts: [], awaitingApproval: [held] }],
          nextCursor: null,
        });
      }),
    );
    render(Page);
    const item = within(await screen.findByRole('article', { name: 'Laptop' }));
    const line = 'Platform fee: 2 USDT to the platform fee address';
    await fireEvent.click(item.getByRole('button', { name: `Approve payout: ${line}` }));
    await fireEvent.input(item.getByLabelText('Note for the record'), { target: { value: 'ok' } });
    await fireEvent.click(item.getByRole('button', { name: 'Continue' }));
    expect(
      item.getByText('Send 2 USDT to the platform fee address (Platform fee, payout #902).'),
    ).toBeTruthy();
    await fireEvent.click(item.getByRole('button', { name: 'Confirm' }));
    expect((await item.findByRole('alert')).textContent).toBe(
      'This payout is no longer waiting for approval (it was approved meanwhile). The list has been reloaded.',
    );
    expect(lists).toBe(2);
  });

  it('lists failed payouts in words and sends the retryable ones again after a confirm step', async () => {
    const SELLER = '0x70997970C51812dc3A010C7d01b50e0d17dc79C8';
    const paused = {
      record: 'payout_leg',
      id: '905',
      kind: 'seller',
      chainId: 1,
      token: deal.asset.token,
      recipient: SELLER,
      amount: '49250000',
      cause: '9',
      failure: 'token_paused',
      retryable: true,
    };
    const unclear = {
      ...paused,
      id: '906',
      kind: 'fee',
      recipient: null,
      amount: '750000',
      failure: 'mined, but the receipt has no Transfer log',
      retryable: false,
    };
    const flagged = { ...deal, state: 'releasing', reviewReasons: ['payout_failed:seller:token_paused'] };
    const calls: Array<{ url: string; init: RequestInit }> = [];
    let retried = false;
    vi.stubGlobal(
      'fetch',
      vi.fn(async (input: URL | string, init: RequestInit = {}) => {
        calls.push({ url: String(input), init });
        if (String(input).endsWith('/retry-payouts')) {
          retried = true;
          return json(200, { deal: flagged, retried: [{ ...paused, status: 'pending' }] });
        }
        return json(200, {
          items: [
            {
              deal: flagged,
              strayPayments: [],
              awaitingApproval: [],
              failedPayouts: retried ? [unclear] : [paused, unclear],
            },
          ],
          nextCursor: null,
        });
      }),
    );
    render(Page);
    const item = within(await screen.findByRole('article', { name: 'Laptop' }));
    expect(item.getByRole('heading', { name: 'Failed payouts' })).toBeTruthy();
    expect(item.getByText(`To the seller: 49.25 USDT to ${SELLER}`)).toBeTruthy();
    expect(item.getByText('It failed: mined, but the receipt has no Transfer log')).toBeTruthy();
    expect(item.getByText(/it may have paid: check the chain by hand/)).toBeTruthy();

    await fireEvent.click(item.getByRole('button', { name: 'Send failed payouts again' }));
    await fireEvent.input(item.getByLabelText('Note for the record'), {
      target: { value: 'The issuer unpaused the token' },
    });
    await fireEvent.click(item.getByRole('button', { name: 'Continue' }));
    // Only the retryable one is named: the other is never sent again from here.
    expect(item.getByText(`Send 49.25 USDT to ${SELLER} (To the seller) again.`)).toBeTruthy();
    expect(item.queryByText(/0.75 USDT to the platform fee address \(Platform fee\) again/)).toBeNull();
    await fireEvent.click(item.getByRole('button', { name: 'Confirm' }));

    await item.findByText('Done.');
    const retry = calls.filter((c) => c.url.endsWith('/retry-payouts'));
    expect(retry.map((c) => c.url)).toEqual([`http://api.test/api/admin/deals/${DEAL_ID}/retry-payouts`]);
    expect(JSON.parse(String(retry[0]?.init.body))).toEqual({
      version: 12,
      note: 'The issuer unpaused the token',
    });
    // Reloaded: only the record that may have paid is left, and nothing can be retried.
    await waitFor(() => expect(item.queryByRole('button', { name: 'Send failed payouts again' })).toBeNull());
    expect(item.queryByText(`To the seller: 49.25 USDT to ${SELLER}`)).toBeNull();
  });

  it('shows a stray payment in another token with that token’s decimals', async () => {
    const USDC = '0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48';
    const unknown = '0x9999999999999999999999999999999999999999';
    const assets = {
      chains: [
        {
          chainId: 1,
          name: 'Ethereum',
          nativeSymbol: 'ETH',
          confirmations: 12,
          explorerUrl: null,
          tokens: [{ token: USDC, symbol: 'USDC', name: 'USD Coin', decimals: 6, minFee: '0' }],
        },
      ],
      feeBps: 150,
    };
    vi.stubGlobal(
      'fetch',
      vi.fn(async (input: URL | string) =>
        String(input).endsWith('/api/assets')
          ? json(200, assets)
          : json(200, {
              items: [
                {
                  deal,
                  strayPayments: [
                    { ...stray, id: '43', token: USDC, amount: '7250000' },
                    { ...stray, id: '44', token: unknown, amount: '99' },
                  ],
                  failedPayouts: [],
                  awaitingApproval: [],
                },
              ],
              nextCursor: null,
            }),
      ),
    );
    render(Page);
    const item = within(await screen.findByRole('article', { name: 'Laptop' }));
    expect(await item.findByText('7.25 USDC')).toBeTruthy();
    expect(item.getByText(`99 base units of token ${unknown} on chain 1`)).toBeTruthy();
  });
});
