import {
  type AssetRef,
  DEAL_STATES,
  DomainError,
  FUNDING_STATUSES,
  MAX_UINT256,
  parseAddress,
} from '@amanat/core';
import { z } from 'zod';
import { type DealRecord, hasMoney } from '../deals/record.ts';
import type { UserRecord } from '../users.ts';

/**
 * The documents of the legacy MongoDB store, defined once: the mirror writes exactly this shape and the
 * backfill reads it, so the two can never drift apart. Money is a decimal string of base units (BSON has
 * no integer wide enough for 18-decimal amounts, and a double would round them).
 */

export const LEGACY_COLLECTIONS = { deals: 'deals', users: 'users' } as const;

const MAX_BIGINT64 = 2n ** 63n - 1n;

/** The integer part of a base-units string; a fraction, if the schema let one through, is all zeros. */
export const baseUnits = (text: string): bigint => {
  const point = text.indexOf('.');
  return BigInt(point === -1 ? text : text.slice(0, point));
};

// Legacy writers sometimes wrote '100.0' or '0100'; both still name an exact whole number of base units.
const UNITS = /^\d+(\.0+)?$/;
// zod runs every check of a string even after one failed: each one guards itself before BigInt().
const unitsSchema = z
  .string()
  .max(100, 'is too long for an amount')
  .regex(UNITS, 'must be base units as a decimal string of digits (any fraction must be zeros)')
  .refine((text) => !UNITS.test(text) || baseUnits(text) <= MAX_UINT256, 'is more than a uint256 can hold');

const digitsSchema = (what: string) =>
  z
    .string()
    .max(20, `${what} is too long`)
    .regex(/^\d+$/, `must be ${what} as a string of digits`)
    .refine((text) => !/^\d+$/.test(text) || BigInt(text) <= MAX_BIGINT64, `${what} does not fit in 64 bits`);

const idSchema = z.uuid().regex(/^[0-9a-f-]+$/, 'must be written in lowercase');

const addressSchema = z.string().superRefine((text, ctx) => {
  try {
    parseAddress(text);
  } catch (error) {
    if (!(error instanceof DomainError)) throw error;
    ctx.addIssue({ code: 'custom', message: error.message });
  }
});

const tokenSchema = z.union([z.literal('native'), addressSchema]);

const positiveInt = z.int().positive();

export const legacyPartySchema = z.object({
  userId: idSchema,
  /** Null only for a user who never signed in through Telegram. */
  telegramId: digitsSchema('a Telegram id').nullable(),
  address: addressSchema.nullable(),
  acceptedAt: z.date().nullable(),
});
export type LegacyParty = z.infer<typeof legacyPartySchema>;

/**
 * The fields alone, without the cross-field rules. The comparison reads MongoDB through this, so a price
 * one unit off is reported as the price rather than as the arithmetic it breaks.
 */
export const legacyDealFields = z.object({
  _id: idSchema,
  code: z.string().min(1),
  title: z.string(),
  description: z.string(),
  status: z.enum(DEAL_STATES),
  needsReview: z.boolean(),
  reviewReasons: z.array(z.string()),
  chainId: positiveInt,
  token: tokenSchema,
  price: unitsSchema,
  amountDue: unitsSchema,
  fee: unitsSchema,
  sellerFee: unitsSchema,
  buyerFee: unitsSchema,
  feeBps: z.int().min(0).max(10_000),
  feeMin: unitsSchema,
  feePayer: z.enum(['seller', 'split']),
  underpayTolerance: unitsSchema,
  dustThreshold: unitsSchema,
  confirmedAmount: unitsSchema,
  confirmingAmount: unitsSchema,
  windows: z.object({ paymentSec: positiveInt, deliverySec: positiveInt, inspectionSec: positiveInt }),
  deadlines: z.object({
    payment: z.date().nullable(),
    delivery: z.date().nullable(),
    inspection: z.date().nullable(),
  }),
  closedAt: z.date().nullable(),
  seller: legacyPartySchema.nullable(),
  buyer: legacyPartySchema.nullable(),
  depositAddress: z.object({ address: addressSchema, index: digitsSchema('a derivation index') }).nullable(),
  funding: z.enum(FUNDING_STATUSES),
  hasPayments: z.boolean(),
  createdAt: z.date(),
  updatedAt: z.date(),
  version: positiveInt,
});

