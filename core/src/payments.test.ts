import fc from 'fast-check';
import type { Address, Hex } from 'viem';
import { describe, expect, it } from 'vitest';
import type { AssetRef } from './assets.ts';
import { evaluateFunding, type FundingTerms, NATIVE_LOG_INDEX, type PaymentRecord } from './payments.ts';

const USDT = '0xdAC17F958D2ee523a2206206994597C13D831ec7' as Address;
const USDC = '0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48' as Address;
const FAKE_USDT = '0x1111111111111111111111111111111111111111' as Address;
const DEPOSIT = '0x2222222222222222222222222222222222222222' as Address;
const BUYER = '0x3333333333333333333333333333333333333333' as Address;
const DENIED = '0x4444444444444444444444444444444444444444' as Address;
const DEADLINE = new Date('2026-01-02T00:00:00Z');
const KNOWN = new Set([
  '1/native',
  `1/${USDT.toLowerCase()}`,
  `1/${USDC.toLowerCase()}`,
  `56/${USDT.toLowerCase()}`,
]);

const terms = (over: Partial<FundingTerms> = {}): FundingTerms => ({
  asset: { chainId: 1, token: USDT },
  amountDue: 100_000_000n,
  underpayTolerance: 0n,
  dustThreshold: 1000n,
  paymentDeadline: DEADLINE,
  closedAt: null,
  denylist: new Set([DENIED.toLowerCase()]),
  isKnownAsset: (ref: AssetRef) => KNOWN.has(`${ref.chainId}/${String(ref.token).toLowerCase()}`),
  ...over,
});

let n = 0;
const pay = (over: Partial<PaymentRecord> = {}): PaymentRecord => {
  n += 1;
  return {
    chainId: 1,
    txHash: `0x${n.toString(16).padStart(64, '0')}` as Hex,
    logIndex: 0,
    token: USDT,
    from: BUYER,
    to: DEPOSIT,
    amount: 100_000_000n,
    blockNumber: 100n,
    blockHash: `0x${'ab'.repeat(32)}`,
    blockTimestamp: new Date('2026-01-01T12:00:00Z'),
    status: 'confirmed',
    ...over,
  };
};

describe('evaluateFunding: the edge-case table', () => {
  it('exact payment, confirmed: funded', () => {
    const e = evaluateFunding(terms(), [pay()]);
    expect([e.status, e.confirmed, e.excess, e.shortfall, e.reviewReasons]).toEqual([
      'funded',
      100_000_000n,
      0n,
      0n,
      [],
    ]);
  });

  it('included but unconfirmed counts as confirming, never as funded', () => {
    const e = evaluateFunding(terms(), [pay({ status: 'pending' })]);
    expect([e.status, e.confirmed, e.confirming]).toEqual(['unpaid', 0n, 100_000_000n]);
  });

  it('underpaid within tolerance: funded with the shortfall recorded', () => {
    const e = evaluateFunding(terms({ underpayTolerance: 500n }), [pay({ amount: 99_999_600n })]);
    expect([e.status, e.shortfall]).toEqual(['funded', 400n]);
  });

  it('underpaid beyond tolerance: partially paid, and top-ups add up', () => {
    const first = pay({ amount: 60_000_000n });
    expect(evaluateFunding(terms(), [first]).status).toBe('partially_paid');
    const e = evaluateFunding(terms(), [first, pay({ amount: 40_000_000n })]);
    expect([e.status, e.confirmed]).toEqual(['funded', 100_000_000n]);
  });

  it('overpaid: funded with the excess owed back', () => {
    const e = evaluateFunding(terms(), [pay({ amount: 100_000_001n })]);
    expect([e.status, e.excess]).toEqual(['overpaid', 1n]);
  });

  it('paid after the window, judged by block time: recorded as late, never funds, flagged', () => {
    const late = pay({ blockTimestamp: new Date(DEADLINE.getTime() + 1000) });
    const e = evaluateFunding(terms(), [late]);
    expect([e.status, e.payments[0]?.class, e.reviewReasons]).toEqual(['unpaid', 'late', ['late_payment']]);
    const onTime = evaluateFunding(terms(), [pay({ blockTimestamp: DEADLINE })]);
    expect(onTime.status).toBe('funded');
  });

  it('a payment after the deal closed is late even inside the window', () => {
    const closedAt = new Date('2026-01-01T06:00:00Z');
    const e = evaluateFunding(terms({ closedAt }), [pay()]);
    expect(e.payments[0]?.class).toBe('late');
  });

  it('wrong token, native coin instead of the token, or another chain: foreign, not counted, flagged', () => {
    const e = evaluateFunding(terms(), [
      pay({ token: USDC }),
      pay({ token: 'native', logIndex: NATIVE_LOG_INDEX }),
      pay({ chainId: 56 }),
    ]);
    expect(e.status).toBe('unpaid');
    expect(e.payments.map((p) => p.class)).toEqual(['foreign', 'foreign', 'foreign']);
    expect(e.reviewReasons).toEqual(['foreign_asset']);
  });

  it('a fake token with a known symbol is ignored: matching is by contract address', () => {
    const e = evaluateFunding(terms(), [pay({ token: FAKE_USDT })]);
    expect([e.status, e.payments[0]?.class, e.reviewReasons]).toEqual(['unpaid', 'ignored', []]);
  });

  it('zero-value and dust transfers are ignored (address poisoning)', () => {
    const e = evaluateFunding(terms(), [pay({ amount: 0n }), pay({ amount: 999n })]);
    expect(e.payments.map((p) => p.class)).toEqual(['ignored', 'ignored']);
    expect([e.confirmed, e.confirming]).toEqual([0n, 0n]);
  });

  it('a reorged payment is un-counted and the funding recomputed', () => {
    const p = pay();
    expect(evaluateFunding(terms(), [{ ...p, status: 'reorged' }]).status).toBe('unpaid');
  });

  it('several Transfer logs in one transaction each count once; a duplicate report counts once', () => {
    const a = pay({ amount: 50_000_000n, logIndex: 1 });
    const b = { ...a, logIndex: 2 };
    const e = evaluateFunding(terms(), [a, b, { ...a }, { ...b }]);
    expect([e.status, e.confirmed, e.payments.length]).toEqual(['funded', 100_000_000n, 2]);
  });

  it('a sender on the denylist is recorded, not counted, and flagged', () => {
    const e = evaluateFunding(terms(), [pay({ from: DENIED })]);
    expect([e.status, e.payments[0]?.class, e.reviewReasons]).toEqual([
      'unpaid',
      'denylisted',
      ['denylisted_sender'],
    ]);
  });

  it('18-decimal amounts are exact (USDT on BNB Smart Chain)', () => {
    const due = 123_456_789_012_345_678_901_234n;
    const e = evaluateFunding(
      terms({ asset: { chainId: 56, token: USDT }, amountDue: due, dustThreshold: 0n }),
      [pay({ chainId: 56, amount: due - 1n }), pay({ chainId: 56, amount: 1n, logIndex: 7 })],
    );
    expect([e.status, e.confirmed]).toEqual(['funded', due]);
  });
});

