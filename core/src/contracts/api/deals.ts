import { z } from 'zod';
import { addressSchema } from '../../address.ts';
import { DEAL_STATES, FUNDING_STATUSES } from '../../deal/states.ts';
import { personText } from './text.ts';

/**
 * The deals API: what a client sends to create, join and act on deals, and the views it gets back. The
 * API validates with these very schemas and documents them in its OpenAPI reference.
 */

/** Periods a deal may have, in seconds: defaults a real deal can live with, bounds that catch mistakes. */
export const PERIODS = {
  paymentWindowSec: { default: 24 * 3600, min: 15 * 60, max: 14 * 86_400 },
  deliveryPeriodSec: { default: 7 * 86_400, min: 3600, max: 180 * 86_400 },
  inspectionPeriodSec: { default: 3 * 86_400, min: 3600, max: 60 * 86_400 },
} as const;

const period = (p: { default: number; min: number; max: number }, what: string) =>
  z
    .number()
    .int()
    .min(p.min, `${what} must be at least ${p.min} seconds`)
    .max(p.max, `${what} must be at most ${p.max} seconds`)
    .default(p.default);

// Lower-cased, so one deal has one spelling (idempotency keys are scoped by it).
const uuidParam = z.uuid('must be a deal id (UUID)').toLowerCase();
export const dealIdParams = z.strictObject({ id: uuidParam });

const tokenRef = z.union([
  z.literal('native'),
  z.string().regex(/^0x[0-9a-fA-F]{40}$/, 'a contract address or "native"'),
]);

export const assetRefBody = z.strictObject({
  chainId: z
    .number()
    .int()
    .positive()
    .max(2 ** 31 - 1),
  token: tokenRef,
});

const title = personText(120).min(1, 'must not be empty');
const text = personText;

export const createDealBody = z.strictObject({
  title,
  description: text(4000).default(''),
  /** Decimal string in whole units of the asset (e.g. "100.5"); parsed against the token's decimals. */
  amount: z.string().min(1).max(100),
  asset: assetRefBody,
  role: z.enum(['seller', 'buyer']),
  /** Yours: the seller's payout address or the buyer's refund address (EIP-55 checksummed). */
  address: addressSchema,
  paymentWindowSec: period(PERIODS.paymentWindowSec, 'The payment window'),
  deliveryPeriodSec: period(PERIODS.deliveryPeriodSec, 'The delivery period'),
  inspectionPeriodSec: period(PERIODS.inspectionPeriodSec, 'The inspection period'),
  /** Who pays the platform fee: the seller, or split half and half with the buyer. */
  feePayer: z.enum(['seller', 'split']).default('seller'),
});

export const joinDealBody = z.strictObject({
  code: z.string().regex(/^[A-HJ-NP-Z2-9]{10}$/, 'an invite code of 10 letters and digits'),
  /** Yours: the seller's payout address or the buyer's refund address (EIP-55 checksummed). */
  address: addressSchema,
});

/** Optional optimistic check: the version the user saw when deciding. */
const expectedVersion = z.number().int().positive().optional();

export const plainActionBody = z.strictObject({ version: expectedVersion });
export const cancelBody = z.strictObject({ version: expectedVersion, reason: text(1000).optional() });
export const disputeBody = z.strictObject({
  version: expectedVersion,
  reason: text(2000).min(1, 'must not be empty'),
});
export const disputeMessageBody = z.strictObject({ text: text(4000).min(1, 'must not be empty') });
export const resolveBody = z.discriminatedUnion('outcome', [
  z.strictObject({ version: expectedVersion, outcome: z.literal('release'), note: text(2000).optional() }),
  z.strictObject({ version: expectedVersion, outcome: z.literal('refund'), note: text(2000).optional() }),
  z.strictObject({
    version: expectedVersion,
    outcome: z.literal('split'),
    /** What the buyer gets back, in base units; the seller gets the rest minus the fee. */
    buyerAmount: z.string().regex(/^\d{1,78}$/, 'base units as a decimal string of digits'),
    note: text(2000).optional(),
  }),
]);
export const addressBody = z.strictObject({ version: expectedVersion, address: addressSchema });

export const listDealsQuery = z.strictObject({
  status: z
    .string()
    .max(400)
    .transform((s) => s.split(','))
    .pipe(z.array(z.enum(DEAL_STATES)).max(DEAL_STATES.length))
    .optional(),
  cursor: z.string().max(200).optional(),
  limit: z.coerce.number().int().min(1).max(100).default(20),
  /** Staff views: `disputed` (arbitrators) or `review` (operators); default your own deals. */
  scope: z.enum(['mine', 'disputed', 'review']).default('mine'),
});

// ---- responses -----------------------------------------------------------------------------------

