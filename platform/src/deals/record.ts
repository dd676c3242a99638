import type {
  AssetRef,
  DealPeriods,
  DealQuote,
  DealSnapshot,
  DealState,
  FeeTerms,
  FundingStatus,
} from '@amanat/core';
import { toBigInt } from '../db.ts';

export interface DealParty {
  userId: string;
  /** The seller's payout address or the buyer's refund address. */
  address: string | null;
  acceptedAt: Date | null;
}

/** A deal as stored: the domain snapshot plus what only storage knows. */
export interface DealRecord {
  id: string;
  inviteCode: string;
  title: string;
  description: string;
  state: DealState;
  needsReview: boolean;
  reviewReasons: string[];
  version: number;
  asset: AssetRef;
  quote: DealQuote;
  feeTerms: FeeTerms;
  underpayTolerance: bigint;
  dustThreshold: bigint;
  periods: DealPeriods;
  deadlines: { payment: Date | null; delivery: Date | null; inspection: Date | null };
  funding: FundingStatus;
  confirmedAmount: bigint;
  confirmingAmount: bigint;
  /** When the deal stopped receiving money; null while it still collects. */
  closedAt: Date | null;
  createdBy: string;
  seller: DealParty | null;
  buyer: DealParty | null;
  deposit: { address: string; index: bigint } | null;
  logSeq: number;
  logHead: string;
  createdAt: Date;
  updatedAt: Date;
}

const DEAL_COLUMNS = `d.*,
    s.user_id AS seller_id, s.address AS seller_address, s.accepted_at AS seller_accepted_at,
    b.user_id AS buyer_id, b.address AS buyer_address, b.accepted_at AS buyer_accepted_at,
    da.address AS deposit_address, da.derivation_index AS deposit_index`;
const DEAL_FROM = `FROM deals d
  LEFT JOIN deal_parties s ON s.deal_id = d.id AND s.role = 'seller'
  LEFT JOIN deal_parties b ON b.deal_id = d.id AND b.role = 'buyer'
  LEFT JOIN deposit_addresses da ON da.deal_id = d.id`;

export const DEAL_SELECT = `SELECT ${DEAL_COLUMNS} ${DEAL_FROM}`;

/** The deal with all its recorded payments in one read (amounts as text, never JSON numbers). */
export const DEAL_WITH_PAYMENTS_SELECT = `SELECT ${DEAL_COLUMNS},
    (SELECT coalesce(json_agg(json_build_object(
       'id', p.id::text, 'chain_id', p.chain_id, 'tx_hash', p.tx_hash, 'log_index', p.log_index, 'token', p.token,
       'from_address', p.from_address, 'to_address', p.to_address, 'amount', p.amount::text,
       'block_number', p.block_number::text, 'block_hash', p.block_hash, 'block_timestamp', p.block_timestamp,
       'status', p.status, 'classification', p.classification) ORDER BY p.id), '[]')
     FROM payments p WHERE p.deal_id = d.id) AS payments_json
  ${DEAL_FROM}`;

// biome-ignore lint/suspicious/noExplicitAny: a pg row is untyped until mapped here
type Row = Record<string, any>;

const party = (row: Row, role: 'seller' | 'buyer'): DealParty | null =>
  row[`${role}_id`]
    ? { userId: row[`${role}_id`], address: row[`${role}_address`], acceptedAt: row[`${role}_accepted_at`] }
    : null;

