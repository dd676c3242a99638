import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DomainError } from './errors.ts';
import {
  type DealQuote,
  type FeeTerms,
  feeTermsSchema,
  type PayoutOutcome,
  payoutLegs,
  quoteDeal,
} from './fees.ts';
import { codeOf } from './testing.ts';

const USDT = 1_000_000n; // one whole USDT in base units
// 1%, at least 1 USDT, paid by the seller: the shape of the platform's default terms.
const SELLER_PAYS: FeeTerms = { feeBps: 100, feeMin: USDT, feePayer: 'seller' };
const SPLIT: FeeTerms = { feeBps: 250, feeMin: 0n, feePayer: 'split' };

describe('feeTermsSchema', () => {
  it('accepts valid terms and refuses out-of-range or fractional basis points', () => {
    expect(feeTermsSchema.safeParse(SELLER_PAYS).success).toBe(true);
    expect(feeTermsSchema.safeParse({ ...SELLER_PAYS, feeBps: 10_000 }).success).toBe(true);
    expect(feeTermsSchema.safeParse({ ...SELLER_PAYS, feeBps: 10_001 }).success).toBe(false);
    expect(feeTermsSchema.safeParse({ ...SELLER_PAYS, feeBps: -1 }).success).toBe(false);
    expect(feeTermsSchema.safeParse({ ...SELLER_PAYS, feeBps: 1.5 }).success).toBe(false);
    expect(feeTermsSchema.safeParse({ ...SELLER_PAYS, feeMin: -1n }).success).toBe(false);
    expect(feeTermsSchema.safeParse({ ...SELLER_PAYS, feeMin: 1 }).success).toBe(false);
    expect(feeTermsSchema.safeParse({ ...SELLER_PAYS, feePayer: 'buyer' }).success).toBe(false);
  });
});

describe('quoteDeal', () => {
  it.each<[string, bigint, FeeTerms, Omit<DealQuote, 'price'>]>([
    [
      '1% of 100 USDT equals the minimum',
      100n * USDT,
      SELLER_PAYS,
      { fee: USDT, sellerFee: USDT, buyerFee: 0n, amountDue: 100n * USDT },
    ],
    [
      '1% of 500 USDT is above the minimum',
      500n * USDT,
      SELLER_PAYS,
      { fee: 5n * USDT, sellerFee: 5n * USDT, buyerFee: 0n, amountDue: 500n * USDT },
    ],
    [
      '1% of 50 USDT is raised to the minimum',
      50n * USDT,
      SELLER_PAYS,
      { fee: USDT, sellerFee: USDT, buyerFee: 0n, amountDue: 50n * USDT },
    ],
    [
      'the minimum is capped at the price',
      USDT / 2n,
      SELLER_PAYS,
      { fee: USDT / 2n, sellerFee: USDT / 2n, buyerFee: 0n, amountDue: USDT / 2n },
    ],
    [
      'the percentage rounds up (1% of 1000001 is 10000.01)',
      1_000_001n,
      { feeBps: 100, feeMin: 0n, feePayer: 'seller' },
      { fee: 10_001n, sellerFee: 10_001n, buyerFee: 0n, amountDue: 1_000_001n },
    ],
    [
      'split: the buyer pays the smaller half of an odd fee',
      1000n,
      SPLIT,
      { fee: 25n, sellerFee: 13n, buyerFee: 12n, amountDue: 1012n },
    ],
    [
      'split: an even fee halves exactly',
      2000n,
      SPLIT,
      { fee: 50n, sellerFee: 25n, buyerFee: 25n, amountDue: 2025n },
    ],
    [
      'split: a 1-unit fee falls entirely on the seller',
      1n,
      { feeBps: 0, feeMin: 1n, feePayer: 'split' },
      { fee: 1n, sellerFee: 1n, buyerFee: 0n, amountDue: 1n },
    ],
    [
      'no fee at all',
      7n,
      { feeBps: 0, feeMin: 0n, feePayer: 'seller' },
      { fee: 0n, sellerFee: 0n, buyerFee: 0n, amountDue: 7n },
    ],
    [
      '100% takes the whole price',
      123n,
      { feeBps: 10_000, feeMin: 0n, feePayer: 'seller' },
      { fee: 123n, sellerFee: 123n, buyerFee: 0n, amountDue: 123n },
    ],
    [
      '18-decimal amounts stay exact (USDT on BNB Smart Chain)',
      1234n * 10n ** 18n + 1n,
      { feeBps: 100, feeMin: 10n ** 18n, feePayer: 'split' },
      {
        fee: 12_340_000_000_000_000_001n,
        sellerFee: 6_170_000_000_000_000_001n,
        buyerFee: 6_170_000_000_000_000_000n,
        amountDue: 1_240_170_000_000_000_000_001n,
      },
    ],
  ])('%s', (_label, price, terms, expected) => {
    expect(quoteDeal(price, terms)).toEqual({ price, ...expected });
  });

  it('refuses a price of zero or less', () => {
    expect(codeOf(() => quoteDeal(0n, SELLER_PAYS))).toBe('price_not_positive');
    expect(codeOf(() => quoteDeal(-5n, SELLER_PAYS))).toBe('price_not_positive');
  });

  it('refuses invalid terms, naming the field', () => {
    expect(codeOf(() => quoteDeal(100n, { ...SELLER_PAYS, feeBps: 20_000 }))).toBe('fee_terms_invalid');
    expect(() => quoteDeal(100n, { ...SELLER_PAYS, feeMin: -1n })).toThrow(/feeMin/);
  });
});

