import { z } from 'zod';
import { DEAL_STATES } from '../deal/states.ts';

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
  action: z.string(),
  state: z.enum(DEAL_STATES),
  needsReview: z.boolean(),
  /** Users who may see this event (the parties); the WebSocket filters on it. */
  audience: z.array(z.uuid()),
  at: z.iso.datetime(),
  facts: z.record(z.string(), z.unknown()),
});
export type DealEvent = z.infer<typeof dealEventSchema>;

/** Payment webhook events that a scanner posts to the API (Standard Webhooks envelope around this). */
export const paymentWebhookEventSchema = z.object({
  type: z.enum(['payment.detected', 'payment.confirmed', 'payment.reorged']),
  timestamp: z.iso.datetime(),
  data: z.object({
    chainId: z.number().int().positive(),
    txHash: z.string().regex(/^0x[0-9a-fA-F]{64}$/),
    logIndex: z.number().int().min(-1),
    blockNumber: z.string().regex(/^\d+$/),
    blockHash: z.string().regex(/^0x[0-9a-fA-F]{64}$/),
    from: z.string().regex(/^0x[0-9a-fA-F]{40}$/),
    to: z.string().regex(/^0x[0-9a-fA-F]{40}$/),
    token: z.union([z.string().regex(/^0x[0-9a-fA-F]{40}$/), z.literal('native')]),
    amount: z.string().regex(/^\d+$/),
    confirmations: z.number().int().nonnegative(),
  }),
});
export type PaymentWebhookEvent = z.infer<typeof paymentWebhookEventSchema>;