const units = z.string().regex(/^\d+$/).describe('Base units as a decimal string');
const instant = z.iso.datetime().nullable();

const partyView = z.object({
  userId: z.uuid(),
  displayName: z.string(),
  username: z.string().nullable(),
  address: z.string().nullable(),
  acceptedAt: instant,
});

export const paymentViewSchema = z
  .object({
    id: z.string(),
    chainId: z.number().int(),
    txHash: z.string(),
    logIndex: z.number().int(),
    token: z.string(),
    from: z.string(),
    amount: units,
    blockNumber: z.string(),
    blockTimestamp: z.iso.datetime(),
    status: z.enum(['pending', 'confirmed', 'reorged']),
    classification: z.string().nullable(),
    confirmations: z
      .number()
      .int()
      .nonnegative()
      .nullable()
      .describe(
        "For a pending payment: the blocks on top of it, as far as the chain's scanner has seen (the " +
          "chain's `confirmations` in /api/assets is the target); null once settled or while unknown",
      ),
  })
  .meta({ id: 'Payment' });

export const dealViewSchema = z
  .object({
    id: z.uuid(),
    title: z.string(),
    description: z.string(),
    state: z.enum(DEAL_STATES),
    needsReview: z.boolean(),
    reviewReasons: z.array(z.string()),
    version: z.number().int(),
    asset: z.object({
      chainId: z.number().int(),
      token: z.string(),
      symbol: z.string(),
      decimals: z.number().int(),
    }),
    price: units,
    amountDue: units,
    fee: units,
    sellerFee: units,
    buyerFee: units,
    display: z
      .object({ price: z.string(), amountDue: z.string(), fee: z.string() })
      .describe('Decimal strings'),
    feeTerms: z.object({ feeBps: z.number().int(), feeMin: units, feePayer: z.enum(['seller', 'split']) }),
    periods: z.object({
      paymentWindowSec: z.number().int(),
      deliveryPeriodSec: z.number().int(),
      inspectionPeriodSec: z.number().int(),
    }),
    deadlines: z.object({ payment: instant, delivery: instant, inspection: instant }),
    funding: z.object({
      status: z.enum(FUNDING_STATUSES),
      confirmed: units,
      confirming: units,
      remaining: units.describe('What is still due, from confirmed payments'),
    }),
    seller: partyView.nullable(),
    buyer: partyView.nullable(),
    depositAddress: z.string().nullable(),
    yourRole: z.enum(['seller', 'buyer', 'arbitrator', 'operator']),
    invite: z
      .object({ code: z.string(), telegramLink: z.url(), webLink: z.url() })
      .nullable()
      .describe('Only for the parties, only while the deal is a draft'),
    createdAt: z.iso.datetime(),
    updatedAt: z.iso.datetime(),
  })
  .meta({ id: 'Deal' });

export const dealDetailSchema = dealViewSchema
  .extend({ payments: z.array(paymentViewSchema) })
  .meta({ id: 'DealDetail' });

export const dealListSchema = z
  .object({ deals: z.array(dealViewSchema), nextCursor: z.string().nullable() })
  .meta({ id: 'DealList' });

export const activityViewSchema = z
  .object({
    entries: z.array(
      z.object({
        seq: z.number().int(),
        at: z.iso.datetime(),
        actor: z.record(z.string(), z.unknown()),
        action: z.string(),
        stateBefore: z.string().nullable(),
        stateAfter: z.string().nullable(),
        facts: z.record(z.string(), z.unknown()),
        prevHash: z.string(),
        hash: z.string(),
      }),
    ),
    verification: z.object({
      ok: z.boolean().describe("The hash chain holds from the first entry to the deal's recorded head"),
      problems: z.array(z.object({ seq: z.number().int(), kind: z.string(), detail: z.string() })),
    }),
  })
  .meta({ id: 'DealActivity' });

export type DealIdParams = z.input<typeof dealIdParams>;
export type AssetRefInput = z.input<typeof assetRefBody>;
export type CreateDealInput = z.input<typeof createDealBody>;
export type JoinDealInput = z.input<typeof joinDealBody>;
export type PlainActionInput = z.input<typeof plainActionBody>;
export type CancelInput = z.input<typeof cancelBody>;
export type DisputeInput = z.input<typeof disputeBody>;
export type DisputeMessageInput = z.input<typeof disputeMessageBody>;
export type ResolveInput = z.input<typeof resolveBody>;
export type AddressInput = z.input<typeof addressBody>;
export type ListDealsQuery = z.input<typeof listDealsQuery>;

export type Payment = z.output<typeof paymentViewSchema>;
export type DealView = z.output<typeof dealViewSchema>;
export type DealDetail = z.output<typeof dealDetailSchema>;
export type DealList = z.output<typeof dealListSchema>;
export type DealActivity = z.output<typeof activityViewSchema>;
