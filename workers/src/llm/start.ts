import { type AssetRegistry, JOBS, QUEUES, redisKeys, type WorkersConfig } from '@amanat/core';
import { connectRedis, type Logger, type Pool } from '@amanat/platform';
import { Queue, Worker, type WorkerOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import { z } from 'zod';
import { checkHandlers, dispatch } from '../handlers.ts';
import { AnswerPublisher, createLlmHandler } from './handler.ts';
import { ProviderChain, type ProviderChainOptions } from './providers.ts';

export interface LlmWorkerDeps {
  pool: Pool;
  registry: AssetRegistry;
  config: Pick<WorkersConfig, 'LLM_PROVIDERS' | 'LLM_CONCURRENCY' | 'LLM_MAX_TOKENS'>;
  logger: Logger;
  /** The workers' blocking-capable Redis connection (`maxRetriesPerRequest: null`). */
  connection: Redis;
  /** A producer connection, for PUBLISH. */
  publisher: Redis;
  prefix: string;
  /** The process's shared worker settings (lock duration, stalled interval, …). */
  workerOptions?: Partial<WorkerOptions>;
  /** Timeouts and backoff of the upstream calls (tests shorten them). */
  providerOptions?: Omit<ProviderChainOptions, 'logger'>;
  /** A request older than this when it starts is dropped (default ten minutes). */
  maxWaitMs?: number;
}

/**
 * The `llm` queue's worker. The cap on requests running at once is BullMQ's global concurrency, so it
 * holds across every workers process; each process also runs up to that many itself.
 */
export async function startLlmWorker(
  deps: LlmWorkerDeps,
): Promise<{ worker: Worker; close(): Promise<void> }> {
  const { config, logger } = deps;
  const bullPrefix = redisKeys(deps.prefix).bullPrefix;
  const providers = config.LLM_PROVIDERS ?? [];
  const chain =
    providers.length > 0 ? new ProviderChain(providers, { ...deps.providerOptions, logger }) : null;
  logger.info(
    {
      providers: providers.map((p) => ({ name: p.name, model: p.model })),
      concurrency: config.LLM_CONCURRENCY,
    },
    chain
      ? 'assistant uses the configured LLM providers'
      : 'no LLM provider configured: the basic assistant answers',
  );

  // A lazily connecting producer refuses commands until connected; answers must not wait for main's start.
  await connectRedis(deps.publisher);
  const queue = new Queue(QUEUES.llm, { connection: deps.connection, prefix: bullPrefix });
  queue.on('error', (err) => logger.warn({ err }, 'llm queue connection error'));
  await queue.setGlobalConcurrency(config.LLM_CONCURRENCY);

  const handlers = {
    [JOBS.llm[0]]: createLlmHandler({
      pool: deps.pool,
      registry: deps.registry,
      publisher: deps.publisher,
      prefix: deps.prefix,
      logger,
      chain,
      maxTokens: config.LLM_MAX_TOKENS,
      ...(deps.maxWaitMs !== undefined ? { maxWaitMs: deps.maxWaitMs } : {}),
    }),
  };
  checkHandlers('llm', handlers);

  const worker = new Worker(QUEUES.llm, dispatch(handlers), {
    ...deps.workerOptions,
    connection: deps.connection,
    prefix: bullPrefix,
    concurrency: config.LLM_CONCURRENCY,
    // A job whose worker died may already have streamed part of an answer: running it again would
    // stream a second one. It fails instead, and the listener below tells the waiting client.
    maxStalledCount: 0,
  });
  worker.on('failed', (job, err) => {
    // The handler publishes its own outcome and never throws, so a failed job is one it never ran: a job
    // whose worker stalled or died, failed by BullMQ. Say so on the channel, where the client still waits.
    const requestId = z.uuid().safeParse(job?.id);
    logger.warn({ jobId: job?.id, reason: err.message }, 'llm job failed');
    if (!requestId.success) return;
    new AnswerPublisher(deps.publisher, deps.prefix, requestId.data)
      .error(502, 'worker_lost', 'The assistant stopped while answering; try again.')
      .catch(() => {});
  });
  worker.on('error', (err) => logger.warn({ err }, 'llm worker error'));

  return {
    worker,
    async close() {
      await worker.close();
      await queue.close();
    },
  };
}
