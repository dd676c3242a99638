import type { Address, Hex } from 'viem';
import { type AssetRef, sameAsset } from './assets.ts';
import type { FundingStatus } from './deal/states.ts';

/**
 * Native transfers have no log index. The payment key must still be unique and never NULL (a NULL
 * would let duplicates past the unique index), so native transfers use this sentinel.
 */
export const NATIVE_LOG_INDEX = -1;

export const PAYMENT_STATUSES = ['pending', 'confirmed', 'reorged'] as const;
export type PaymentStatus = (typeof PAYMENT_STATUSES)[number];

/** One incoming transfer to a deposit address, as recorded from the chain. */
export interface PaymentRecord {
  chainId: number;
  txHash: Hex;
  logIndex: number;
  token: Address | 'native';
  from: Address;
  to: Address;
  amount: bigint;
  blockNumber: bigint;
  blockHash: Hex;
  blockTimestamp: Date;
  status: PaymentStatus;
}

export const paymentKey = (p: Pick<PaymentRecord, 'chainId' | 'txHash' | 'logIndex'>): string =>
  `${p.chainId}-${p.txHash.toLowerCase()}-${p.logIndex}`;

export type PaymentClass =
  | 'counted' // the deal's asset, in the window, confirmed: funds the deal
  | 'confirming' // the deal's asset, in the window, included but not yet at the confirmation count
  | 'reorged' // dropped from the canonical chain: never counts
  | 'ignored' // zero value, dust, or a token outside the registry (address-poisoning spam)
  | 'foreign' // a real asset from the registry, but not this deal's: held for an operator
  | 'late' // the deal's asset, but after the window or after the deal stopped receiving
  | 'denylisted'; // from a sender on the denylist

export type ReviewReason = 'late_payment' | 'foreign_asset' | 'denylisted_sender';

export interface FundingTerms {
  asset: AssetRef;
  amountDue: bigint;
  /** Shortfall still accepted as funded (base units, default 0). */
  underpayTolerance: bigint;
  /** Transfers below this are treated as spam (base units of the deal's asset). */
  dustThreshold: bigint;
  /** End of the payment window; null before the window opens. Judged by block time. */
  paymentDeadline: Date | null;
  /** When the deal stopped receiving money for another reason (cancelled, settled), if it did. */
  closedAt: Date | null;
  /** Lower-cased sender addresses whose money is never counted. */
  denylist: ReadonlySet<string>;
  /** Whether a (chain, token) is a configured asset; decides between `foreign` and `ignored`. */
  isKnownAsset: (ref: AssetRef) => boolean;
}

export interface ClassifiedPayment {
  key: string;
  payment: PaymentRecord;
  class: PaymentClass;
}

export interface FundingEvaluation {
  status: FundingStatus;
  /** Confirmed amount of the deal's asset that counts toward funding. */
  confirmed: bigint;
  /** Amount of the deal's asset that is included but still confirming. */
  confirming: bigint;
  /** Set when funded within tolerance: what is missing. */
  shortfall: bigint;
  /** Set when overpaid: owed back to the buyer. */
  excess: bigint;
  payments: ClassifiedPayment[];
  reviewReasons: ReviewReason[];
}

const classify = (terms: FundingTerms, p: PaymentRecord): PaymentClass => {
  if (p.status === 'reorged') return 'reorged';
  if (p.amount <= 0n) return 'ignored';
  if (terms.denylist.has(p.from.toLowerCase())) return 'denylisted';
  const ref: AssetRef = { chainId: p.chainId, token: p.token };
  if (!sameAsset(ref, terms.asset)) return terms.isKnownAsset(ref) ? 'foreign' : 'ignored';
  if (p.amount < terms.dustThreshold) return 'ignored';
  const cutoff =
    terms.paymentDeadline && terms.closedAt
      ? new Date(Math.min(terms.paymentDeadline.getTime(), terms.closedAt.getTime()))
      : (terms.paymentDeadline ?? null);
  if (cutoff === null || p.blockTimestamp > cutoff) return 'late';
  return p.status === 'confirmed' ? 'counted' : 'confirming';
};

const REVIEW_FOR: Partial<Record<PaymentClass, ReviewReason>> = {
  late: 'late_payment',
  foreign: 'foreign_asset',
  denylisted: 'denylisted_sender',
};

/** Why a payment of this class needs a human, if it does. */
export const reviewReasonFor = (cls: PaymentClass): ReviewReason | undefined => REVIEW_FOR[cls];

/**
 * Computes a deal's funding from all of its recorded payments. Recomputing from the full set each time
 * (instead of adding deltas) is what makes duplicate, reordered and reorged reports harmless.
 */
export function evaluateFunding(terms: FundingTerms, payments: readonly PaymentRecord[]): FundingEvaluation {
  const seen = new Set<string>();
  const classified: ClassifiedPayment[] = [];
  for (const payment of payments) {
    const key = paymentKey(payment);
    if (seen.has(key)) continue; // each log counts once, however often it was reported
    seen.add(key);
    classified.push({ key, payment, class: classify(terms, payment) });
  }

  let confirmed = 0n;
  let confirming = 0n;
  const reasons = new Set<ReviewReason>();
  for (const c of classified) {
    if (c.class === 'counted') confirmed += c.payment.amount;
    if (c.class === 'confirming') confirming += c.payment.amount;
    const reason = reviewReasonFor(c.class);
    if (reason) reasons.add(reason);
  }

  const threshold = terms.amountDue - terms.underpayTolerance;
  const status: FundingStatus =
    confirmed === 0n
      ? 'unpaid'
      : confirmed < threshold
        ? 'partially_paid'
        : confirmed > terms.amountDue
          ? 'overpaid'
          : 'funded';
  const funded = status === 'funded' || status === 'overpaid';

  return {
    status,
    confirmed,
    confirming,
    shortfall: funded && confirmed < terms.amountDue ? terms.amountDue - confirmed : 0n,
    excess: confirmed > terms.amountDue ? confirmed - terms.amountDue : 0n,
    payments: classified,
    reviewReasons: [...reasons].sort(),
  };
}
