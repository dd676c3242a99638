import { type LlmJob, llmStreamChannel, QUEUES, redisKeys } from '@amanat/core';
import { createRedis } from '@amanat/platform';
import { type Job, Worker } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { until } from '../../../devstack/testing.ts';
import { awaitingPaymentDeal } from '../../../platform/src/deals/test-fixtures.ts';
import { type Harness, startHarness } from './test-harness.ts';

let h: Harness;

beforeAll(async () => {
  h = await startHarness({ workerOptions: { lockDuration: 1000, stalledInterval: 250 } });
});

afterAll(async () => {
  await h.close();
});

describe('a request whose worker died while answering', () => {
  it('fails with an error on its channel and is never answered a second time', async () => {
    const created = await awaitingPaymentDeal(
      h.store,
      h.db.pool,
      (i) => `0x${(0xe0000n + i).toString(16).padStart(40, '0')}`,
    );
    // Another process takes the request, streams part of an answer and dies without a word.
    await h.worker.pause();
    const connection = createRedis(h.redis.url, 'worker', 'llm-test-doomed-worker');
    let taken = false;
    const doomed = new Worker(
      QUEUES.llm,
      async (job: Job<LlmJob>) => {
        taken = true;
        const channel = redisKeys(h.redis.prefix).channel(llmStreamChannel(job.data.requestId));
        await h.redis.redis.publish(channel, JSON.stringify({ type: 'delta', text: 'Half an ans' }));
        await new Promise(() => {});
      },
      { connection, prefix: redisKeys(h.redis.prefix).bullPrefix, lockDuration: 1000 },
    );
    try {
      const pending = h.ask(created.buyer.id, 'What is the status of my deal?');
      await until('the doomed worker to take the request', () => taken);
      await doomed.close(true);
      h.worker.resume();
      const answer = await pending;
      expect(answer.final).toMatchObject({ type: 'error', status: 502, code: 'worker_lost' });
      expect(answer.deltas).toEqual(['Half an ans']);
      // Nothing else was streamed after the error: the request was not run again.
      const counts = await h.queue.getJobCounts('active', 'wait', 'delayed', 'prioritized');
      expect(Object.values(counts).reduce((a, b) => a + b, 0)).toBe(0);
    } finally {
      connection.disconnect();
    }
  });
});
