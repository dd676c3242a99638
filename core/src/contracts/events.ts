import { z } from 'zod';
import { DEAL_STATES } from '../deal/states.ts';
import { jobId } from './job-id.ts';

/** The Redis pub/sub channel the outbox relay publishes deal events to; the API's WebSocket relays it. */
export const DEAL_EVENTS_CHANNEL = 'deal-events';

/**
 * One event per committed deal change. It goes out once, through the outbox, both to pub/sub (the app)
 * and as notification jobs (Telegram): there is no second in-app path.
 */
export const dealEventSchema = z.object({
  id: z.uuid(),
  dealId: z.uuid(),
  version: z.number().int().positive(),
  /** The activity-log entry this event reports. */
  seq: z.number().int().positive(),
  action: z.string(),
  state: z.enum(DEAL_STATES),
  needsReview: z.boolean(),
  /** Users who may see this event (the parties); the WebSocket filters on it. */
  audience: z.array(z.uuid()),
  at: z.iso.datetime(),
  facts: z.record(z.string(), z.unknown()),
});
export type DealEvent = z.infer<typeof dealEventSchema>;

export const PAYMENT_EVENT_TYPES = ['payment.detected', 'payment.confirmed', 'payment.reorged'] as const;
export type PaymentEventType = (typeof PAYMENT_EVENT_TYPES)[number];

const hex32 = z.string().regex(/^0x[0-9a-fA-F]{64}$/, 'a 32-byte hex hash');
const hexAddress = z.string().regex(/^0x[0-9a-fA-F]{40}$/, 'a 20-byte hex address');

/** What a scanner saw: one incoming transfer to a watched address, as of one block. */
export const paymentEventDataSchema = z.object({
  chainId: z.number().int().positive(),
  txHash: hex32,
  /** The log's index in its block; -1 (NATIVE_LOG_INDEX) for a native-coin transfer. */
  logIndex: z.number().int().min(-1),
  blockNumber: z.string().regex(/^\d+$/, 'an unsigned integer as a decimal string'),
  blockHash: hex32,
  from: hexAddress,
  to: hexAddress,
  token: z.union([hexAddress, z.literal('native')]),
  amount: z.string().regex(/^\d+$/, 'base units as a decimal string'),
  confirmations: z.number().int().nonnegative(),
});
export type PaymentEventData = z.infer<typeof paymentEventDataSchema>;

/**
 * Payment webhook events that a scanner posts to the API, signed per the Standard Webhooks spec (the
 * `webhook-id` header carries `paymentEventId`). They are reports, not decisions: the payments worker
 * re-reads the chain before anything is recorded.
 */
export const paymentWebhookEventSchema = z
  .object({
    type: z.enum(PAYMENT_EVENT_TYPES),
    timestamp: z.iso.datetime(),
    data: paymentEventDataSchema,
  })
  .strict();
export type PaymentWebhookEvent = z.infer<typeof paymentWebhookEventSchema>;

/**
 * The event's id: the same for every delivery attempt of one fact, and different for each (payment, kind
 * of fact, block), so a transaction that a reorg moves into another block is a new event, not a replay.
 */
export const paymentEventId = (
  type: PaymentEventType,
  data: Pick<PaymentEventData, 'chainId' | 'txHash' | 'logIndex' | 'blockHash'>,
): string =>
  jobId(
    data.chainId,
    data.txHash.toLowerCase(),
    data.logIndex,
    type.replace('payment.', ''),
    data.blockHash.toLowerCase().slice(2, 18),
  );