describe('evaluateFunding: properties', () => {
  const paymentArb = fc.record({
    amount: fc.bigInt({ min: 0n, max: 200_000_000n }),
    status: fc.constantFrom('pending', 'confirmed', 'reorged') as fc.Arbitrary<PaymentRecord['status']>,
    token: fc.constantFrom<Address | 'native'>(USDT, USDC, FAKE_USDT, 'native'),
    late: fc.boolean(),
    tx: fc.integer({ min: 1, max: 8 }),
    logIndex: fc.integer({ min: -1, max: 3 }),
  });

  it('order and duplication of reports never change the result; counted money is exactly the confirmed sum', () => {
    fc.assert(
      fc.property(fc.array(paymentArb, { maxLength: 12 }), fc.integer(), (raw, seed) => {
        const records = raw.map((r) =>
          pay({
            amount: r.amount,
            status: r.status,
            token: r.token,
            txHash: `0x${r.tx.toString(16).padStart(64, '0')}` as Hex,
            logIndex: r.logIndex,
            blockTimestamp: r.late ? new Date(DEADLINE.getTime() + 1) : DEADLINE,
          }),
        );
        // Reports of the same key carry the same facts, as the chain gives them.
        const byKey = new Map(records.map((r) => [`${r.txHash}-${r.logIndex}`, r]));
        const canonical = [...byKey.values()];
        const shuffled = [...canonical, ...canonical].sort((a, b) =>
          (a.amount ^ BigInt(seed)) < (b.amount ^ BigInt(seed)) ? -1 : 1,
        );
        const a = evaluateFunding(terms(), canonical);
        const b = evaluateFunding(terms(), shuffled);
        expect([b.status, b.confirmed, b.confirming, b.excess, b.reviewReasons]).toEqual([
          a.status,
          a.confirmed,
          a.confirming,
          a.excess,
          a.reviewReasons,
        ]);
        const expected = canonical
          .filter(
            (p) =>
              p.status === 'confirmed' &&
              p.token === USDT &&
              p.amount >= 1000n &&
              p.blockTimestamp <= DEADLINE,
          )
          .reduce((s, p) => s + p.amount, 0n);
        expect(a.confirmed).toBe(expected);
      }),
      { numRuns: 500 },
    );
  });
});