export function dealFromRow(row: Row): DealRecord {
  return {
    id: row.id,
    inviteCode: row.invite_code,
    title: row.title,
    description: row.description,
    state: row.state,
    needsReview: row.needs_review,
    reviewReasons: row.review_reasons,
    version: row.version,
    asset: { chainId: row.chain_id, token: row.token },
    quote: {
      price: toBigInt(row.price),
      fee: toBigInt(row.fee),
      sellerFee: toBigInt(row.seller_fee),
      buyerFee: toBigInt(row.buyer_fee),
      amountDue: toBigInt(row.amount_due),
    },
    feeTerms: { feeBps: row.fee_bps, feeMin: toBigInt(row.fee_min), feePayer: row.fee_payer },
    underpayTolerance: toBigInt(row.underpay_tolerance),
    dustThreshold: toBigInt(row.dust_threshold),
    periods: {
      paymentWindowSec: row.payment_window_sec,
      deliveryPeriodSec: row.delivery_period_sec,
      inspectionPeriodSec: row.inspection_period_sec,
    },
    deadlines: {
      payment: row.payment_deadline,
      delivery: row.delivery_deadline,
      inspection: row.inspection_deadline,
    },
    funding: row.funding,
    confirmedAmount: toBigInt(row.confirmed_amount),
    confirmingAmount: toBigInt(row.confirming_amount),
    closedAt: row.closed_at,
    createdBy: row.created_by,
    seller: party(row, 'seller'),
    buyer: party(row, 'buyer'),
    deposit: row.deposit_address
      ? { address: row.deposit_address, index: toBigInt(row.deposit_index) }
      : null,
    logSeq: row.log_seq,
    logHead: row.log_head,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

/** Every column of a deals row, in the order `dealRowValues` gives them (parties and deposit are rows of their own). */
export const DEAL_ROW_COLUMNS = [
  'id',
  'invite_code',
  'title',
  'description',
  'state',
  'needs_review',
  'review_reasons',
  'version',
  'chain_id',
  'token',
  'price',
  'amount_due',
  'fee',
  'seller_fee',
  'buyer_fee',
  'fee_bps',
  'fee_min',
  'fee_payer',
  'underpay_tolerance',
  'dust_threshold',
  'payment_window_sec',
  'delivery_period_sec',
  'inspection_period_sec',
  'payment_deadline',
  'delivery_deadline',
  'inspection_deadline',
  'funding',
  'confirmed_amount',
  'confirming_amount',
  'closed_at',
  'created_by',
  'log_seq',
  'log_head',
  'created_at',
  'updated_at',
] as const;

/** The values of a whole deals row, for inserting a deal (created or imported); the inverse of `dealFromRow`. */
export const dealRowValues = (d: Omit<DealRecord, 'seller' | 'buyer' | 'deposit'>): unknown[] => [
  d.id,
  d.inviteCode,
  d.title,
  d.description,
  d.state,
  d.needsReview,
  d.reviewReasons,
  d.version,
  d.asset.chainId,
  d.asset.token,
  d.quote.price.toString(),
  d.quote.amountDue.toString(),
  d.quote.fee.toString(),
  d.quote.sellerFee.toString(),
  d.quote.buyerFee.toString(),
  d.feeTerms.feeBps,
  d.feeTerms.feeMin.toString(),
  d.feeTerms.feePayer,
  d.underpayTolerance.toString(),
  d.dustThreshold.toString(),
  d.periods.paymentWindowSec,
  d.periods.deliveryPeriodSec,
  d.periods.inspectionPeriodSec,
  d.deadlines.payment,
  d.deadlines.delivery,
  d.deadlines.inspection,
  d.funding,
  d.confirmedAmount.toString(),
  d.confirmingAmount.toString(),
  d.closedAt,
  d.createdBy,
  d.logSeq,
  d.logHead,
  d.createdAt,
  d.updatedAt,
];

/** `$from, $from+1, …` for `count` parameters. */
export const placeholders = (from: number, count: number): string =>
  Array.from({ length: count }, (_, i) => `$${from + i}`).join(', ');

/** Any money of the deal's asset included in the window, confirmed or still confirming. */
export const hasMoney = (d: Pick<DealRecord, 'confirmedAmount' | 'confirmingAmount'>): boolean =>
  d.confirmedAmount > 0n || d.confirmingAmount > 0n;

export const snapshotOf = (deal: DealRecord): DealSnapshot => ({
  state: deal.state,
  needsReview: deal.needsReview,
  sellerId: deal.seller?.userId ?? null,
  buyerId: deal.buyer?.userId ?? null,
  acceptedBySeller: deal.seller?.acceptedAt != null,
  acceptedByBuyer: deal.buyer?.acceptedAt != null,
  periods: deal.periods,
  deadlines: deal.deadlines,
  funding: deal.funding,
  confirmed: deal.confirmedAmount,
  confirming: deal.confirmingAmount,
  payoutAddressSet: deal.seller?.address != null,
  refundAddressSet: deal.buyer?.address != null,
  closedAt: deal.closedAt,
});

export const partyIds = (deal: Pick<DealRecord, 'seller' | 'buyer'>): string[] =>
  [deal.seller?.userId, deal.buyer?.userId].filter((id): id is string => typeof id === 'string');
