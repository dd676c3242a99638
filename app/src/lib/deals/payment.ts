import type { DealView } from '@amanat/core/api';

/**
 * Where a deal's payment stands and what, if anything, the buyer may still send. Everything here reads
 * the deal as the API reports it; `funding.remaining` is what is still due counting confirmed payments
 * only, `funding.confirming` what has been seen on chain but is not confirmed yet.
 */

type Funding = Pick<DealView['funding'], 'status'>;

/** The deal holds all it asked for (an overpayment counts: the extra is the operators' to return). */
export const isFullyFunded = (funding: Funding | { status: string }): boolean =>
  funding.status === 'funded' || funding.status === 'overpaid';

/** States in which the deposit address still takes the buyer's money (core's machine: before funded). */
const PAYABLE_STATES: readonly string[] = ['awaiting_payment', 'partially_paid'];
export const canReceivePayment = (state: string): boolean => PAYABLE_STATES.includes(state);

/** Where the deal went once paid: the buyer's payment did its job, whatever happens next. */
const PAID_STATES: readonly string[] = ['funded', 'delivered', 'disputed', 'releasing', 'released'];

/**
 * What is still to send: what remains after confirmed payments, less what is already on its way
 * (confirming). Never negative.
 */
export function amountToPay(deal: { funding: { remaining: string; confirming: string } }): bigint {
  const left = BigInt(deal.funding.remaining) - BigInt(deal.funding.confirming);
  return left > 0n ? left : 0n;
}

export type PaymentProgress =
  | { stage: 'waiting' }
  | { stage: 'confirming'; pending: number; seen: number | null }
  | { stage: 'partial'; pending: number }
  | { stage: 'funded' };

/**
 * Where the buyer's payment stands, from what the deal reports: nothing seen yet, seen and waiting for
 * confirmations (`seen`: the blocks on top of the least confirmed pending payment, when the API knows
 * the chain's head), confirmed but short, or fully funded.
 */
export function paymentProgress(deal: {
  funding: { status: string; confirming: string };
  payments: ReadonlyArray<{ status: string; confirmations?: number | null }>;
}): PaymentProgress {
  if (isFullyFunded(deal.funding)) return { stage: 'funded' };
  const pending = deal.payments.filter((p) => p.status === 'pending');
  if (deal.funding.status === 'partially_paid') return { stage: 'partial', pending: pending.length };
  if (pending.length > 0 || BigInt(deal.funding.confirming) > 0n) {
    const counts = pending.map((p) => p.confirmations).filter((c): c is number => typeof c === 'number');
    const seen = counts.length === pending.length && counts.length > 0 ? Math.min(...counts) : null;
    return { stage: 'confirming', pending: pending.length, seen };
  }
  return { stage: 'waiting' };
}

/**
 * What the pay screen may offer:
 * - `pay`: the address and amount; `live` false when they come from the device's copy (offline): then
 *   no wallet link or QR code, which would let stale data move money with one tap;
 * - `confirming`: a payment is on its way; wait for it before sending more (`after`: still due then);
 * - `funded`: paid in full;
 * - `closed`: the deal takes no money (not open yet, cancelled, expired, or past paying);
 * - `noAddress`: payable, but the deposit address is not there yet.
 */
export type PaymentOffer =
  | { kind: 'pay'; units: bigint; live: boolean }
  | { kind: 'confirming'; after: bigint }
  | { kind: 'funded' }
  | { kind: 'closed'; reason: 'notOpen' | 'cancelled' | 'expired' | 'over' }
  | { kind: 'noAddress' };

export function paymentOffer(
  deal: Pick<DealView, 'state' | 'funding' | 'depositAddress'> & { deadlines: { payment: string | null } },
  at: { now: number; fromCache: boolean },
): PaymentOffer {
  if (!canReceivePayment(deal.state)) {
    if (deal.state === 'draft') return { kind: 'closed', reason: 'notOpen' };
    if (deal.state === 'cancelled') return { kind: 'closed', reason: 'cancelled' };
    if (deal.state === 'expired') return { kind: 'closed', reason: 'expired' };
    if (PAID_STATES.includes(deal.state) && isFullyFunded(deal.funding)) return { kind: 'funded' };
    return { kind: 'closed', reason: 'over' };
  }
  if (isFullyFunded(deal.funding)) return { kind: 'funded' };
  // A payment already seen: sending again before it confirms is how people pay twice.
  if (BigInt(deal.funding.confirming) > 0n) return { kind: 'confirming', after: amountToPay(deal) };
  const deadline = deal.deadlines.payment;
  if (deadline !== null && Date.parse(deadline) <= at.now) return { kind: 'closed', reason: 'expired' };
  if (!deal.depositAddress) return { kind: 'noAddress' };
  const units = amountToPay(deal);
  if (units === 0n) return { kind: 'funded' };
  return { kind: 'pay', units, live: !at.fromCache };
}
