import type { Actor } from '../activity-log.ts';
import type { AssetRef } from '../assets.ts';
import { DomainError } from '../errors.ts';
import type { PaymentClass } from '../payments.ts';
import {
  DEAL_STATES,
  type DealState,
  type FundingStatus,
  isFullyFunded,
  RECEIVING_STATES,
} from './states.ts';

export type PartyRole = 'seller' | 'buyer';
export type ActorRole = PartyRole | 'arbitrator' | 'operator' | 'system';

export interface DealPeriods {
  /** Seconds from acceptance by both parties until the payment window closes. */
  paymentWindowSec: number;
  /** Seconds from funding until the seller must have marked delivery. */
  deliveryPeriodSec: number;
  /** Seconds from delivery during which the buyer may dispute; then the money is released. */
  inspectionPeriodSec: number;
}

export interface DealDeadlines {
  payment: Date | null;
  delivery: Date | null;
  inspection: Date | null;
}

/** What the state machine needs to know about a deal; storage maps its rows onto this. */
export interface DealSnapshot {
  state: DealState;
  needsReview: boolean;
  sellerId: string | null;
  buyerId: string | null;
  acceptedBySeller: boolean;
  acceptedByBuyer: boolean;
  periods: DealPeriods;
  deadlines: DealDeadlines;
  /** Funding as last evaluated from confirmed payments. */
  funding: FundingStatus;
  /** Confirmed money of the deal's asset that counts, base units. */
  confirmed: bigint;
  /** Money of the deal's asset inside the window that is still below its confirmation count. */
  confirming: bigint;
  /** Whether the seller has given a payout address and the buyer a refund address. */
  payoutAddressSet: boolean;
  refundAddressSet: boolean;
  /** When the deal stopped receiving money; later arrivals are late. */
  closedAt: Date | null;
}

export type DisputeOutcome =
  | { kind: 'release' }
  | { kind: 'refund' }
  | { kind: 'split'; buyerAmount: bigint };

/**
 * Payments that reached a deposit address but were not counted for the deal and wait for an operator:
 * exactly the classes that carry a review reason (see `reviewReasonFor`).
 */
export const STRAY_FUNDS_CLASSES = [
  'late',
  'foreign',
  'denylisted',
] as const satisfies readonly PaymentClass[];
export type StrayFundsClass = (typeof STRAY_FUNDS_CLASSES)[number];

/** What an operator decides for stray funds: back to an address the sender confirmed, or to the seller. */
export type StrayFundsDecision = 'refund' | 'accept';

