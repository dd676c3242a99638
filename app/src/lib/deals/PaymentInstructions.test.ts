import { cleanup, render, screen } from '@testing-library/svelte';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { locale } from '#lib/i18n/locale.svelte.ts';
import PaymentInstructions from './PaymentInstructions.svelte';

const deposit = '0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed';
const usdt = '0xdAC17F958D2ee523a2206206994597C13D831ec7';
const NOW = Date.parse('2030-01-01T12:00:00.000Z');
const base = {
  state: 'awaiting_payment' as const,
  deadlines: { payment: '2030-01-02T12:00:00.000Z', delivery: null, inspection: null },
  asset: { chainId: 1, token: usdt, symbol: 'USDT', decimals: 6 },
  amountDue: '101500000',
  depositAddress: deposit,
  funding: { status: 'unpaid' as const, confirmed: '0', confirming: '0', remaining: '101500000' },
  payments: [] as never[],
};

beforeEach(() => locale.set('en'));
// Each test renders into a clean document.
afterEach(() => cleanup());

describe('PaymentInstructions', () => {
  it('gives the exact amount, the deposit address, a QR code and a wallet link for the token', () => {
    render(PaymentInstructions, { deal: base, chainName: 'Ethereum', confirmations: 12, now: NOW });
    expect(screen.getByTestId('pay-amount').textContent).toBe('101.5 USDT');
    expect(screen.getByTestId('pay-address').textContent).toBe(deposit);
    const link = screen.getByRole('link', { name: 'Open in a wallet' });
    expect(link.getAttribute('href')).toBe(
      `ethereum:${usdt}@1/transfer?address=${deposit}&uint256=101500000`,
    );
    const qr = screen.getByRole('img');
    expect(qr.getAttribute('src')).toMatch(/^data:image\/svg\+xml,/);
    expect(qr.getAttribute('alt')).toContain('101.5 USDT');
    expect(screen.getAllByText(/USDT on Ethereum/).length).toBeGreaterThan(0);
    expect(screen.getByText(/another network/).textContent).toContain('Send only USDT on Ethereum');
    expect(screen.getByRole('status').textContent).toContain('Waiting for your payment');
    expect(screen.getByRole('button', { name: 'Copy amount' })).toBeTruthy();
    expect(screen.getByRole('button', { name: 'Copy deposit address' })).toBeTruthy();
  });

  it('asks for what remains after a partial payment, and reports confirmations', () => {
    render(PaymentInstructions, {
      deal: {
        ...base,
        state: 'partially_paid',
        funding: { status: 'partially_paid', confirmed: '100000000', confirming: '0', remaining: '1500000' },
        payments: [{ status: 'confirmed' }] as never[],
      },
      chainName: 'Ethereum',
      confirmations: 12,
      now: NOW,
    });
    expect(screen.getByTestId('pay-amount').textContent).toBe('1.5 USDT');
    expect(screen.getByRole('status').textContent).toContain('Send the remaining 1.5 USDT');
  });

  it('shows a payment being confirmed with the confirmations it needs', () => {
    render(PaymentInstructions, {
      deal: {
        ...base,
        funding: { ...base.funding, confirming: '101500000' },
        payments: [{ status: 'pending' }] as never[],
      },
      chainName: 'Ethereum',
      confirmations: 12,
      now: NOW,
    });
    expect(screen.getByRole('status').textContent).toContain('confirming (12 confirmations needed)');
    // Nothing to send again while it confirms: no wallet link, no QR code, no amount to send.
    expect(screen.queryByRole('link', { name: 'Open in a wallet' })).toBeNull();
    expect(screen.queryByRole('img')).toBeNull();
    expect(screen.queryByTestId('pay-amount')).toBeNull();
    expect(screen.getByTestId('pay-wait').textContent).toContain('Wait until this payment is confirmed');
  });

  it('counts confirmations n of N once the API knows how far the chain has gone', () => {
    render(PaymentInstructions, {
      deal: {
        ...base,
        funding: { ...base.funding, confirming: '101500000' },
        payments: [{ status: 'pending', confirmations: 4 }] as never[],
      },
      chainName: 'Ethereum',
      confirmations: 12,
      now: NOW,
    });
    expect(screen.getByRole('status').textContent).toContain('confirming 4/12');
  });

  it('stops showing payment details once funded', () => {
    render(PaymentInstructions, {
      deal: {
        ...base,
        state: 'funded',
        funding: { status: 'funded', confirmed: '101500000', confirming: '0', remaining: '0' },
      },
      chainName: 'Ethereum',
      confirmations: 12,
      now: NOW,
    });
    expect(screen.getByRole('status').textContent).toContain('Paid in full');
    expect(screen.queryByRole('link', { name: 'Open in a wallet' })).toBeNull();
  });

  it('while part of a partial payment confirms, hides the link and says what will still be due', () => {
    render(PaymentInstructions, {
      deal: {
        ...base,
        state: 'partially_paid',
        funding: {
          status: 'partially_paid',
          confirmed: '50000000',
          confirming: '30000000',
          remaining: '51500000',
        },
        payments: [{ status: 'confirmed' }, { status: 'pending' }] as never[],
      },
      chainName: 'Ethereum',
      confirmations: 12,
      now: NOW,
    });
    expect(screen.queryByRole('link', { name: 'Open in a wallet' })).toBeNull();
    expect(screen.queryByRole('img')).toBeNull();
    expect(screen.getByTestId('pay-wait').textContent).toContain(
      'Once it is confirmed, 21.5 USDT will still be due.',
    );
  });

  it.each([
    ['cancelled', base.deadlines, 'This deal was cancelled. Do not send any money to it.'],
    ['expired', base.deadlines, 'The time to pay has run out. Do not send any money to this deal.'],
    [
      'awaiting_payment',
      { ...base.deadlines, payment: '2030-01-01T11:59:00.000Z' },
      'The time to pay has run out. Do not send any money to this deal.',
    ],
  ] as const)('shows no payment details for a %s deal (deadline %j)', (state, deadlines, text) => {
    render(PaymentInstructions, {
      deal: { ...base, state, deadlines },
      chainName: 'Ethereum',
      confirmations: 12,
      now: NOW,
    });
    expect(screen.getByRole('status').textContent).toBe(text);
    expect(screen.queryByTestId('pay-amount')).toBeNull();
    expect(screen.queryByTestId('pay-address')).toBeNull();
    expect(screen.queryByRole('link', { name: 'Open in a wallet' })).toBeNull();
    expect(screen.queryByRole('img')).toBeNull();
  });

  it('offline, shows the saved address and amount with their age and the expiry, but no link or QR', () => {
    const savedAt = Date.parse('2030-01-01T10:00:00.000Z');
    render(PaymentInstructions, {
      deal: base,
      chainName: 'Ethereum',
      confirmations: 12,
      now: NOW,
      fromCache: true,
      savedAt,
    });
    expect(screen.getByTestId('pay-amount').textContent).toBe('101.5 USDT');
    expect(screen.getByTestId('pay-address').textContent).toBe(deposit);
    expect(screen.getByText(/^Offline: these payment details are from /)).toBeTruthy();
    expect(screen.getByText(/^The deal expires if not paid by /)).toBeTruthy();
    expect(screen.getByText(/Check again when you are online before paying/)).toBeTruthy();
    expect(screen.queryByRole('link', { name: 'Open in a wallet' })).toBeNull();
    expect(screen.queryByRole('img')).toBeNull();
    expect(screen.queryByRole('button', { name: 'Copy amount' })).toBeNull();
  });

  it('uses a native-coin link for the chain’s own coin', () => {
    render(PaymentInstructions, {
      deal: {
        ...base,
        asset: { chainId: 137, token: 'native', symbol: 'POL', decimals: 18 },
        amountDue: '10',
        funding: { ...base.funding, remaining: '10' },
      },
      chainName: 'Polygon',
      confirmations: 64,
      now: NOW,
    });
    expect(screen.getByRole('link', { name: 'Open in a wallet' }).getAttribute('href')).toBe(
      `ethereum:${deposit}@137?value=10`,
    );
  });
});
