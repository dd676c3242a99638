/**
 * Deal states. `releasing`/`refunding`/`splitting` mean "decided, payouts recorded and pending";
 * `released`/`refunded`/`split` mean "confirmed on chain". Keeping them apart is what lets the payout
 * signer retry without anyone mistaking a decision for money that has moved.
 */
export const DEAL_STATES = [
  'draft',
  'awaiting_payment',
  'partially_paid',
  'funded',
  'delivered',
  'disputed',
  'releasing',
  'refunding',
  'splitting',
  'released',
  'refunded',
  'split',
  'cancelled',
  'expired',
] as const;
export type DealState = (typeof DEAL_STATES)[number];

export const TERMINAL_STATES: readonly DealState[] = [
  'released',
  'refunded',
  'split',
  'cancelled',
  'expired',
];

/**
 * States in which the deposit address may still legitimately receive the deal's money: the scanner
 * checks these addresses every tick, older ones on a slower schedule.
 */
export const RECEIVING_STATES: readonly DealState[] = ['awaiting_payment', 'partially_paid', 'funded'];

export const FUNDING_STATUSES = ['unpaid', 'partially_paid', 'funded', 'overpaid'] as const;
export type FundingStatus = (typeof FUNDING_STATUSES)[number];

export const isFullyFunded = (funding: FundingStatus): boolean =>
  funding === 'funded' || funding === 'overpaid';
