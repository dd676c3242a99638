import { z } from 'zod';

/** Previewing an invite: the terms a deal offers whoever holds its code, before they join. */

export const inviteParams = z.strictObject({
  code: z.string().regex(/^[A-Za-z0-9_-]{4,64}$/, 'not an invite code'),
});

export const invitePreviewSchema = z
  .object({
    code: z.string(),
    title: z.string(),
    description: z.string(),
    creator: z.object({
      role: z.enum(['seller', 'buyer']),
      displayName: z.string(),
      username: z.string().nullable(),
    }),
    openRole: z.enum(['seller', 'buyer']).describe('The role whoever joins takes'),
    /** The caller's role when they already hold one (the creator looking at their own invite). */
    yourRole: z.enum(['seller', 'buyer']).nullable(),
    asset: z.object({
      chainId: z.number().int(),
      token: z.string(),
      symbol: z.string(),
      decimals: z.number().int(),
    }),
    price: z.string(),
    amountDue: z.string(),
    fee: z.string(),
    display: z
      .object({ price: z.string(), amountDue: z.string(), fee: z.string() })
      .describe('Decimal strings'),
    feePayer: z.enum(['seller', 'split']),
    periods: z.object({
      paymentWindowSec: z.number().int(),
      deliveryPeriodSec: z.number().int(),
      inspectionPeriodSec: z.number().int(),
    }),
    links: z.object({ code: z.string(), telegramLink: z.url(), webLink: z.url() }),
  })
  .meta({ id: 'InvitePreview' });

export type InviteParams = z.input<typeof inviteParams>;
export type InvitePreview = z.output<typeof invitePreviewSchema>;
