import { describe, expect, it } from 'vitest';
import { amountToPay, paymentLink, paymentProgress } from './eip681.ts';

const deposit = '0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed';
const usdt = '0xdAC17F958D2ee523a2206206994597C13D831ec7';

describe('paymentLink', () => {
  it('asks for a token transfer to the deposit address with the exact base units', () => {
    expect(paymentLink({ chainId: 1, token: usdt, depositAddress: deposit, units: 12_500_000n })).toBe(
      `ethereum:${usdt}@1/transfer?address=${deposit}&uint256=12500000`,
    );
  });

  it('sends the native coin as a value to the deposit address', () => {
    expect(paymentLink({ chainId: 137, token: 'native', depositAddress: deposit, units: '10' })).toBe(
      `ethereum:${deposit}@137?value=10`,
    );
  });

  it('writes huge amounts exactly, never in exponent notation', () => {
    const units = 123456789012345678901234567890n;
    expect(paymentLink({ chainId: 1, token: 'native', depositAddress: deposit, units })).toBe(
      `ethereum:${deposit}@1?value=123456789012345678901234567890`,
    );
  });

  it('refuses a negative amount', () => {
    expect(() => paymentLink({ chainId: 1, token: 'native', depositAddress: deposit, units: -1n })).toThrow(
      RangeError,
    );
  });
});

describe('amountToPay', () => {
  it('is the whole amount before anything arrived, then what remains', () => {
    expect(amountToPay({ amountDue: '100', funding: { status: 'unpaid', remaining: '100' } })).toBe(100n);
    expect(amountToPay({ amountDue: '100', funding: { status: 'partially_paid', remaining: '40' } })).toBe(
      40n,
    );
    expect(amountToPay({ amountDue: '100', funding: { status: 'funded', remaining: '0' } })).toBe(0n);
  });
});

describe('paymentProgress', () => {
  const deal = (status: string, confirming: string, payments: string[]) => ({
    funding: { status, confirming },
    payments: payments.map((s) => ({ status: s })),
  });

  it('walks from waiting through confirming to funded', () => {
    expect(paymentProgress(deal('unpaid', '0', []))).toEqual({ stage: 'waiting' });
    expect(paymentProgress(deal('unpaid', '100', ['pending']))).toEqual({
      stage: 'confirming',
      pending: 1,
      seen: null,
    });
    expect(paymentProgress(deal('funded', '0', ['confirmed']))).toEqual({ stage: 'funded' });
    expect(paymentProgress(deal('overpaid', '0', ['confirmed', 'confirmed']))).toEqual({ stage: 'funded' });
  });

  it('reports a short payment as partial, with what is still confirming', () => {
    expect(paymentProgress(deal('partially_paid', '0', ['confirmed']))).toEqual({
      stage: 'partial',
      pending: 0,
    });
    expect(paymentProgress(deal('partially_paid', '5', ['confirmed', 'pending']))).toEqual({
      stage: 'partial',
      pending: 1,
    });
  });

  it('counts the confirmations of the least confirmed pending payment, when all are known', () => {
    const withCounts = (counts: Array<number | null>) => ({
      funding: { status: 'unpaid', confirming: '100' },
      payments: counts.map((confirmations) => ({ status: 'pending', confirmations })),
    });
    expect(paymentProgress(withCounts([3, 5]))).toMatchObject({ stage: 'confirming', seen: 3 });
    expect(paymentProgress(withCounts([3, null]))).toMatchObject({ stage: 'confirming', seen: null });
  });

  it('does not count a reorged payment as confirming', () => {
    expect(paymentProgress(deal('unpaid', '0', ['reorged']))).toEqual({ stage: 'waiting' });
  });
});
