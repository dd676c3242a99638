import { type FeeTerms, payoutLegs, quoteDeal } from '@amanat/core';
import { describe, expect, it } from 'vitest';
import { heldInEscrow, outcomeBlocker, outcomeLines, parseSplitAmount } from './outcome.ts';

const SELLER = '0x1111111111111111111111111111111111111111';
const BUYER = '0x2222222222222222222222222222222222222222';

/** A deal as the API shows it, with its money from core's own quote. */
function dealOf(price: bigint, terms: FeeTerms, confirmed: bigint) {
  const q = quoteDeal(price, terms);
  const party = (name: string, address: string) => ({
    userId: '00000000-0000-4000-8000-000000000000',
    displayName: name,
    username: null,
    address,
    acceptedAt: null,
  });
  return {
    state: 'disputed' as const,
    needsReview: false,
    price: q.price.toString(),
    fee: q.fee.toString(),
    sellerFee: q.sellerFee.toString(),
    buyerFee: q.buyerFee.toString(),
    amountDue: q.amountDue.toString(),
    feeTerms: { feeBps: terms.feeBps, feeMin: terms.feeMin.toString(), feePayer: terms.feePayer },
    funding: {
      status: (confirmed > q.amountDue ? 'overpaid' : 'funded') as 'funded' | 'overpaid',
      confirmed: confirmed.toString(),
      confirming: '0',
      remaining: '0',
    },
    seller: party('Sam Seller', SELLER),
    buyer: party('Bea Buyer', BUYER),
  };
}

const USDT = 10n ** 6n;
const sellerPays: FeeTerms = { feeBps: 150, feeMin: 1n * USDT, feePayer: 'seller' };
const splitFee: FeeTerms = { feeBps: 150, feeMin: 1n * USDT, feePayer: 'split' };
const brief = (lines: ReturnType<typeof outcomeLines>) =>
  lines.map((l) => [l.to, l.kind, l.amount, l.address]);

describe('outcomeLines', () => {
  it('release: the seller gets the price less the seller’s fee, the platform the fee', () => {
    const deal = dealOf(100n * USDT, sellerPays, 100n * USDT);
    expect(brief(outcomeLines(deal, { kind: 'release' }, payoutLegs))).toEqual([
      ['seller', 'seller', 98_500_000n, SELLER],
      ['platform', 'fee', 1_500_000n, null],
    ]);
    // With the fee split the buyer paid half of it on top: the seller still loses only their half.
    const split = dealOf(100n * USDT, splitFee, 100_750_000n);
    expect(brief(outcomeLines(split, { kind: 'release' }, payoutLegs))).toEqual([
      ['seller', 'seller', 99_250_000n, SELLER],
      ['platform', 'fee', 1_500_000n, null],
    ]);
    expect(100n * USDT - BigInt(split.sellerFee)).toBe(99_250_000n);
  });

  it('release of an overpaid deal gives the excess back to the buyer', () => {
    const deal = dealOf(100n * USDT, sellerPays, 103n * USDT);
    const lines = outcomeLines(deal, { kind: 'release' }, payoutLegs);
    expect(brief(lines)).toEqual([
      ['seller', 'seller', 98_500_000n, SELLER],
      ['platform', 'fee', 1_500_000n, null],
      ['buyer', 'buyer_excess', 3n * USDT, BUYER],
    ]);
    expect(lines[0]?.name).toBe('Sam Seller');
    expect(lines[2]?.name).toBe('Bea Buyer');
  });

  it('refund: the buyer gets everything held back, with no fee', () => {
    const deal = dealOf(100n * USDT, splitFee, 100_750_000n);
    expect(brief(outcomeLines(deal, { kind: 'refund' }, payoutLegs))).toEqual([
      ['buyer', 'buyer_refund', 100_750_000n, BUYER],
    ]);
  });

  it('split: the buyer gets their share, the seller the rest less the fee on the rest', () => {
    const deal = dealOf(100n * USDT, sellerPays, 100n * USDT);
    // 1.5 % of 60 is 0.9, below the 1 USDT minimum.
    expect(brief(outcomeLines(deal, { kind: 'split', buyerAmount: 40n * USDT }, payoutLegs))).toEqual([
      ['buyer', 'buyer_share', 40n * USDT, BUYER],
      ['seller', 'seller', 59n * USDT, SELLER],
      ['platform', 'fee', 1n * USDT, null],
    ]);
    // Everything to the buyer: no seller leg and no fee.
    expect(brief(outcomeLines(deal, { kind: 'split', buyerAmount: 100n * USDT }, payoutLegs))).toEqual([
      ['buyer', 'buyer_share', 100n * USDT, BUYER],
    ]);
  });

  it('always adds up to exactly what the escrow holds', () => {
    for (const terms of [sellerPays, splitFee]) {
      for (const confirmed of [99n * USDT, 100_750_000n, 104_000_001n]) {
        const deal = dealOf(100n * USDT, terms, confirmed);
        const outcomes = [
          { kind: 'release' as const },
          { kind: 'refund' as const },
          { kind: 'split' as const, buyerAmount: 33_333_333n },
        ];
        for (const outcome of outcomes) {
          const total = outcomeLines(deal, outcome, payoutLegs).reduce((sum, l) => sum + l.amount, 0n);
          expect(total).toBe(heldInEscrow(deal));
        }
      }
    }
  });
});

describe('parseSplitAmount', () => {
  it('takes token units up to what is held', () => {
    expect(parseSplitAmount('40.5', 6, 100n * USDT)).toEqual({ ok: true, buyerAmount: 40_500_000n });
    expect(parseSplitAmount('100', 6, 100n * USDT)).toEqual({ ok: true, buyerAmount: 100n * USDT });
    expect(parseSplitAmount('100.000001', 6, 100n * USDT)).toEqual({ ok: false, reason: 'above_held' });
    expect(parseSplitAmount('1.0000001', 6, 100n * USDT)).toEqual({ ok: false, reason: 'too_many_decimals' });
    expect(parseSplitAmount('', 6, 100n * USDT)).toEqual({ ok: false, reason: 'empty' });
    expect(parseSplitAmount('0', 6, 100n * USDT)).toEqual({ ok: false, reason: 'not_positive' });
    expect(parseSplitAmount('9'.repeat(40), 6, 100n * USDT)).toEqual({ ok: false, reason: 'above_held' });
  });
});

describe('outcomeBlocker', () => {
  const deal = dealOf(100n * USDT, sellerPays, 100n * USDT);
  it('follows the machine: review first, funding for release and split, refund always', () => {
    expect(outcomeBlocker(deal, 'release')).toBeNull();
    expect(outcomeBlocker({ ...deal, needsReview: true }, 'refund')).toBe('needs_review');
    const short = { ...deal, funding: { ...deal.funding, status: 'partially_paid' as const } };
    expect(outcomeBlocker(short, 'split')).toBe('not_funded');
    expect(outcomeBlocker(short, 'refund')).toBeNull();
    expect(outcomeBlocker({ ...deal, state: 'releasing' as const }, 'refund')).toBe('not_disputed');
  });
});