/** A deal document, with the rules that make its amounts and parties mean something. */
export const legacyDealSchema = legacyDealFields.superRefine((doc, ctx) => {
  const issue = (path: string, message: string) => ctx.addIssue({ code: 'custom', path: [path], message });
  // Only check the arithmetic when every amount parsed; the field issues already say what is wrong.
  const amounts = [doc.price, doc.amountDue, doc.fee, doc.sellerFee, doc.buyerFee, doc.underpayTolerance];
  if (amounts.every((text) => unitsSchema.safeParse(text).success)) {
    const price = baseUnits(doc.price);
    const amountDue = baseUnits(doc.amountDue);
    const sellerFee = baseUnits(doc.sellerFee);
    const buyerFee = baseUnits(doc.buyerFee);
    if (price <= 0n) issue('price', 'must be above zero');
    if (baseUnits(doc.fee) !== sellerFee + buyerFee) issue('fee', 'must equal sellerFee + buyerFee');
    if (amountDue !== price + buyerFee) issue('amountDue', 'must equal price + buyerFee');
    if (sellerFee > price) issue('sellerFee', 'must not exceed the price');
    if (baseUnits(doc.underpayTolerance) >= amountDue) {
      issue('underpayTolerance', 'must be smaller than amountDue');
    }
  }
  if (doc.seller === null && doc.buyer === null) issue('seller', 'a deal needs at least one party');
  if (doc.seller && doc.buyer) {
    if (doc.seller.userId === doc.buyer.userId) issue('buyer', 'the buyer must not be the seller');
    if (doc.seller.telegramId !== null && doc.seller.telegramId === doc.buyer.telegramId) {
      issue('buyer', 'the buyer has the same Telegram id as the seller');
    }
  }
});
export type LegacyDealDoc = z.infer<typeof legacyDealFields>;

export const legacyUserSchema = z.object({
  _id: idSchema,
  telegramId: digitsSchema('a Telegram id').nullable(),
  username: z.string().nullable(),
  displayName: z.string(),
  language: z.string().min(1),
  version: positiveInt,
});
export type LegacyUserDoc = z.infer<typeof legacyUserSchema>;

/** The id to report a document under, even when it is too broken to pass the schema. */
export const legacyIdOf = (raw: unknown): string => {
  if (typeof raw !== 'object' || raw === null || !('_id' in raw)) return '(no _id)';
  const id = (raw as { _id: unknown })._id;
  return typeof id === 'string' ? id : String(id);
};

/** One line naming every problem of a document that failed its schema. */
export const describeIssues = (error: z.ZodError): string =>
  error.issues.map((i) => `${i.path.join('.') || '(document)'}: ${i.message}`).join('; ');

// Names the row in the error, which ends up as the failed reason of its mirror job in bull-board.
function checked<T>(entity: string, id: string, schema: z.ZodType<T>, doc: T): T {
  const parsed = schema.safeParse(doc);
  if (!parsed.success) {
    throw new Error(`${entity} ${id} does not fit the legacy shape: ${describeIssues(parsed.error)}`);
  }
  return parsed.data;
}

const legacyParty = (
  party: DealRecord['seller'],
  telegramIds: ReadonlyMap<string, bigint | null>,
): LegacyParty | null =>
  party && {
    userId: party.userId,
    telegramId: telegramIds.get(party.userId)?.toString() ?? null,
    address: party.address,
    acceptedAt: party.acceptedAt,
  };

/**
 * A PostgreSQL deal in the legacy shape. The result is checked against the schema, so the mirror never
 * writes a document that the backfill could not read back.
 */
