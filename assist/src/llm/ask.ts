import { randomUUID } from 'node:crypto';
import {
  type AssistConfig,
  estimatePromptTokens,
  JOBS,
  LLM_CANCEL_TTL_SEC,
  type LlmJob,
  type LlmMessage,
  type LlmStreamMessage,
  type LlmUsage,
  llmJobSchema,
  llmStreamChannel,
  llmStreamMessageSchema,
  QUEUES,
  recentTurns,
  redisKeys,
} from '@amanat/core';
import type { Logger } from '@amanat/platform';
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { AssistantError, isAssistantError } from './errors.ts';
import { type AssistantLimits, createLimits } from './limits.ts';

export interface AskRequest {
  userId: string;
  messages: LlmMessage[];
  surface: LlmJob['surface'];
  maxTokens?: number;
  /** The job id; one is made when absent. */
  requestId?: string;
  /** Called once the request is admitted and queued: a streaming caller may commit to a 200 from here on. */
  onStart?: () => void;
  /** Each piece of the answer as the worker streams it. */
  onDelta?: (text: string) => void;
  /** Aborting stops waiting (the caller went away) and withdraws the job if no worker took it yet. */
  signal?: AbortSignal;
}

export interface AskResult {
  requestId: string;
  content: string;
  usage: LlmUsage;
  /** True when the built-in responder answered rather than an upstream model. */
  basic: boolean;
}

export interface Assistant {
  ask(req: AskRequest): Promise<AskResult>;
  /** Requests waiting for an answer right now. */
  inFlight(): number;
  /** Waits until nothing is in flight, or `ms` passed. */
  drain(ms: number): Promise<void>;
  /** Stops listening; requests still waiting fail with 503. */
  close(): Promise<void>;
}

type Listener = (message: LlmStreamMessage) => void;

const unavailable = () =>
  new AssistantError(
    503,
    'assistant_unavailable',
    'The assistant is unavailable right now; try again shortly.',
  );

/**
 * Runs assistant requests as `llm` jobs and relays their answers. Every request listens on its own
 * pub/sub channel, subscribed before the job is queued so no message can come before anyone listens; one
 * subscriber connection carries every channel and hands each message to its request. A job is tried
 * once: a person is waiting, and the worker already retries and falls back between providers itself.
 *
 * A job carries only the part of the conversation the worker uses (`recentTurns`), so a client cannot
 * park megabytes in Redis. Admission reserves an estimate of the prompt on the daily quota and the
 * worker counts real usage; when the client goes away or the wait times out, the request is marked
 * cancelled in Redis, so a worker already answering stops calling the upstream.
 */
