import type { payoutLegs as corePayoutLegs, PayoutLeg } from '@amanat/core';
import type { DealView } from '@amanat/core/api';
import { isFullyFunded } from '../deals/payment.ts';
import { parseUnits } from '../deals/units.ts';

/**
 * What resolving a dispute pays whom, for the confirmation step. The division itself is core's fee
 * function (`payoutLegs`), the very one the API records payouts with; this module only feeds it the
 * deal as the API shows it and names the receiver of each leg. The function is passed in because
 * browser code takes only types from core: the arbitration screen loads it on demand.
 */
export type PayoutLegsFn = typeof corePayoutLegs;

export type ResolveOutcome =
  | { kind: 'release' }
  | { kind: 'refund' }
  | { kind: 'split'; buyerAmount: bigint };

export interface OutcomeLine {
  kind: PayoutLeg['kind'];
  /** Who receives it: a party, or the platform's fee. */
  to: 'seller' | 'buyer' | 'platform';
  amount: bigint;
  /** The party's name and the address its money goes to (null for the fee and for a missing party). */
  name: string | null;
  address: string | null;
}

type OutcomeDeal = Pick<
  DealView,
  'price' | 'fee' | 'sellerFee' | 'buyerFee' | 'amountDue' | 'feeTerms' | 'funding' | 'seller' | 'buyer'
>;

/** What the escrow holds: the confirmed money the API divides (the deal's confirmed amount). */
export const heldInEscrow = (deal: Pick<DealView, 'funding'>): bigint => BigInt(deal.funding.confirmed);

const RECEIVER: Record<PayoutLeg['kind'], OutcomeLine['to']> = {
  seller: 'seller',
  fee: 'platform',
  buyer_excess: 'buyer',
  buyer_refund: 'buyer',
  buyer_share: 'buyer',
};

/** Every payout the outcome makes, in core's order; together they add up to what is held. */
export function outcomeLines(
  deal: OutcomeDeal,
  outcome: ResolveOutcome,
  payoutLegs: PayoutLegsFn,
): OutcomeLine[] {
  const legs = payoutLegs({
    outcome,
    received: heldInEscrow(deal),
    quote: {
      price: BigInt(deal.price),
      fee: BigInt(deal.fee),
      sellerFee: BigInt(deal.sellerFee),
      buyerFee: BigInt(deal.buyerFee),
      amountDue: BigInt(deal.amountDue),
    },
    terms: {
      feeBps: deal.feeTerms.feeBps,
      feeMin: BigInt(deal.feeTerms.feeMin),
      feePayer: deal.feeTerms.feePayer,
    },
  });
  return legs.map((leg) => {
    const to = RECEIVER[leg.kind];
    const party = to === 'seller' ? deal.seller : to === 'buyer' ? deal.buyer : null;
    return {
      kind: leg.kind,
      to,
      amount: leg.amount,
      name: party?.displayName ?? null,
      address: party?.address ?? null,
    };
  });
}

export type SplitAmount =
  | { ok: true; buyerAmount: bigint }
  | { ok: false; reason: 'empty' | 'not_a_number' | 'too_many_decimals' | 'not_positive' | 'above_held' };

/** The buyer's share as typed, in token units: above zero and at most what the escrow holds. */
export function parseSplitAmount(text: string, decimals: number, held: bigint): SplitAmount {
  const parsed = parseUnits(text, decimals);
  // Beyond what any amount may be is beyond what the escrow holds, too.
  if (!parsed.ok) return { ok: false, reason: parsed.reason === 'too_large' ? 'above_held' : parsed.reason };
  if (parsed.units > held) return { ok: false, reason: 'above_held' };
  return { ok: true, buyerAmount: parsed.units };
}

/** Why an outcome cannot be chosen now, following core's rules for resolve_dispute; null when it can. */
export function outcomeBlocker(
  deal: Pick<DealView, 'state' | 'needsReview' | 'funding'>,
  kind: ResolveOutcome['kind'],
): 'not_disputed' | 'needs_review' | 'not_funded' | null {
  if (deal.state !== 'disputed') return 'not_disputed';
  if (deal.needsReview) return 'needs_review';
  if (kind !== 'refund' && !isFullyFunded(deal.funding)) return 'not_funded';
  return null;
}
