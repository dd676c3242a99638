import { describe, expect, it } from 'vitest';
import { amountToPay, canReceivePayment, isFullyFunded, paymentOffer, paymentProgress } from './payment.ts';

const DEPOSIT = '0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed';
const NOW = Date.parse('2030-01-01T12:00:00.000Z');
const LATER = '2030-01-02T12:00:00.000Z';
const EARLIER = '2030-01-01T11:00:00.000Z';

type OfferDeal = Parameters<typeof paymentOffer>[0];
const deal = (patch: Partial<OfferDeal> = {}, funding: Partial<OfferDeal['funding']> = {}): OfferDeal => ({
  state: 'awaiting_payment',
  depositAddress: DEPOSIT,
  deadlines: { payment: LATER },
  ...patch,
  funding: { status: 'unpaid', confirmed: '0', confirming: '0', remaining: '100', ...funding },
});
const live = { now: NOW, fromCache: false };

describe('amountToPay', () => {
  it('is what remains after confirmed payments, less what is already confirming', () => {
    expect(amountToPay({ funding: { remaining: '100', confirming: '0' } })).toBe(100n);
    expect(amountToPay({ funding: { remaining: '40', confirming: '0' } })).toBe(40n);
    expect(amountToPay({ funding: { remaining: '100', confirming: '60' } })).toBe(40n);
  });

  it('is never negative, even when more is confirming than is due', () => {
    expect(amountToPay({ funding: { remaining: '100', confirming: '100' } })).toBe(0n);
    expect(amountToPay({ funding: { remaining: '100', confirming: '150' } })).toBe(0n);
    expect(amountToPay({ funding: { remaining: '0', confirming: '0' } })).toBe(0n);
  });
});

describe('isFullyFunded and canReceivePayment', () => {
  it('counts funded and overpaid as fully funded', () => {
    expect(isFullyFunded({ status: 'funded' })).toBe(true);
    expect(isFullyFunded({ status: 'overpaid' })).toBe(true);
    expect(isFullyFunded({ status: 'partially_paid' })).toBe(false);
    expect(isFullyFunded({ status: 'unpaid' })).toBe(false);
  });

  it('takes money only while awaiting payment or partially paid', () => {
    expect(canReceivePayment('awaiting_payment')).toBe(true);
    expect(canReceivePayment('partially_paid')).toBe(true);
    for (const state of ['draft', 'funded', 'delivered', 'cancelled', 'expired', 'refunded'])
      expect(canReceivePayment(state)).toBe(false);
  });
});

describe('paymentOffer', () => {
  it('offers the full amount with a live link while the deal awaits payment', () => {
    expect(paymentOffer(deal(), live)).toEqual({ kind: 'pay', units: 100n, live: true });
  });

  it('asks for what remains after a partial payment', () => {
    const partial = deal(
      { state: 'partially_paid' },
      { status: 'partially_paid', confirmed: '60', remaining: '40' },
    );
    expect(paymentOffer(partial, live)).toEqual({ kind: 'pay', units: 40n, live: true });
  });

  it('says to wait while a payment is confirming, with what will still be due', () => {
    expect(paymentOffer(deal({}, { confirming: '100' }), live)).toEqual({ kind: 'confirming', after: 0n });
    expect(paymentOffer(deal({}, { confirming: '30' }), live)).toEqual({ kind: 'confirming', after: 70n });
  });

  it('offers nothing for a cancelled, expired or not yet open deal', () => {
    expect(paymentOffer(deal({ state: 'cancelled' }), live)).toEqual({ kind: 'closed', reason: 'cancelled' });
    expect(paymentOffer(deal({ state: 'expired' }), live)).toEqual({ kind: 'closed', reason: 'expired' });
    expect(paymentOffer(deal({ state: 'draft', depositAddress: null }), live)).toEqual({
      kind: 'closed',
      reason: 'notOpen',
    });
    expect(paymentOffer(deal({ state: 'refunded' }, { status: 'funded', remaining: '0' }), live)).toEqual({
      kind: 'closed',
      reason: 'over',
    });
  });

  it('offers nothing once the payment deadline has passed, even before the deal is marked expired', () => {
    expect(paymentOffer(deal({ deadlines: { payment: EARLIER } }), live)).toEqual({
      kind: 'closed',
      reason: 'expired',
    });
  });

  it('reports a fully funded deal as paid', () => {
    const funded = { status: 'funded' as const, confirmed: '100', remaining: '0' };
    expect(paymentOffer(deal({ state: 'funded' }, funded), live)).toEqual({ kind: 'funded' });
    expect(paymentOffer(deal({ state: 'delivered' }, funded), live)).toEqual({ kind: 'funded' });
    expect(paymentOffer(deal({}, funded), live)).toEqual({ kind: 'funded' });
  });

  it('marks details from the device’s copy as not live, so no link is built from them', () => {
    expect(paymentOffer(deal(), { now: NOW, fromCache: true })).toEqual({
      kind: 'pay',
      units: 100n,
      live: false,
    });
  });

  it('waits for the deposit address before offering anything', () => {
    expect(paymentOffer(deal({ depositAddress: null }), live)).toEqual({ kind: 'noAddress' });
  });
});

describe('paymentProgress', () => {
  const progressOf = (status: string, confirming: string, payments: string[]) => ({
    funding: { status, confirming },
    payments: payments.map((s) => ({ status: s })),
  });

  it('walks from waiting through confirming to funded', () => {
    expect(paymentProgress(progressOf('unpaid', '0', []))).toEqual({ stage: 'waiting' });
    expect(paymentProgress(progressOf('unpaid', '100', ['pending']))).toEqual({
      stage: 'confirming',
      pending: 1,
      seen: null,
    });
    expect(paymentProgress(progressOf('funded', '0', ['confirmed']))).toEqual({ stage: 'funded' });
    expect(paymentProgress(progressOf('overpaid', '0', ['confirmed', 'confirmed']))).toEqual({
      stage: 'funded',
    });
  });

  it('reports a short payment as partial, with what is still confirming', () => {
    expect(paymentProgress(progressOf('partially_paid', '0', ['confirmed']))).toEqual({
      stage: 'partial',
      pending: 0,
    });
    expect(paymentProgress(progressOf('partially_paid', '5', ['confirmed', 'pending']))).toEqual({
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
    expect(paymentProgress(progressOf('unpaid', '0', ['reorged']))).toEqual({ stage: 'waiting' });
  });
});
