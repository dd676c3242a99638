import { z } from 'zod';
import type { LlmMessage } from './queues.ts';

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

/**
 * How much of a conversation an assistant request carries: the proxy trims what it enqueues to this and
 * the worker sends the model no more, so a long chat costs a bounded job and a bounded prompt.
 */
export const LLM_CONVERSATION_BUDGET = {
  maxTurns: 20,
  maxChars: 24_000,
  /** The newest message is cut to this, so it always fits however long it is. */
  maxLastMessageChars: 8_000,
} as const;

/** The most recent turns that fit `LLM_CONVERSATION_BUDGET`, oldest first. */
export function recentTurns(conversation: readonly LlmMessage[]): LlmMessage[] {
  const { maxTurns, maxChars, maxLastMessageChars } = LLM_CONVERSATION_BUDGET;
  const kept: LlmMessage[] = [];
  let chars = 0;
  for (const m of [...conversation].reverse().slice(0, maxTurns)) {
    const content = kept.length === 0 ? m.content.slice(0, maxLastMessageChars) : m.content;
    if (kept.length > 0 && chars + content.length > maxChars) break;
    chars += content.length;
    kept.unshift({ role: m.role, content });
  }
  return kept;
}

/** About four characters a token: a reservation before the upstream counts, and the basic responder's. */
export const estimateTokens = (text: string): number => Math.ceil(text.length / 4);

/** The estimate of a conversation's prompt, reserved against the quota when a request is admitted. */
export const estimatePromptTokens = (conversation: readonly LlmMessage[]): number =>
  estimateTokens(conversation.map((m) => m.content).join(''));
