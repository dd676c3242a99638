import type { DealView } from '@amanat/core/api';
import { isFullyFunded } from './payment.ts';

/**
 * What the signed-in party may do with a deal right now, mirroring the API's state machine
 * (core/src/deal/machine.ts) so the screen offers only what the API would accept. The API still
 * decides: a race (the other party acted first) comes back as a 409 the screen explains.
 */
export type PartyAction =
  | 'share'
  | 'accept'
  | 'pay'
  | 'cancel'
  | 'deliver'
  | 'confirm'
  | 'dispute'
  | 'message'
  | 'address';

type Deal = Pick<
  DealView,
  'state' | 'yourRole' | 'seller' | 'buyer' | 'funding' | 'deadlines' | 'needsReview' | 'invite'
>;

const isParty = (role: DealView['yourRole']): role is 'seller' | 'buyer' =>
  role === 'seller' || role === 'buyer';
const past = (iso: string | null, now: number) => iso !== null && Date.parse(iso) <= now;
const hasMoney = (deal: Deal) => BigInt(deal.funding.confirmed) > 0n || BigInt(deal.funding.confirming) > 0n;

export function partyActions(deal: Deal, now: number): PartyAction[] {
  const role = deal.yourRole;
  if (!isParty(role)) return deal.state === 'disputed' && role === 'arbitrator' ? ['message'] : [];
  const me = deal[role];
  const other = role === 'seller' ? deal.buyer : deal.seller;
  const out: PartyAction[] = [];
  switch (deal.state) {
    case 'draft':
      if (other === null && deal.invite) out.push('share');
      if (me && me.acceptedAt === null && other !== null) out.push('accept');
      out.push('address', 'cancel');
      break;
    case 'awaiting_payment':
      if (role === 'buyer') out.push('pay');
      if (!hasMoney(deal)) out.push('address', 'cancel');
      break;
    case 'partially_paid':
      if (role === 'buyer') out.push('pay');
      break;
    case 'funded':
      if (role === 'seller' && isFullyFunded(deal.funding)) out.push('deliver');
      if (role === 'buyer' && isFullyFunded(deal.funding) && !deal.needsReview) out.push('confirm');
      out.push('dispute');
      if (!deal.needsReview && (role === 'seller' || past(deal.deadlines.delivery, now))) out.push('cancel');
      break;
    case 'delivered':
      if (role === 'buyer' && !deal.needsReview) out.push('confirm');
      if (!past(deal.deadlines.inspection, now)) out.push('dispute');
      break;
    case 'disputed':
      out.push('message');
      break;
  }
  return out;
}

/** The one next step that matters most, for the screen's primary button (null: nothing to do now). */
export function primaryStep(
  deal: Deal,
  now: number,
): 'share' | 'accept' | 'pay' | 'deliver' | 'confirm' | null {
  const actions = partyActions(deal, now);
  if (actions.includes('accept')) return 'accept';
  if (actions.includes('share')) return 'share';
  if (actions.includes('pay')) return 'pay';
  if (actions.includes('deliver')) return 'deliver';
  // Before delivery the buyer waits; confirming early is possible but not the suggested step.
  if (deal.state === 'delivered' && actions.includes('confirm')) return 'confirm';
  return null;
}

/** For the deals list: the user has something to do (not just wait). */
export const needsAction = (deal: Deal, now: number): boolean => primaryStep(deal, now) !== null;

export const counterparty = (deal: Pick<DealView, 'yourRole' | 'seller' | 'buyer'>) =>
  deal.yourRole === 'seller' ? deal.buyer : deal.yourRole === 'buyer' ? deal.seller : null;

export const ACTIVE_STATES: readonly DealView['state'][] = [
  'draft',
  'awaiting_payment',
  'partially_paid',
  'funded',
  'delivered',
  'disputed',
  'releasing',
  'refunding',
  'splitting',
];
export const FINISHED_STATES: readonly DealView['state'][] = [
  'released',
  'refunded',
  'split',
  'cancelled',
  'expired',
];

/** The deadline the deal is waiting on in its state (the one worth a countdown), or null. */
export function runningDeadline(state: string): 'payment' | 'delivery' | 'inspection' | null {
  if (state === 'awaiting_payment' || state === 'partially_paid') return 'payment';
  if (state === 'funded') return 'delivery';
  if (state === 'delivered') return 'inspection';
  return null;
}
