import { z } from 'zod';

/** The one model the assist proxy offers; which upstream answers is the server's business. */
export const ASSISTANT_MODEL = 'amanat-assistant';

/** Pub/sub channel (under the deployment prefix, see `redisKeys.channel`) one LLM request streams on. */
export const llmStreamChannel = (requestId: string): string => `llm-stream-${requestId}`;

export const llmUsageSchema = z.object({
  promptTokens: z.number().int().nonnegative(),
  completionTokens: z.number().int().nonnegative(),
});
export type LlmUsage = z.infer<typeof llmUsageSchema>;

/**
 * What the llm worker publishes for one request, in order: any number of `delta`s, then exactly one
 * `done` or `error`. `done` carries the whole answer, so a listener that missed deltas still has it.
 */
export const llmStreamMessageSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('delta'), text: z.string() }),
  z.object({
    type: z.literal('done'),
    content: z.string(),
    usage: llmUsageSchema,
    /** True when the built-in responder answered (no provider configured, or every provider failed). */
    basic: z.boolean(),
  }),
  z.object({
    type: z.literal('error'),
    /** HTTP status the proxy answers with (502 upstream failure, 504 timeout, …). */
    status: z.number().int().min(400).max(599),
    code: z.string(),
    message: z.string(),
  }),
]);
export type LlmStreamMessage = z.infer<typeof llmStreamMessageSchema>;
