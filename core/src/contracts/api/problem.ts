import { z } from 'zod';

/** The problem+json shape every error answer has (RFC 9457), for the reference. */
export const problemSchema = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    code: z.string().describe('Stable, machine-readable error code'),
    detail: z.string().optional(),
    errors: z
      .array(z.object({ in: z.string(), path: z.string(), message: z.string() }))
      .optional()
      .describe('For validation_failed: each field that is wrong'),
  })
  .meta({ id: 'Problem' });

export type Problem = z.output<typeof problemSchema>;
