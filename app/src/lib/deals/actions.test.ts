import type { DealView } from '@amanat/core/api';
import { describe, expect, it } from 'vitest';
import { counterparty, needsAction, partyActions, primaryStep, runningDeadline } from './actions.ts';

const NOW = Date.parse('2025-06-01T12:00:00.000Z');
const party = (id: string, accepted = false) => ({
  userId: id,
  displayName: id,
  username: null,
  address: null,
  acceptedAt: accepted ? '2025-06-01T10:00:00.000Z' : null,
});

function deal(over: Partial<DealView>): DealView {
  return {
    state: 'draft',
    yourRole: 'buyer',
    seller: party('s'),
    buyer: party('b'),
    funding: { status: 'unpaid', confirmed: '0', confirming: '0', remaining: '100' },
    deadlines: { payment: null, delivery: null, inspection: null },
    needsReview: false,
    invite: null,
    ...over,
  } as DealView;
}

describe('partyActions', () => {
  it('asks the creator of a draft to share the invite until someone joins', () => {
    const d = deal({
      yourRole: 'seller',
      buyer: null,
      invite: { code: 'ABCDEFGHJK', telegramLink: 'https://t.me/x', webLink: 'https://a/join/ABCDEFGHJK' },
    });
    expect(partyActions(d, NOW)).toEqual(['share', 'address', 'cancel']);
    expect(primaryStep(d, NOW)).toBe('share');
  });

  it('asks a party to accept once both joined, and stops asking after they did', () => {
    expect(primaryStep(deal({}), NOW)).toBe('accept');
    expect(primaryStep(deal({ buyer: party('b', true) }), NOW)).toBeNull();
  });

  it('sends the buyer to pay while the deal awaits payment; the seller waits', () => {
    const d = deal({ state: 'awaiting_payment' });
    expect(primaryStep(d, NOW)).toBe('pay');
    expect(primaryStep({ ...d, yourRole: 'seller' }, NOW)).toBeNull();
    expect(needsAction({ ...d, yourRole: 'seller' }, NOW)).toBe(false);
  });

  it('does not offer cancelling or address changes once money arrived', () => {
    const d = deal({
      state: 'awaiting_payment',
      funding: { status: 'unpaid', confirmed: '0', confirming: '5', remaining: '100' },
    });
    expect(partyActions(d, NOW)).toEqual(['pay']);
  });

  it('lets the seller deliver a funded deal; the buyer may cancel only after the delivery deadline', () => {
    const funded = { status: 'funded' as const, confirmed: '100', confirming: '0', remaining: '0' };
    const d = deal({
      state: 'funded',
      funding: funded,
      deadlines: { payment: null, delivery: '2025-06-02T00:00:00.000Z', inspection: null },
    });
    expect(partyActions({ ...d, yourRole: 'seller' }, NOW)).toEqual(['deliver', 'dispute', 'cancel']);
    expect(partyActions(d, NOW)).toEqual(['confirm', 'dispute']);
    expect(partyActions(d, Date.parse('2025-06-03T00:00:00.000Z'))).toEqual(['confirm', 'dispute', 'cancel']);
  });

  it('puts confirm receipt first for the buyer after delivery, and closes disputes after inspection', () => {
    const d = deal({
      state: 'delivered',
      funding: { status: 'funded', confirmed: '100', confirming: '0', remaining: '0' },
      deadlines: { payment: null, delivery: null, inspection: '2025-06-02T00:00:00.000Z' },
    });
    expect(primaryStep(d, NOW)).toBe('confirm');
    expect(partyActions(d, Date.parse('2025-06-03T00:00:00.000Z'))).toEqual(['confirm']);
    expect(partyActions({ ...d, needsReview: true }, NOW)).toEqual(['dispute']);
  });

  it('offers the dispute thread while disputed and nothing once finished', () => {
    expect(partyActions(deal({ state: 'disputed' }), NOW)).toEqual(['message']);
    expect(partyActions(deal({ state: 'released' }), NOW)).toEqual([]);
  });

  it('names the other party as the counterparty', () => {
    const d = deal({});
    expect(counterparty(d)?.userId).toBe('s');
    expect(counterparty({ ...d, yourRole: 'seller' })?.userId).toBe('b');
  });
});

describe('runningDeadline', () => {
  it("counts down only the deadline the deal's state waits on", () => {
    expect(runningDeadline('draft')).toBeNull();
    expect(runningDeadline('awaiting_payment')).toBe('payment');
    expect(runningDeadline('partially_paid')).toBe('payment');
    expect(runningDeadline('funded')).toBe('delivery');
    expect(runningDeadline('delivered')).toBe('inspection');
    expect(runningDeadline('disputed')).toBeNull();
    expect(runningDeadline('released')).toBeNull();
  });
});
