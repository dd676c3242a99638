import { z } from 'zod';
import { addressSchema } from '../../address.ts';
import { STRAY_FUNDS_CLASSES } from '../../deal/machine.ts';
import { dealViewSchema, paymentViewSchema } from './deals.ts';
import { personText } from './text.ts';

/**
 * Operator review (the /api/admin routes): clear a review flag, decide stray funds, settle a deal whose
 * funding was lost after it moved on, and the list of deals waiting for that.
 */

const note = personText(2000).min(1, 'must not be empty');
const expectedVersion = z.number().int().positive().optional();

export const clearReviewBody = z.strictObject({ version: expectedVersion, note });
export const resolveReviewBody = z.strictObject({
  version: expectedVersion,
  /** release: the seller gets what is confirmed now, less the fee; refund: the buyer gets it back. */
  outcome: z.enum(['release', 'refund']),
  note,
});
export const strayDecisionBody = z.discriminatedUnion('decision', [
  z.strictObject({
    version: expectedVersion,
    decision: z.literal('refund'),
    /** An address the sender confirmed to the operator, EIP-55 checked; never defaulted to the sender. */
    address: addressSchema,
    /** The operator records who confirmed the address; only the sender may. */
    confirmedBy: z.literal('sender'),
    note,
  }),
  z.strictObject({ version: expectedVersion, decision: z.literal('accept'), note }),
]);
export const dealPaymentParams = z.strictObject({
  id: z.uuid('must be a deal id (UUID)').toLowerCase(),
  paymentId: z.string().regex(/^[1-9]\d{0,18}$/, 'must be a payment id (a positive integer)'),
});
export const payoutIdParams = z.strictObject({
  id: z.string().regex(/^[1-9]\d{0,18}$/, 'must be a payout id (a positive integer)'),
});
/** An operator approves one payout above PAYOUT_APPROVAL_THRESHOLD; the note goes into the activity log. */
export const approvePayoutBody = z.strictObject({ version: expectedVersion, note });
/** An operator sends a deal's failed payouts again once the cause is fixed; the note goes into the log. */
export const retryPayoutsBody = z.strictObject({ version: expectedVersion, note });
export const reviewsQuery = z.strictObject({
  cursor: z.string().max(200).optional(),
  limit: z.coerce.number().int().min(1).max(100).default(20),
});

// ---- responses -----------------------------------------------------------------------------------

const units = z.string().regex(/^\d+$/).describe('Base units as a decimal string');

export const pendingPayoutSchema = z
  .object({
    kind: z.string(),
    chainId: z.number().int(),
    token: z.string(),
    recipient: z.string().nullable().describe("null for the platform's fee (its address is configuration)"),
    amount: units,
    cause: z.string().describe('The activity entry (seq) that decided it; its payout job carries the same'),
    status: z.literal('pending'),
  })
  .meta({ id: 'PendingPayout' });

export const awaitingPayoutSchema = z
  .object({
    id: z.string().describe('The payout (leg) id: POST /api/admin/payouts/{id}/approve'),
    kind: z.string(),
    chainId: z.number().int(),
    token: z.string(),
    recipient: z.string().nullable().describe("null for the platform's fee (its address is configuration)"),
    amount: units,
    cause: z.string().describe('The activity entry (seq) that decided it'),
  })
  .meta({ id: 'AwaitingPayout' });

export const failedPayoutSchema = z
  .object({
    record: z
      .enum(['payout_leg', 'gas_topup'])
      .describe('A payout leg, or a gas top-up of the deposit address'),
    id: z.string(),
    kind: z.string().describe("The leg's kind, or gas_topup"),
    chainId: z.number().int(),
    token: z.string().describe("'native' for a gas top-up"),
    recipient: z
      .string()
      .nullable()
      .describe(
        "A top-up's is the deposit address; null for the platform's fee (its address is configuration)",
      ),
    amount: units,
    cause: z.string().describe('The activity entry (seq) that decided it'),
    failure: z.string().describe("Why it failed, as recorded (a code, or the chain's answer in words)"),
    retryable: z
      .boolean()
      .describe(
        'false when one of its transactions was mined without reverting: it may have paid, so it is never ' +
          'sent again by a retry and a person checks the chain',
      ),
  })
  .meta({ id: 'FailedPayout' });