export type DealAction =
  | { type: 'join'; role: PartyRole }
  | { type: 'accept' }
  | { type: 'cancel'; reason?: string }
  | {
      type: 'record_funding';
      funding: FundingStatus;
      confirmed: bigint;
      confirming: bigint;
      reviewReasons: string[];
    }
  | { type: 'expire' }
  | { type: 'mark_delivered' }
  | { type: 'confirm_receipt' }
  | { type: 'open_dispute'; reason: string }
  | { type: 'resolve_dispute'; outcome: DisputeOutcome }
  | { type: 'inspection_lapsed' }
  /**
   * The seller let the delivery deadline pass without marking delivery. Changes no state: it puts the fact
   * in the hash-chained log and tells the parties, since from now on the buyer may cancel for a refund.
   */
  | { type: 'delivery_lapsed' }
  /**
   * Every payout leg of the decision is confirmed on the chain. The transactions that paid them go into
   * the activity entry's facts, so the log (and the parties' notification) names each one.
   */
  | { type: 'payouts_confirmed'; transactions?: PayoutTransaction[] }
  | { type: 'flag_review'; reason: string }
  | { type: 'clear_review'; note: string }
  /** A party changes the address its money would go to; only before any money arrived. */
  | { type: 'set_address'; address: string }
  /** Evidence and argument during a dispute, kept in the hash-chained log; changes no state. */
  | { type: 'dispute_message'; text: string }
  /**
   * An operator decides where one stray payment goes. The deal's state is untouched: the money was never
   * part of it. Storage records the payout in the payment's own asset with this entry as its cause.
   */
  | {
      type: 'decide_stray_funds';
      /** The payment's key (chain, transaction, log index). */
      payment: string;
      class: StrayFundsClass;
      decision: StrayFundsDecision;
      amount: bigint;
      /** The payment's own asset, which for foreign funds is not the deal's. */
      asset: AssetRef;
      /** A refund: the address the sender confirmed. Accepted funds: the seller's payout address. */
      recipient: string;
      note: string;
    }
  /**
   * An operator settles a deal whose funding was lost after it moved on (a reorg after delivery): what
   * is confirmed now is released to the seller or refunded to the buyer, and the review is closed.
   */
  | { type: 'resolve_review'; outcome: { kind: 'release' } | { kind: 'refund' }; note: string }
  /**
   * An operator approves one payout leg that was above PAYOUT_APPROVAL_THRESHOLD; storage moves the leg
   * back to pending and queues its payout again. Changes no state. `closesReview` is storage's finding
   * that the deal's only review reasons are approvals this one completes, so the flag goes down with it.
   */
  | {
      type: 'approve_payout';
      /** The payout leg's id. */
      leg: string;
      kind: string;
      amount: bigint;
      /** null for the platform's fee (its address is configuration). */
      recipient: string | null;
      note: string;
      closesReview: boolean;
    }
  /**
   * An operator sends failed payouts again once their cause is fixed (a token unpaused, the gas tank
   * refilled): storage puts each failed record named here back to pending and queues its payout job. Only
   * records whose money cannot have moved are retried (storage checks). Changes no state; `closesReview`
   * is storage's finding that these failures were the deal's only review reasons.
   */
  | {
      type: 'retry_payouts';
      records: RetriedPayout[];
      note: string;
      closesReview: boolean;
    };

/** One failed payout record an operator retries: a payout leg, or a gas top-up of the deposit address. */
export interface RetriedPayout {
  record: 'payout_leg' | 'gas_topup';
  id: string;
  /** The leg's kind, or 'gas_topup'. */
  kind: string;
  /** Why it had failed, as recorded. */
  failure: string;
}

export type DealActionType = DealAction['type'];

/** One mined payout: which leg it paid, to whom, how much (base units) and in which transaction. */
export interface PayoutTransaction {
  kind: string;
  /** EIP-55. */
  recipient: string;
  amount: bigint;
  chainId: number;
  txHash: string;
}

/** What a decided payout covers; amounts come from core's fee function at the storage layer. */
export type PayoutDecision = DisputeOutcome;

export interface DealTransition {
  action: DealActionType;
  from: DealState;
  to: DealState;
  next: DealSnapshot;
  /** Set when this transition decides where the escrowed money goes. */
  payout: PayoutDecision | null;
  reviewReasons: string[];
}

/**
 * Who may take which action in which state. Guards that depend on time, funding or identity come on
 * top of this in `decide`; the table is the part an exhaustive test can hold up against the design.
 */
export const ACTION_RULES: Record<
  DealActionType,
  { actors: readonly ActorRole[]; from: readonly DealState[] }