export function createAssistant(deps: {
  /** A fail-fast connection for the queue and the limits. */
  redis: Redis;
  /** A connection of its own, used only for pub/sub. */
  subscriber: Redis;
  prefix: string;
  logger: Logger;
  limits: AssistantLimits;
  timeoutSec: number;
}): Assistant {
  const { subscriber, logger } = deps;
  const keys = redisKeys(deps.prefix);
  const queue = new Queue<LlmJob>(QUEUES.llm, {
    connection: deps.redis,
    prefix: keys.bullPrefix,
    skipWaitingForReady: true,
    skipVersionCheck: true,
  });
  // An EventEmitter 'error' without a listener would crash the process on a Redis hiccup.
  queue.on('error', (err) => logger.warn({ err, queue: QUEUES.llm }, 'queue connection error'));

  const listeners = new Map<string, Listener>();
  const pending = new Set<Promise<unknown>>();
  let closed = false;

  const onMessage = (channel: string, raw: string) => {
    const listener = listeners.get(channel);
    if (!listener) return;
    let parsed: ReturnType<typeof llmStreamMessageSchema.safeParse>;
    try {
      parsed = llmStreamMessageSchema.safeParse(JSON.parse(raw));
    } catch {
      parsed = llmStreamMessageSchema.safeParse(undefined);
    }
    if (!parsed.success) {
      logger.warn({ channel }, 'ignored a malformed llm stream message');
      return;
    }
    listener(parsed.data);
  };
  subscriber.on('message', onMessage);

  const run = async (req: AskRequest): Promise<AskResult> => {
    if (closed) throw unavailable();
    if (req.signal?.aborted) throw aborted();
    const requestId = req.requestId ?? randomUUID();
    const parsedJob = llmJobSchema.safeParse({
      requestId,
      userId: req.userId,
      messages: req.messages,
      surface: req.surface,
      ...(req.maxTokens !== undefined ? { maxTokens: req.maxTokens } : {}),
    });
    if (!parsedJob.success) {
      const issue = parsedJob.error.issues[0];
      throw new AssistantError(400, 'invalid_request', issue?.message ?? 'Invalid assistant request', {
        param: issue?.path.join('.') || null,
      });
    }
    const job: LlmJob = { ...parsedJob.data, messages: recentTurns(parsedJob.data.messages) };

    await guard(deps.limits.admit(job.userId, { requestId, tokens: estimatePromptTokens(job.messages) }));
    const release = () =>
      deps.limits.release(job.userId, requestId).catch((err: unknown) => {
        logger.warn({ err, requestId }, 'could not give back the quota reservation');
      });

    const channel = keys.channel(llmStreamChannel(requestId));
    let settle!: { resolve: (r: AskResult) => void; reject: (e: unknown) => void };
    const answer = new Promise<AskResult>((resolve, reject) => {
      settle = { resolve, reject };
    });
    // A rejection while the job is still being queued is read below; until then it must not count as unhandled.
    answer.catch(() => {});
    listeners.set(channel, (message) => {
      if (message.type === 'delta') {
        try {
          req.onDelta?.(message.text);
        } catch (err) {
          logger.warn({ err, requestId }, 'a delta listener failed');
        }
      } else if (message.type === 'done') {
        settle.resolve({ requestId, content: message.content, usage: message.usage, basic: message.basic });
      } else {
        settle.reject(
          new AssistantError(message.status, message.code, message.message, {
            type: message.status === 429 ? 'rate_limit_exceeded' : undefined,
          }),
        );
      }
    });
    const withdraw = () => {
      // A job no worker has taken goes, with its reservation; a running one is told to stop, and its
      // worker counts what it used and settles the rest.
      deps.redis.set(keys.llmCancel(requestId), '1', 'EX', LLM_CANCEL_TTL_SEC).catch((err: unknown) => {
        logger.warn({ err, requestId }, 'could not mark the request cancelled');
      });
      queue
        .remove(requestId)
        .then((removed) => (removed === 1 ? release() : undefined))
        .catch(() => {});
    };
    const onAbort = () => {
      withdraw();
      settle.reject(aborted());
    };
    let timer: NodeJS.Timeout | undefined;
    try {
      try {
        await guard(subscriber.subscribe(channel));
        await guard(
          queue.add(JOBS.llm[0], job, {
            jobId: requestId,
            attempts: 1,
            removeOnComplete: true,
            removeOnFail: { age: 3600, count: 1000 },
          }),
        );
      } catch (err) {
        await release();
        throw err;
      }
      req.signal?.addEventListener('abort', onAbort, { once: true });
      if (req.signal?.aborted) onAbort();
      timer = setTimeout(() => {
        withdraw();
        settle.reject(
          new AssistantError(
            504,
            'timeout',
            `The assistant did not answer within ${deps.timeoutSec} s; try again.`,
          ),
        );
      }, deps.timeoutSec * 1000);
      req.onStart?.();
      return await answer;
    } finally {
      clearTimeout(timer);
      req.signal?.removeEventListener('abort', onAbort);
      listeners.delete(channel);
      subscriber.unsubscribe(channel).catch(() => {});
    }
  };

  return {
    ask(req) {
      const p = run(req);
      const tracked = p.catch(() => {});
      pending.add(tracked);
      void tracked.finally(() => pending.delete(tracked));
      return p;
    },
    inFlight: () => pending.size,
    async drain(ms) {
      const deadline = new Promise((resolve) => setTimeout(resolve, ms).unref());
      await Promise.race([Promise.all([...pending]), deadline]);
    },
    async close() {
      closed = true;
      subscriber.off('message', onMessage);
      for (const channel of listeners.keys()) {
        listeners.get(channel)?.({
          type: 'error',
          status: 503,
          code: 'assistant_unavailable',
          message: 'The assistant is shutting down; try again shortly.',
        });
      }
      await queue.close().catch(() => {});
    },
  };
}

const aborted = () => new AssistantError(499, 'request_aborted', 'The request was cancelled.');

/** Redis failures (outage, fail-fast connection) surface as a 503 the client may retry. */
async function guard<T>(p: Promise<T>): Promise<T> {
  try {
    return await p;
  } catch (err) {
    if (isAssistantError(err)) throw err;
    throw unavailable();
  }
}

/** The assistant and its limits as the service runs them, from its configuration. */
export function assistantFromConfig(
  config: Pick<
    AssistConfig,
    'REDIS_PREFIX' | 'LLM_REQUESTS_PER_MIN' | 'LLM_DAILY_TOKENS' | 'LLM_TIMEOUT_SEC'
  >,
  deps: { redis: Redis; subscriber: Redis; logger: Logger },
): { assistant: Assistant; limits: AssistantLimits } {
  const limits = createLimits({
    redis: deps.redis,
    prefix: config.REDIS_PREFIX,
    requestsPerMin: config.LLM_REQUESTS_PER_MIN,
    dailyTokens: config.LLM_DAILY_TOKENS,
  });
  const assistant = createAssistant({
    ...deps,
    prefix: config.REDIS_PREFIX,
    limits,
    timeoutSec: config.LLM_TIMEOUT_SEC,
  });
  return { assistant, limits };
}
