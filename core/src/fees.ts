import { z } from 'zod';
import { DomainError } from './errors.ts';

/**
 * The platform fee and who pays it, and how escrowed money is divided when a deal ends. Everything is
 * bigint base units of the deal's asset; rounding always goes the platform's way on the fee (ceil) and
 * the buyer's way on a split fee (the buyer's half is floored).
 */

export const BPS_DENOMINATOR = 10_000n;

export const feeTermsSchema = z.object({
  feeBps: z.number().int('must be a whole number of basis points').min(0).max(10_000),
  feeMin: z.bigint().min(0n, 'must not be negative'),
  feePayer: z.enum(['seller', 'split']),
});
/** Fixed into a deal at creation, so later fee changes never touch a running deal. */
export type FeeTerms = z.infer<typeof feeTermsSchema>;

export interface DealQuote {
  price: bigint;
  /** The platform's whole fee. */
  fee: bigint;
  sellerFee: bigint;
  buyerFee: bigint;
  /** What the buyer must deposit: the price plus the buyer's part of the fee. */
  amountDue: bigint;
}

export type PayoutOutcome = { kind: 'release' } | { kind: 'refund' } | { kind: 'split'; buyerAmount: bigint };

export type PayoutLegKind = 'seller' | 'fee' | 'buyer_excess' | 'buyer_refund' | 'buyer_share';

export interface PayoutLeg {
  kind: PayoutLegKind;
  amount: bigint;
}

function checkTerms(terms: FeeTerms): void {
  const parsed = feeTermsSchema.safeParse(terms);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new DomainError('fee_terms_invalid', `The fee terms are invalid: ${problems}`);
  }
}

const ceilDiv = (a: bigint, b: bigint): bigint => (a + b - 1n) / b;
// Math.min and Math.max throw on bigints.
const minOf = (a: bigint, b: bigint): bigint => (a < b ? a : b);
const maxOf = (a: bigint, b: bigint): bigint => (a > b ? a : b);

/** The fee on an amount: the percentage rounded up, at least the minimum, never more than the amount. */
function feeOn(amount: bigint, terms: FeeTerms): bigint {
  return minOf(maxOf(ceilDiv(amount * BigInt(terms.feeBps), BPS_DENOMINATOR), terms.feeMin), amount);
}

export function quoteDeal(price: bigint, terms: FeeTerms): DealQuote {
  checkTerms(terms);
  if (typeof price !== 'bigint' || price <= 0n) {
    throw new DomainError('price_not_positive', `The price must be above zero, got ${String(price)}`);
  }
  const fee = feeOn(price, terms);
  const buyerFee = terms.feePayer === 'split' ? fee / 2n : 0n;
  const sellerFee = fee - buyerFee;
  return { price, fee, sellerFee, buyerFee, amountDue: price + buyerFee };
}

/**
 * Divides what actually arrived (`received`, confirmed on chain) into payouts. The legs always add up
 * to `received` exactly, so no base unit is ever left behind in a deposit address or paid twice.
 */
export function payoutLegs(input: {
  outcome: PayoutOutcome;
  received: bigint;
  quote: DealQuote;
  terms: FeeTerms;
}): PayoutLeg[] {
  const { outcome, received, quote, terms } = input;
  if (received < 0n) throw new Error(`received must not be negative, got ${received.toString()}`);
  if (outcome.kind === 'split' && (outcome.buyerAmount < 0n || outcome.buyerAmount > received)) {
    throw new DomainError(
      'split_out_of_range',
      `The buyer's share must be between 0 and the ${received.toString()} base units held in escrow, got ${outcome.buyerAmount.toString()}`,
      { buyerAmount: outcome.buyerAmount.toString(), received: received.toString() },
    );
  }
  checkTerms(terms);
  if (received === 0n) return [];

  const legs: PayoutLeg[] = [];
  switch (outcome.kind) {
    case 'release': {
      // Anything above what was due goes back to the buyer; a shortfall (within tolerance) is the seller's.
      const settled = minOf(received, quote.amountDue);
      const fee = minOf(quote.fee, settled);
      legs.push({ kind: 'seller', amount: settled - fee });
      legs.push({ kind: 'fee', amount: fee });
      legs.push({ kind: 'buyer_excess', amount: received - settled });
      break;
    }
    case 'refund':
      legs.push({ kind: 'buyer_refund', amount: received });
      break;
    case 'split': {
      const sellerShare = received - outcome.buyerAmount;
      const fee = sellerShare === 0n ? 0n : feeOn(sellerShare, terms);
      legs.push({ kind: 'buyer_share', amount: outcome.buyerAmount });
      legs.push({ kind: 'seller', amount: sellerShare - fee });
      legs.push({ kind: 'fee', amount: fee });
      break;
    }
    default: {
      const unknown: never = outcome;
      throw new Error(`unknown payout outcome ${String((unknown as { kind: unknown }).kind)}`);
    }
  }
  return legs.filter((leg) => leg.amount > 0n);
}
