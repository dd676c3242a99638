import {
  type AssetRegistry,
  estimateTokens,
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
import { AnswerCancelled, answerLocale, lastUserMessage, runAssistant } from './assistant.ts';
import { basicAnswer } from './basic-responder.ts';
import { namedDealId } from './deal-access.ts';
import { RequestMeter } from './metering.ts';
import { type ProviderChain, UpstreamError } from './providers.ts';
import type { ToolContext } from './tools.ts';

/**
 * One assistant request: resolve the user, answer through the provider chain (or the built-in responder)
 * and stream the answer on the request's channel. Whatever happens, the channel gets exactly one `done`
 * or `error`, and the handler itself never fails the job: BullMQ must not run it again and stream a
 * second answer after the first one's deltas. The tokens are counted against the user's daily quota here,
 * round by round, so that a client that goes away mid-answer is counted too; and a request the proxy
 * marked cancelled stops calling the upstream.
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
  /** How often a streaming answer checks whether its request was cancelled. */
  cancelCheckMs?: number;
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
    const meter = new RequestMeter({
      redis: deps.publisher,
      prefix: deps.prefix,
      userId: req.userId,
      requestId: req.requestId,
      logger: log,
    });
    await meter.claim();
    // Whatever happened, the quota is settled before the client hears the end, so it sees the count.
    const finish = async (status: number, code: string, message: string) => {
      await meter.settle();
      await out
        .error(status, code, message)
        .catch((publishErr) => log.error({ err: publishErr }, 'could not publish the error'));
    };
    try {
      if (Date.now() - job.timestamp > maxWaitMs) {
        await finish(504, 'expired', 'The request waited too long in the queue.');
        return null;
      }
      const answered = await answer(req, out, deps, log, meter);
      if (!answered) {
        await finish(403, 'unknown_user', 'The user is not known.');
        return null;
      }
      await meter.settle();
      await out.done(answered.usage, answered.basic);
      log.info({ usage: answered.usage, basic: answered.basic }, 'assistant answered');
      return { basic: answered.basic };
    } catch (err) {
      if (err instanceof AnswerCancelled) {
        log.info('the request was cancelled; the model stopped');
        await finish(499, 'cancelled', 'The request was cancelled.');
        return null;
      }
      const upstream = err instanceof UpstreamError;
      log.error({ err: upstream ? { message: (err as Error).message } : err }, 'assistant request failed');
      await finish(
        upstream ? err.status : 500,
        upstream ? (err.status === 504 ? 'upstream_timeout' : 'upstream_error') : 'internal_error',
        upstream ? 'The assistant’s model failed; try again.' : 'The assistant failed; try again.',
      );
      return null;
    }
  };
}

/** Answers one request without ending it: its usage and whether the built-in responder answered; null for an unknown user. */
async function answer(
  req: LlmJob,
  out: AnswerPublisher,
  deps: LlmHandlerDeps,
  log: Logger,
  meter: RequestMeter,
): Promise<{ usage: LlmUsage; basic: boolean } | null> {
  const user = await getUser(deps.pool, req.userId);
  if (!user) return null;
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
        namedDeal: await namedDealId(deps.pool, user.id, question),
        onUsage: (round) => meter.add(round),
        cancelled: () => meter.cancelled(),
        ...(deps.cancelCheckMs !== undefined ? { cancelCheckMs: deps.cancelCheckMs } : {}),
      });
      return { usage, basic: false };
    } catch (err) {
      // Only an answer nobody has seen a word of may be replaced by the basic one.
      if (!(err instanceof UpstreamError) || err.streamed || out.started) throw err;
      log.warn({ reason: err.message }, 'every LLM provider failed; the basic assistant answers');
      unavailable = true;
    }
  }
  const text = await basicAnswer({ tools, text: question, unavailable });
  await out.write(text);
  // No model ran: only the answer is counted, as a modest share of the quota for the work behind it.
  const usage = { promptTokens: 0, completionTokens: estimateTokens(text) };
  await meter.add(usage);
  return { usage, basic: true };
}