> = {
  join: { actors: ['seller', 'buyer'], from: ['draft'] },
  accept: { actors: ['seller', 'buyer'], from: ['draft'] },
  cancel: { actors: ['seller', 'buyer'], from: ['draft', 'awaiting_payment', 'funded'] },
  // Funding is re-evaluated whenever the chain says something, in any state that has a deposit address.
  record_funding: { actors: ['system'], from: DEAL_STATES.filter((s) => s !== 'draft') },
  expire: { actors: ['system'], from: ['awaiting_payment', 'partially_paid'] },
  mark_delivered: { actors: ['seller'], from: ['funded'] },
  confirm_receipt: { actors: ['buyer'], from: ['funded', 'delivered'] },
  open_dispute: { actors: ['seller', 'buyer'], from: ['funded', 'delivered'] },
  resolve_dispute: { actors: ['arbitrator'], from: ['disputed'] },
  inspection_lapsed: { actors: ['system'], from: ['delivered'] },
  delivery_lapsed: { actors: ['system'], from: ['funded'] },
  // An expired deal's refund of a partial payment is confirmed too (the deal stays expired): the buyer is
  // told, with the transaction, like any other refund.
  payouts_confirmed: { actors: ['system'], from: ['releasing', 'refunding', 'splitting', 'expired'] },
  flag_review: { actors: ['system', 'operator'], from: DEAL_STATES },
  clear_review: { actors: ['operator'], from: DEAL_STATES },
  set_address: { actors: ['seller', 'buyer'], from: ['draft', 'awaiting_payment'] },
  dispute_message: { actors: ['seller', 'buyer', 'arbitrator'], from: ['disputed'] },
  // Stray funds can reach any deal that has a deposit address, long after it ended.
  decide_stray_funds: { actors: ['operator'], from: DEAL_STATES.filter((s) => s !== 'draft') },
  // The states that hold the deal's money undecided; a lost funding there flags the deal.
  resolve_review: { actors: ['operator'], from: ['funded', 'delivered', 'disputed'] },
  // Payouts are decided only once a deal has a deposit address; stray funds can be paid long after.
  approve_payout: { actors: ['operator'], from: DEAL_STATES.filter((s) => s !== 'draft') },
  retry_payouts: { actors: ['operator'], from: DEAL_STATES.filter((s) => s !== 'draft') },
};

/** How the API should answer each rejection: 403 forbidden, 409 conflict, 422 invalid. */
export const DEAL_ERROR_KIND = {
  actor_not_permitted: 'forbidden',
  not_a_party: 'forbidden',
  action_not_allowed_in_state: 'conflict',
  role_taken: 'conflict',
  already_a_party: 'conflict',
  already_accepted: 'conflict',
  counterparty_missing: 'conflict',
  payment_already_received: 'conflict',
  delivery_deadline_not_passed: 'conflict',
  payment_deadline_not_passed: 'conflict',
  payments_confirming: 'conflict',
  address_required: 'conflict',
  inspection_period_over: 'conflict',
  inspection_not_over: 'conflict',
  not_funded: 'conflict',
  deal_needs_review: 'conflict',
  review_not_flagged: 'conflict',
  funding_intact: 'conflict',
  reason_required: 'invalid',
  split_amount_invalid: 'invalid',
  stray_amount_invalid: 'invalid',
  payout_amount_invalid: 'invalid',
  nothing_to_retry: 'conflict',
  foreign_asset_not_acceptable: 'invalid',
  denylisted_funds_not_acceptable: 'invalid',
} as const satisfies Record<string, 'forbidden' | 'conflict' | 'invalid'>;
export type DealErrorCode = keyof typeof DEAL_ERROR_KIND;

const reject = (code: DealErrorCode, message: string, details?: Record<string, unknown>): never => {
  throw new DomainError(code, message, details);
};

export const actorRole = (actor: Actor): ActorRole => (actor.kind === 'system' ? 'system' : actor.role);

/** Money of the deal's asset arrived in the window, confirmed or still confirming. */
const hasMoney = (deal: DealSnapshot): boolean => deal.confirmed > 0n || deal.confirming > 0n;

const addSeconds = (at: Date, seconds: number): Date => new Date(at.getTime() + seconds * 1000);

const requireText = (text: string, what: string): void => {
  if (text.trim().length === 0) reject('reason_required', `${what} must not be empty`);
};

/** Deal states that follow from a funding status while the deal is still collecting money. */
const collectingStateFor = (funding: FundingStatus): DealState =>
  funding === 'unpaid' ? 'awaiting_payment' : funding === 'partially_paid' ? 'partially_paid' : 'funded';

/**
 * Releasing money needs confirmed funding and nothing a human still has to look at: a reorg after
 * delivery or a late payment flags the deal, and a release must then wait for an operator.
 */
