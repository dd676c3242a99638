import {
  type AssetRegistry,
  type LlmJob,
  type LlmStreamMessage,
  type LlmUsage,
  llmJobSchema,
  llmStreamChannel,
  llmStreamMessageSchema,
  redisKeys,
} from '@amanat/core';
import { getUser, type Logger, type Pool } from '@amanat/platform';
import type { Job } from 'bullmq';
import type { Redis } from 'ioredis';
import { z } from 'zod';
import { answerLocale, estimateTokens, lastUserMessage, runAssistant } from './assistant.ts';
import { basicAnswer } from './basic-responder.ts';
import { type ProviderChain, UpstreamError } from './providers.ts';
import type { ToolContext } from './tools.ts';

/**
 * One assistant request: resolve the user, answer through the provider chain (or the built-in responder)
 * and stream the answer on the request's channel. Whatever happens, the channel gets exactly one `done`
 * or `error`, and the handler itself never fails the job: BullMQ must not run it again and stream a
 * second answer after the first one's deltas.
 */

/** Publishes one request's answer: deltas in order, then one terminal message carrying the whole answer. */
export class AnswerPublisher {
  private readonly redis: Redis;
  private readonly channel: string;
  private text = '';
  private terminal = false;

  constructor(redis: Redis, prefix: string, requestId: string) {
    this.redis = redis;
    this.channel = redisKeys(prefix).channel(llmStreamChannel(requestId));
  }

  /** Whether anything of the answer went out: from then on no other answer may follow. */
  get started(): boolean {
    return this.text.length > 0;
  }

  get finished(): boolean {
    return this.terminal;
  }

  private async send(message: LlmStreamMessage): Promise<void> {
    await this.redis.publish(this.channel, JSON.stringify(llmStreamMessageSchema.parse(message)));
  }

  async write(text: string): Promise<void> {
    if (text === '' || this.terminal) return;
    this.text += text;
    await this.send({ type: 'delta', text });
  }

  async done(usage: LlmUsage, basic: boolean): Promise<void> {
    if (this.terminal) return;
    this.terminal = true;
    await this.send({ type: 'done', content: this.text, usage, basic });
  }

  async error(status: number, code: string, message: string): Promise<void> {
    if (this.terminal) return;
    this.terminal = true;
    await this.send({ type: 'error', status, code, message });
  }
}

export interface LlmHandlerDeps {
  pool: Pool;
  registry: AssetRegistry;
  /** A producer connection for PUBLISH. */
  publisher: Redis;
  prefix: string;
  logger: Logger;
  /** Null: no provider is configured and the built-in responder answers. */
  chain: ProviderChain | null;
  /** The server's cap on completion tokens (LLM_MAX_TOKENS). */
  maxTokens: number;
  /** A request that waited longer than this is dropped: whoever asked has given up on it. */
  maxWaitMs?: number;
}

const requestIdOf = (data: unknown): string | null => {
  const parsed = z.object({ requestId: z.uuid() }).safeParse(data);
  return parsed.success ? parsed.data.requestId : null;
};

export function createLlmHandler(deps: LlmHandlerDeps): (job: Job) => Promise<{ basic: boolean } | null> {
  const { logger } = deps;
  const maxWaitMs = deps.maxWaitMs ?? 10 * 60_000;

  return async (job) => {
    const parsed = llmJobSchema.safeParse(job.data);
    if (!parsed.success) {
      const requestId = requestIdOf(job.data);
      logger.warn({ jobId: job.id, issues: parsed.error.issues.length }, 'invalid llm job');
      if (requestId) {
        await new AnswerPublisher(deps.publisher, deps.prefix, requestId)
          .error(400, 'invalid_request', 'The request is not valid.')
          .catch(() => {});
      }
      return null;
    }
    const req = parsed.data;
    const out = new AnswerPublisher(deps.publisher, deps.prefix, req.requestId);
    const log = logger.child({ requestId: req.requestId, userId: req.userId });
    try {
      if (Date.now() - job.timestamp > maxWaitMs) {
        await out.error(504, 'expired', 'The request waited too long in the queue.');
        return null;
      }
      const basic = await answer(req, out, deps, log);
      return { basic };
    } catch (err) {
      const upstream = err instanceof UpstreamError;
      log.error({ err: upstream ? { message: (err as Error).message } : err }, 'assistant request failed');
      await out
        .error(
          upstream ? err.status : 500,
          upstream ? (err.status === 504 ? 'upstream_timeout' : 'upstream_error') : 'internal_error',
          upstream ? 'The assistant’s model failed; try again.' : 'The assistant failed; try again.',
        )
        .catch((publishErr) => log.error({ err: publishErr }, 'could not publish the error'));
      return null;
    }
  };
}

/** Answers one request; returns whether the built-in responder gave the answer. */
async function answer(
  req: LlmJob,
  out: AnswerPublisher,
  deps: LlmHandlerDeps,
  log: Logger,
): Promise<boolean> {
  const user = await getUser(deps.pool, req.userId);
  if (!user) {
    await out.error(403, 'unknown_user', 'The user is not known.');
    return false;
  }
  const question = lastUserMessage(req.messages);
  const tools: ToolContext = {
    db: deps.pool,
    registry: deps.registry,
    userId: user.id,
    locale: answerLocale(user.language, question),
    surface: req.surface,
  };
  let unavailable = false;
  if (deps.chain && deps.chain.size > 0) {
    try {
      const { usage } = await runAssistant({
        chain: deps.chain,
        tools,
        conversation: req.messages,
        maxTokens: Math.min(req.maxTokens ?? deps.maxTokens, deps.maxTokens),
        out,
      });
      await out.done(usage, false);
      log.info({ usage }, 'assistant answered');
      return false;
    } catch (err) {
      // Only an answer nobody has seen a word of may be replaced by the basic one.
      if (!(err instanceof UpstreamError) || err.streamed || out.started) throw err;
      log.warn({ reason: err.message }, 'every LLM provider failed; the basic assistant answers');
      unavailable = true;
    }
  }
  const text = await basicAnswer({ tools, text: question, unavailable });
  await out.write(text);
  const promptChars = req.messages.reduce((n, m) => n + m.content.length, 0);
  const usage = { promptTokens: Math.ceil(promptChars / 4), completionTokens: estimateTokens(text) };
  await out.done(usage, true);
  log.info({ usage, basic: true }, 'basic assistant answered');
  return true;
}