export const strayPaymentSchema = paymentViewSchema
  .extend({
    classification: z.enum(STRAY_FUNDS_CLASSES),
    decision: z
      .object({
        decision: z.enum(['refund', 'accept']),
        recipient: z.string(),
        cause: z.string().describe('The activity entry (seq) that recorded the decision'),
        decidedBy: z.uuid(),
        decidedAt: z.iso.datetime(),
        note: z.string().nullable(),
        payoutStatus: z.string().nullable(),
      })
      .nullable(),
  })
  .meta({ id: 'StrayPayment' });

/** The answer of clear-review. */
export const reviewDealResultSchema = z.object({ deal: dealViewSchema });
/** The answer of resolve-review: the deal and the payouts it recorded. */
export const resolveReviewResultSchema = z.object({
  deal: dealViewSchema,
  payouts: z.array(pendingPayoutSchema),
});
/** The answer of a stray funds decision: the deal and the one payout it recorded. */
export const strayDecisionResultSchema = z.object({ deal: dealViewSchema, payout: pendingPayoutSchema });
/** The answer of a payout approval: the deal and the payout, pending again and queued. */
export const approvePayoutResultSchema = z.object({
  deal: dealViewSchema,
  payout: awaitingPayoutSchema.extend({
    status: z.literal('pending'),
    approvedBy: z.uuid(),
    approvedAt: z.iso.datetime(),
  }),
});
/** The answer of a payout retry: the deal and the records sent again (pending, their jobs queued). */
export const retryPayoutsResultSchema = z.object({
  deal: dealViewSchema,
  retried: z.array(failedPayoutSchema.omit({ retryable: true }).extend({ status: z.literal('pending') })),
});
export const reviewListSchema = z
  .object({
    items: z.array(
      z.object({
        deal: dealViewSchema,
        strayPayments: z.array(strayPaymentSchema),
        /** Payouts above PAYOUT_APPROVAL_THRESHOLD waiting for an operator's approval. */
        awaitingApproval: z.array(awaitingPayoutSchema),
        /** Payout legs and gas top-ups that failed; POST /api/admin/deals/{id}/retry-payouts sends them again. */
        failedPayouts: z.array(failedPayoutSchema),
      }),
    ),
    nextCursor: z.string().nullable(),
  })
  .meta({ id: 'ReviewList' });

export type ClearReviewInput = z.input<typeof clearReviewBody>;
export type ResolveReviewInput = z.input<typeof resolveReviewBody>;
export type StrayDecisionInput = z.input<typeof strayDecisionBody>;
export type DealPaymentParams = z.input<typeof dealPaymentParams>;
export type ReviewsQuery = z.input<typeof reviewsQuery>;
export type ApprovePayoutInput = z.input<typeof approvePayoutBody>;
export type PayoutIdParams = z.input<typeof payoutIdParams>;
export type RetryPayoutsInput = z.input<typeof retryPayoutsBody>;

export type PendingPayout = z.output<typeof pendingPayoutSchema>;
export type StrayPayment = z.output<typeof strayPaymentSchema>;
export type AwaitingPayout = z.output<typeof awaitingPayoutSchema>;
export type ApprovePayoutResult = z.output<typeof approvePayoutResultSchema>;
export type FailedPayoutView = z.output<typeof failedPayoutSchema>;
export type RetryPayoutsResult = z.output<typeof retryPayoutsResultSchema>;
export type ReviewDealResult = z.output<typeof reviewDealResultSchema>;
export type ResolveReviewResult = z.output<typeof resolveReviewResultSchema>;
export type StrayDecisionResult = z.output<typeof strayDecisionResultSchema>;
export type ReviewList = z.output<typeof reviewListSchema>;