describe('payoutLegs', () => {
  const quote100 = quoteDeal(100n * USDT, SELLER_PAYS); // fee 1 USDT, due 100 USDT
  const legs = (outcome: PayoutOutcome, received: bigint, quote = quote100, terms = SELLER_PAYS) =>
    payoutLegs({ outcome, received, quote, terms });
  const release = { kind: 'release' } as const;
  const refund = { kind: 'refund' } as const;
  const split = (buyerAmount: bigint) => ({ kind: 'split', buyerAmount }) as const;

  it.each<[string, PayoutOutcome, bigint, Array<[string, bigint]>]>([
    [
      'release, paid exactly',
      release,
      100n * USDT,
      [
        ['seller', 99n * USDT],
        ['fee', USDT],
      ],
    ],
    [
      'release, overpaid: the excess goes back to the buyer',
      release,
      105n * USDT,
      [
        ['seller', 99n * USDT],
        ['fee', USDT],
        ['buyer_excess', 5n * USDT],
      ],
    ],
    [
      'release, underpaid within tolerance: the seller carries the shortfall',
      release,
      99n * USDT + USDT / 2n,
      [
        ['seller', 98n * USDT + USDT / 2n],
        ['fee', USDT],
      ],
    ],
    ['release of less than the fee: all of it is fee', release, USDT / 2n, [['fee', USDT / 2n]]],
    ['refund: everything back, no fee', refund, 100n * USDT, [['buyer_refund', 100n * USDT]]],
    ['refund of an overpayment: everything back', refund, 130n * USDT, [['buyer_refund', 130n * USDT]]],
    [
      'split 40/60: the fee comes from the seller share only',
      split(40n * USDT),
      100n * USDT,
      [
        ['buyer_share', 40n * USDT],
        ['seller', 59n * USDT],
        ['fee', USDT],
      ],
    ],
    [
      'split with a large seller share: percentage fee on that share',
      split(10n * USDT),
      1000n * USDT,
      [
        ['buyer_share', 10n * USDT],
        ['seller', 980n * USDT + USDT / 10n],
        ['fee', 9n * USDT + (9n * USDT) / 10n],
      ],
    ],
    ['split all to the buyer: no fee', split(100n * USDT), 100n * USDT, [['buyer_share', 100n * USDT]]],
    [
      'split all to the seller',
      split(0n),
      100n * USDT,
      [
        ['seller', 99n * USDT],
        ['fee', USDT],
      ],
    ],
    [
      'split where the seller share is below the minimum fee: the share is all fee',
      split(99n * USDT + USDT / 2n),
      100n * USDT,
      [
        ['buyer_share', 99n * USDT + USDT / 2n],
        ['fee', USDT / 2n],
      ],
    ],
    ['nothing received: nothing to pay', release, 0n, []],
    ['nothing received, refund', refund, 0n, []],
    ['nothing received, split of zero', split(0n), 0n, []],
  ])('%s', (_label, outcome, received, expected) => {
    expect(legs(outcome, received).map((l) => [l.kind, l.amount])).toEqual(expected);
  });

  it('release with split fees: the buyer paid their half on top of the price', () => {
    const quote = quoteDeal(1000n, SPLIT); // fee 25, buyer 12, seller 13, due 1012
    expect(legs(release, 1012n, quote, SPLIT)).toEqual([
      { kind: 'seller', amount: 987n },
      { kind: 'fee', amount: 25n },
    ]);
    expect(legs(release, 1020n, quote, SPLIT)).toEqual([
      { kind: 'seller', amount: 987n },
      { kind: 'fee', amount: 25n },
      { kind: 'buyer_excess', amount: 8n },
    ]);
  });

  it('refuses a split outside what is held', () => {
    expect(codeOf(() => legs(split(100n * USDT + 1n), 100n * USDT))).toBe('split_out_of_range');
    expect(codeOf(() => legs(split(-1n), 100n * USDT))).toBe('split_out_of_range');
    expect(codeOf(() => legs(split(1n), 0n))).toBe('split_out_of_range');
    expect(() => legs(split(101n * USDT), 100n * USDT)).toThrow(/between 0 and the 100000000 base units/);
  });

  it('treats a negative received amount as a programming error', () => {
    let thrown: unknown;
    try {
      legs(refund, -1n);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(Error);
    expect(thrown).not.toBeInstanceOf(DomainError);
  });
});

describe('properties', () => {
  const termsArb = fc.record({
    feeBps: fc.integer({ min: 0, max: 10_000 }),
    feeMin: fc.oneof(
      fc.constant(0n),
      fc.bigInt({ min: 0n, max: 10n ** 6n }),
      fc.bigInt({ min: 0n, max: 10n ** 21n }),
    ),
    feePayer: fc.constantFrom('seller' as const, 'split' as const),
  });
  const priceArb = fc.oneof(fc.bigInt({ min: 1n, max: 1000n }), fc.bigInt({ min: 1n, max: 10n ** 33n }));

  // received around the amount due: short, exact, over, and far over.
  const scenarioArb = fc
    .tuple(termsArb, priceArb)
    .chain(([terms, price]) => {
      const quote = quoteDeal(price, terms);
      return fc.record({
        terms: fc.constant(terms),
        quote: fc.constant(quote),
        received: fc.oneof(
          fc.constant(quote.amountDue),
          fc.bigInt({ min: 0n, max: quote.amountDue }),
          fc.bigInt({ min: quote.amountDue, max: quote.amountDue * 3n }),
        ),
      });
    })
    .chain((s) =>
      fc.record({
        terms: fc.constant(s.terms),
        quote: fc.constant(s.quote),
        received: fc.constant(s.received),
        outcome: fc.oneof(
          fc.constant<PayoutOutcome>({ kind: 'release' }),
          fc.constant<PayoutOutcome>({ kind: 'refund' }),
          fc
            .bigInt({ min: 0n, max: s.received })
            .map((buyerAmount): PayoutOutcome => ({ kind: 'split', buyerAmount })),
        ),
      }),
    );

  const sum = (xs: Array<{ amount: bigint }>) => xs.reduce((acc, x) => acc + x.amount, 0n);

  it('quotes: the fee parts add up, stay within the price, and respect the rate and minimum', () => {
    fc.assert(
      fc.property(termsArb, priceArb, (terms, price) => {
        const q = quoteDeal(price, terms);
        expect(q.sellerFee + q.buyerFee).toBe(q.fee);
        expect(q.fee <= price).toBe(true);
        expect(q.fee >= terms.feeMin || q.fee === price).toBe(true);
        if (q.fee < price) expect(q.fee * 10_000n >= price * BigInt(terms.feeBps)).toBe(true);
        expect(q.buyerFee <= q.sellerFee).toBe(true);
        if (terms.feePayer === 'seller') expect(q.buyerFee).toBe(0n);
        expect(q.amountDue).toBe(price + q.buyerFee);
      }),
      { numRuns: 1000 },
    );
  });

  it('legs sum to exactly what was received, and every leg is positive', () => {
    fc.assert(
      fc.property(scenarioArb, ({ terms, quote, received, outcome }) => {
        const out = payoutLegs({ outcome, received, quote, terms });
        expect(sum(out)).toBe(received);
        for (const leg of out) expect(leg.amount > 0n).toBe(true);
        expect(new Set(out.map((l) => l.kind)).size).toBe(out.length);
      }),
      { numRuns: 2000 },
    );
  });

  it('a refund never carries a fee', () => {
    fc.assert(
      fc.property(scenarioArb, ({ terms, quote, received }) => {
        const out = payoutLegs({ outcome: { kind: 'refund' }, received, quote, terms });
        expect(out.some((l) => l.kind === 'fee')).toBe(false);
        expect(out).toEqual(received === 0n ? [] : [{ kind: 'buyer_refund', amount: received }]);
      }),
      { numRuns: 1000 },
    );
  });

  it('a release never pays the seller more than price - sellerFee, nor takes more than the quoted fee', () => {
    fc.assert(
      fc.property(scenarioArb, ({ terms, quote, received }) => {
        const out = payoutLegs({ outcome: { kind: 'release' }, received, quote, terms });
        const seller = sum(out.filter((l) => l.kind === 'seller'));
        const fee = sum(out.filter((l) => l.kind === 'fee'));
        expect(seller <= quote.price - quote.sellerFee).toBe(true);
        expect(fee <= quote.fee).toBe(true);
        // Paid in full: the seller gets exactly the price less their fee.
        if (received >= quote.amountDue) {
          expect(seller).toBe(quote.price - quote.sellerFee);
          expect(fee).toBe(quote.fee);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('a split gives the buyer exactly their share and takes the fee from the seller share only', () => {
    fc.assert(
      fc.property(scenarioArb, ({ terms, quote, received, outcome }) => {
        if (outcome.kind !== 'split') return;
        const out = payoutLegs({ outcome, received, quote, terms });
        expect(sum(out.filter((l) => l.kind === 'buyer_share'))).toBe(outcome.buyerAmount);
        expect(sum(out.filter((l) => l.kind === 'seller' || l.kind === 'fee'))).toBe(
          received - outcome.buyerAmount,
        );
      }),
      { numRuns: 1000 },
    );
  });
});
