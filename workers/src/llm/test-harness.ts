// Test support for the llm worker: a real worker on a test database and Redis, a client that enqueues a
// request the way the assist proxy does and collects what streams back, and a logger whose lines a test
// can read. Used by the *.test.ts files beside it only.

import { randomUUID } from 'node:crypto';
import {
  createRegistry,
  JOBS,
  type LlmJob,
  type LlmStreamMessage,
  llmQuotaDay,
  llmStreamMessageSchema,
  QUEUES,
  redisKeys,
  type WorkersConfig,
} from '@amanat/core';
import { connectRedis, createLogger, createRedis, DealStore } from '@amanat/platform';
import { Queue, type Worker, type WorkerOptions } from 'bullmq';
import {
  createTestDatabase,
  createTestRedis,
  type TestDatabase,
  type TestRedis,
  until,
} from '../../../devstack/testing.ts';
import { startLlmWorker } from './start.ts';

export interface Answer {
  deltas: string[];
  final: LlmStreamMessage;
}

export interface Harness {
  db: TestDatabase;
  redis: TestRedis;
  store: DealStore;
  registry: ReturnType<typeof createRegistry>;
  /** Every log line the worker wrote, as text. */
  logs: string[];
  /** Every message published on any request's channel, raw. */
  published: string[];
  queue: Queue;
  worker: Worker;
  ask(
    userId: string,
    text: string | LlmJob['messages'],
    opts?: { surface?: 'app' | 'bot'; requestId?: string },
  ): Promise<Answer>;
  /** What has been published for one request so far. */
  messagesOf(requestId: string): LlmStreamMessage[];
  /** Tokens counted today against the user's daily quota. */
  spentToday(userId: string): Promise<number>;
  close(): Promise<void>;
}

export async function startHarness(config: {
  providers?: WorkersConfig['LLM_PROVIDERS'];
  concurrency?: number;
  workerOptions?: Partial<WorkerOptions>;
}): Promise<Harness> {
  const [db, redis] = await Promise.all([createTestDatabase(), createTestRedis()]);
  const store = new DealStore({ pool: db.pool });
  const registry = createRegistry();
  const logs: string[] = [];
  const logger = createLogger('llm-test', 'trace', { write: (line: string) => void logs.push(line) });
  const connection = createRedis(redis.url, 'worker', 'llm-test-worker');
  const publisher = await connectRedis(createRedis(redis.url, 'producer', 'llm-test-publisher'));
  const subscriber = createRedis(redis.url, 'worker', 'llm-test-subscriber');
  const channelPrefix = redisKeys(redis.prefix).channel('llm-stream-');
  const byChannel = new Map<string, LlmStreamMessage[]>();
  const published: string[] = [];
  subscriber.on('pmessage', (_pattern, channel, message) => {
    published.push(message);
    const list = byChannel.get(channel) ?? [];
    list.push(llmStreamMessageSchema.parse(JSON.parse(message)));
    byChannel.set(channel, list);
  });
  await subscriber.psubscribe(`${channelPrefix}*`);

  const llm = await startLlmWorker({
    pool: db.pool,
    registry,
    config: {
      LLM_PROVIDERS: config.providers,
      LLM_CONCURRENCY: config.concurrency ?? 4,
      LLM_MAX_TOKENS: 400,
    },
    logger,
    connection,
    publisher,
    prefix: redis.prefix,
    ...(config.workerOptions ? { workerOptions: config.workerOptions } : {}),
    providerOptions: { backoffMs: 5, timeoutMs: 5000, maxRetryAfterMs: 2000 },
  });
  const queue = new Queue(QUEUES.llm, {
    connection: redis.redis,
    prefix: redisKeys(redis.prefix).bullPrefix,
  });

  return {
    db,
    redis,
    store,
    registry,
    logs,
    published,
    queue,
    worker: llm.worker,
    messagesOf: (requestId) => [...(byChannel.get(`${channelPrefix}${requestId}`) ?? [])],
    async spentToday(userId) {
      const key = redisKeys(redis.prefix).llmTokens(userId, llmQuotaDay(new Date()));
      return Number((await redis.redis.get(key)) ?? 0);
    },
    async ask(userId, text, opts = {}) {
      const requestId = opts.requestId ?? randomUUID();
      const job: LlmJob = {
        requestId,
        userId,
        messages: typeof text === 'string' ? [{ role: 'user', content: text }] : text,
        surface: opts.surface ?? 'bot',
      };
      await queue.add(JOBS.llm[0], job, { jobId: requestId, removeOnComplete: true, removeOnFail: true });
      const channel = `${channelPrefix}${requestId}`;
      const final = await until(`the answer to ${requestId}`, () =>
        byChannel.get(channel)?.find((m) => m.type === 'done' || m.type === 'error'),
      );
      const deltas = (byChannel.get(channel) ?? []).flatMap((m) => (m.type === 'delta' ? [m.text] : []));
      return { deltas, final };
    },
    async close() {
      await llm.close();
      await queue.close();
      await subscriber.quit();
      await publisher.quit();
      connection.disconnect();
      await redis.close();
      await db.close();
    },
  };
}

/** The done message of an answer, failing the test with what came instead. */
export function doneOf(answer: Answer): Extract<LlmStreamMessage, { type: 'done' }> {
  if (answer.final.type !== 'done') throw new Error(`expected done, got ${JSON.stringify(answer.final)}`);
  return answer.final;
}