const requireReleasable = (deal: DealSnapshot): void => {
  if (deal.needsReview)
    reject('deal_needs_review', 'The deal is flagged for review; an operator must clear it first');
  if (!isFullyFunded(deal.funding))
    reject('not_funded', 'The deal is not fully funded by confirmed payments');
};

/**
 * Decides one action on one deal. Pure: the caller supplies the time, and storage applies the result in
 * the same transaction that locked the deal, so two racing actions can never both pass these checks.
 */
export function decide(deal: DealSnapshot, action: DealAction, actor: Actor, now: Date): DealTransition {
  const role = actorRole(actor);
  const rule = ACTION_RULES[action.type];
  if (!rule.actors.includes(role)) {
    reject('actor_not_permitted', `A ${role} may not ${action.type.replaceAll('_', ' ')}`, {
      action: action.type,
      role,
    });
  }
  if (!rule.from.includes(deal.state)) {
    reject(
      'action_not_allowed_in_state',
      `Cannot ${action.type.replaceAll('_', ' ')} a deal that is ${deal.state}`,
      {
        action: action.type,
        state: deal.state,
      },
    );
  }
  // Party actions must come from the party that holds the role (join is the one way to take a role).
  if (actor.kind === 'user' && (role === 'seller' || role === 'buyer') && action.type !== 'join') {
    const holder = role === 'seller' ? deal.sellerId : deal.buyerId;
    if (holder !== actor.userId) reject('not_a_party', `You are not the ${role} of this deal`);
  }

  const next: DealSnapshot = { ...deal, deadlines: { ...deal.deadlines } };
  let payout: PayoutDecision | null = null;
  const reviewReasons: string[] = [];

  switch (action.type) {
    case 'join': {
      if (actor.kind !== 'user') return reject('actor_not_permitted', 'Only a user can join a deal');
      const holder = action.role === 'seller' ? deal.sellerId : deal.buyerId;
      if (holder !== null) reject('role_taken', `This deal already has a ${action.role}`);
      if (deal.sellerId === actor.userId || deal.buyerId === actor.userId) {
        reject(
          'already_a_party',
          'You are already a party to this deal; the counterparty must be someone else',
        );
      }
      if (action.role === 'seller') next.sellerId = actor.userId;
      else next.buyerId = actor.userId;
      break;
    }
    case 'accept': {
      const accepted = role === 'seller' ? deal.acceptedBySeller : deal.acceptedByBuyer;
      if (accepted) reject('already_accepted', 'You have already accepted these terms');
      if (deal.sellerId === null || deal.buyerId === null) {
        reject(
          'counterparty_missing',
          'Both a seller and a buyer must join before the terms can be accepted',
        );
      }
      // Money can only ever go to an address its owner gave: no payout decision may lack one later.
      if (role === 'seller' ? !deal.payoutAddressSet : !deal.refundAddressSet) {
        reject(
          'address_required',
          role === 'seller'
            ? 'Give the address your payout should go to before accepting'
            : 'Give the address a refund should go to before accepting',
        );
      }
      if (role === 'seller') next.acceptedBySeller = true;
      else next.acceptedByBuyer = true;
      if (next.acceptedBySeller && next.acceptedByBuyer) {
        next.state = 'awaiting_payment';
        next.deadlines.payment = addSeconds(now, deal.periods.paymentWindowSec);
      }
      break;
    }
    case 'cancel': {
      if (deal.state === 'draft') {
        next.state = 'cancelled';
      } else if (deal.state === 'awaiting_payment') {
        // Once anything has arrived the money must be accounted for: the window's expiry refunds it.
        if (hasMoney(deal))
          reject('payment_already_received', 'A payment has already arrived; it cannot be cancelled now');
        next.state = 'cancelled';
      } else {
        // Funded: the seller may back out (the buyer is refunded); the buyer only once the seller
        // has let the delivery deadline pass.
        if (role === 'buyer' && (deal.deadlines.delivery === null || now < deal.deadlines.delivery)) {
          reject(
            'delivery_deadline_not_passed',
            'The buyer may cancel a funded deal only after the delivery deadline',
          );
        }
        if (deal.needsReview)
          reject('deal_needs_review', 'The deal is flagged for review; an operator must clear it first');
        next.state = 'refunding';
        payout = { kind: 'refund' };
      }
      break;
    }
    case 'record_funding': {
      next.funding = action.funding;
      next.confirmed = action.confirmed;
      next.confirming = action.confirming;
      reviewReasons.push(...action.reviewReasons);
      if (deal.state === 'awaiting_payment' || deal.state === 'partially_paid' || deal.state === 'funded') {
        next.state = collectingStateFor(action.funding);
        if (next.state === 'funded' && deal.state !== 'funded') {
          next.deadlines.delivery = addSeconds(now, deal.periods.deliveryPeriodSec);
        }
        if (next.state !== 'funded') next.deadlines.delivery = null;
      } else if (!isFullyFunded(action.funding) && isFullyFunded(deal.funding)) {
        // Money the deal was built on is gone (a reorg) after the deal moved on: a human decides.
        reviewReasons.push('funding_lost_after_progress');
      } else if (action.confirmed !== deal.confirmed) {
        // The deal no longer collects, so whatever was decided did not include this money.
        reviewReasons.push('funds_changed_after_close');
      }
      if (reviewReasons.length > 0) next.needsReview = true;
      break;
    }
    case 'expire': {
      if (deal.deadlines.payment === null || now < deal.deadlines.payment) {
        reject('payment_deadline_not_passed', 'The payment window has not closed yet');
      }
      // A payment made in time is still confirming: the deal waits for it rather than expire under it.
      if (deal.confirming > 0n) reject('payments_confirming', 'A payment made in time is still confirming');
      next.state = 'expired';
      // Whatever arrived goes back to the buyer.
      if (hasMoney(deal)) payout = { kind: 'refund' };
      break;
    }
    case 'mark_delivered': {
      if (!isFullyFunded(deal.funding))
        reject('not_funded', 'The deal is not fully funded by confirmed payments');
      next.state = 'delivered';
      next.deadlines.inspection = addSeconds(now, deal.periods.inspectionPeriodSec);
      break;
    }
    case 'confirm_receipt': {
      requireReleasable(deal);
      next.state = 'releasing';
      payout = { kind: 'release' };
      break;
    }
    case 'open_dispute': {
      requireText(action.reason, 'A dispute reason');
      if (
        deal.state === 'delivered' &&
        deal.deadlines.inspection !== null &&
        now >= deal.deadlines.inspection
      ) {
        reject('inspection_period_over', 'The inspection period is over; the deal can no longer be disputed');
      }
      next.state = 'disputed';
      break;
    }
    case 'resolve_dispute': {
      if (deal.needsReview)
        reject('deal_needs_review', 'The deal is flagged for review; an operator must clear it first');
      if (action.outcome.kind !== 'refund') requireReleasable(deal);
      if (action.outcome.kind === 'split' && action.outcome.buyerAmount < 0n) {
        reject('split_amount_invalid', 'The buyer share of a split cannot be negative');
      }
      next.state =
        action.outcome.kind === 'release'
          ? 'releasing'
          : action.outcome.kind === 'refund'
            ? 'refunding'
            : 'splitting';
      payout = action.outcome;
      break;
    }
    case 'inspection_lapsed': {
      if (deal.deadlines.inspection === null || now < deal.deadlines.inspection) {
        reject('inspection_not_over', 'The inspection period has not ended yet');
      }
      requireReleasable(deal);
      next.state = 'releasing';
      payout = { kind: 'release' };
      break;
    }
    case 'delivery_lapsed': {
      if (deal.deadlines.delivery === null || now < deal.deadlines.delivery) {
        reject('delivery_deadline_not_passed', 'The delivery deadline has not passed yet');
      }
      break;
    }
    case 'payouts_confirmed': {
      const settled = { releasing: 'released', refunding: 'refunded', splitting: 'split' } as const;
      if (deal.state in settled) next.state = settled[deal.state as keyof typeof settled];
      break;
    }
    case 'flag_review': {
      requireText(action.reason, 'A review reason');
      next.needsReview = true;
      reviewReasons.push(action.reason);
      break;
    }
    case 'clear_review': {
      requireText(action.note, 'A note');
      if (!deal.needsReview) reject('review_not_flagged', 'The deal is not flagged for review');
      next.needsReview = false;
      break;
    }
    case 'set_address': {
      // Once money is on its way the addresses are what both sides relied on: they are frozen.
      if (hasMoney(deal)) {
        reject('payment_already_received', 'A payment has already arrived; the addresses are frozen');
      }
      if (role === 'seller') next.payoutAddressSet = true;
      else next.refundAddressSet = true;
      break;
    }
    case 'dispute_message': {
      requireText(action.text, 'A message');
      break;
    }
    case 'decide_stray_funds': {
      requireText(action.note, 'A note');
      if (action.amount <= 0n)
        reject('stray_amount_invalid', 'Only a payment of more than zero can be paid out');
      if (action.decision === 'accept') {
        // The seller's payout address was given for the deal's asset: an exchange deposit address for USDT on
        // one chain may never credit another token or chain, so paying the seller in a foreign asset could
        // lose the money. Foreign funds only go back to their sender.
        if (action.class === 'foreign') {
          reject(
            'foreign_asset_not_acceptable',
            "Funds in an asset other than the deal's can only be refunded to an address the sender confirms",
          );
        }
        // The denylist exists so that such money never pays a seller.
        if (action.class === 'denylisted') {
          reject(
            'denylisted_funds_not_acceptable',
            'Funds from a denylisted sender are never accepted into a deal; refund or hold them',
          );
        }
        if (!deal.payoutAddressSet)
          reject('address_required', 'The seller has not given a payout address to accept funds to');
      }
      break;
    }
    case 'approve_payout': {
      requireText(action.note, 'A note');
      if (action.amount <= 0n) reject('payout_amount_invalid', 'Only a payout of more than zero is approved');
      if (action.closesReview && deal.needsReview) next.needsReview = false;
      break;
    }
    case 'retry_payouts': {
      requireText(action.note, 'A note');
      if (action.records.length === 0) reject('nothing_to_retry', 'There is no failed payout to retry');
      if (action.closesReview && deal.needsReview) next.needsReview = false;
      break;
    }
    case 'resolve_review': {
      requireText(action.note, 'A note');
      if (!deal.needsReview) reject('review_not_flagged', 'The deal is not flagged for review');
      // Only a deal whose money no longer covers what was due: with funding intact the operator clears the
      // review and the parties (or the arbitrator) decide as usual.
      if (isFullyFunded(deal.funding)) {
        reject(
          'funding_intact',
          'The deal is still fully funded; clear the review and let the deal run its course',
        );
      }
      // Money made in time may yet confirm and restore the funding: decide once it has settled.
      if (deal.confirming > 0n) reject('payments_confirming', 'A payment to this deal is still confirming');
      next.needsReview = false;
      if (action.outcome.kind === 'release') {
        if (deal.confirmed === 0n)
          reject('not_funded', 'Nothing confirmed is left in escrow to release to the seller');
        next.state = 'releasing';
        payout = action.outcome;
      } else if (deal.confirmed > 0n) {
        next.state = 'refunding';
        payout = action.outcome;
      } else {
        // Nothing is held any more: there is no payout to wait for, so the deal closes as refunded at once
        // ('refunding' would wait forever for a payout that is never made).
        next.state = 'refunded';
      }
      break;
    }
  }

  if (RECEIVING_STATES.includes(deal.state) && !RECEIVING_STATES.includes(next.state)) next.closedAt = now;
  return { action: action.type, from: deal.state, to: next.state, next, payout, reviewReasons };
}