export function toLegacyDeal(
  deal: DealRecord,
  telegramIds: ReadonlyMap<string, bigint | null>,
): LegacyDealDoc {
  return checked('deal', deal.id, legacyDealSchema, {
    _id: deal.id,
    code: deal.inviteCode,
    title: deal.title,
    description: deal.description,
    status: deal.state,
    needsReview: deal.needsReview,
    reviewReasons: [...deal.reviewReasons],
    chainId: deal.asset.chainId,
    token: deal.asset.token,
    price: deal.quote.price.toString(),
    amountDue: deal.quote.amountDue.toString(),
    fee: deal.quote.fee.toString(),
    sellerFee: deal.quote.sellerFee.toString(),
    buyerFee: deal.quote.buyerFee.toString(),
    feeBps: deal.feeTerms.feeBps,
    feeMin: deal.feeTerms.feeMin.toString(),
    feePayer: deal.feeTerms.feePayer,
    underpayTolerance: deal.underpayTolerance.toString(),
    dustThreshold: deal.dustThreshold.toString(),
    confirmedAmount: deal.confirmedAmount.toString(),
    confirmingAmount: deal.confirmingAmount.toString(),
    windows: {
      paymentSec: deal.periods.paymentWindowSec,
      deliverySec: deal.periods.deliveryPeriodSec,
      inspectionSec: deal.periods.inspectionPeriodSec,
    },
    deadlines: { ...deal.deadlines },
    closedAt: deal.closedAt,
    seller: legacyParty(deal.seller, telegramIds),
    buyer: legacyParty(deal.buyer, telegramIds),
    depositAddress: deal.deposit && { address: deal.deposit.address, index: deal.deposit.index.toString() },
    funding: deal.funding,
    hasPayments: hasMoney(deal),
    createdAt: deal.createdAt,
    updatedAt: deal.updatedAt,
    version: deal.version,
  } satisfies LegacyDealDoc);
}

export interface LegacyPartyFields {
  /** The user id the legacy store knew; the backfill keeps it unless the Telegram id already has a user. */
  legacyUserId: string;
  telegramId: bigint | null;
  address: string | null;
  acceptedAt: Date | null;
}

/** What a legacy deal says, as a DealRecord says it; users and the activity log are the importer's part. */
export interface LegacyDealFieldsRecord {
  record: Omit<DealRecord, 'seller' | 'buyer' | 'createdBy' | 'logSeq' | 'logHead'>;
  seller: LegacyPartyFields | null;
  buyer: LegacyPartyFields | null;
}

const partyFields = (party: LegacyParty | null): LegacyPartyFields | null =>
  party && {
    legacyUserId: party.userId,
    telegramId: party.telegramId === null ? null : BigInt(party.telegramId),
    // Stored EIP-55, as everything this system writes; legacy data may be lower case.
    address: party.address === null ? null : parseAddress(party.address),
    acceptedAt: party.acceptedAt,
  };

/** Converts a document that passed `legacyDealSchema`. */
export function legacyDealToRecordFields(doc: LegacyDealDoc): LegacyDealFieldsRecord {
  const asset: AssetRef = {
    chainId: doc.chainId,
    token: doc.token === 'native' ? 'native' : parseAddress(doc.token),
  };
  return {
    record: {
      id: doc._id,
      inviteCode: doc.code,
      title: doc.title,
      description: doc.description,
      state: doc.status,
      needsReview: doc.needsReview,
      reviewReasons: [...doc.reviewReasons],
      version: doc.version,
      asset,
      quote: {
        price: baseUnits(doc.price),
        fee: baseUnits(doc.fee),
        sellerFee: baseUnits(doc.sellerFee),
        buyerFee: baseUnits(doc.buyerFee),
        amountDue: baseUnits(doc.amountDue),
      },
      feeTerms: { feeBps: doc.feeBps, feeMin: baseUnits(doc.feeMin), feePayer: doc.feePayer },
      underpayTolerance: baseUnits(doc.underpayTolerance),
      dustThreshold: baseUnits(doc.dustThreshold),
      periods: {
        paymentWindowSec: doc.windows.paymentSec,
        deliveryPeriodSec: doc.windows.deliverySec,
        inspectionPeriodSec: doc.windows.inspectionSec,
      },
      deadlines: { ...doc.deadlines },
      funding: doc.funding,
      confirmedAmount: baseUnits(doc.confirmedAmount),
      confirmingAmount: baseUnits(doc.confirmingAmount),
      closedAt: doc.closedAt,
      deposit: doc.depositAddress && {
        address: parseAddress(doc.depositAddress.address),
        index: BigInt(doc.depositAddress.index),
      },
      createdAt: doc.createdAt,
      updatedAt: doc.updatedAt,
    },
    seller: partyFields(doc.seller),
    buyer: partyFields(doc.buyer),
  };
}

export function toLegacyUser(user: UserRecord): LegacyUserDoc {
  return checked('user', user.id, legacyUserSchema, {
    _id: user.id,
    telegramId: user.telegramId?.toString() ?? null,
    username: user.username,
    displayName: user.displayName,
    language: user.language,
    version: user.version,
  } satisfies LegacyUserDoc);
}
