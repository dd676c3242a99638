import { randomUUID } from 'node:crypto';
import { redisKeys } from '@amanat/core';
import { createRedis } from '@amanat/platform';
import { Queue } from 'bullmq';
import express from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApi, type TestApi } from '../testing.ts';
import { createMetrics } from './metrics.ts';

let t: TestApi;

async function scrape(): Promise<string> {
  const res = await fetch(`${t.url}/metrics`);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
  return res.text();
}

const line = (text: string, prefix: string) => text.split('\n').find((l) => l.startsWith(prefix));

beforeAll(async () => {
  t = await startTestApi();
});
afterAll(async () => {
  await t?.close();
});

describe('GET /metrics', () => {
  it('labels request latency by the route pattern, never the raw path', async () => {
    const token = await t.signIn(555_001);
    const id = randomUUID();
    expect((await t.call('GET', `/api/deals/${id}`, { token })).status).toBe(404);
    expect((await t.call('GET', `/api/no-such-route/${id}`)).status).toBe(404);

    const text = await scrape();
    const count = line(
      text,
      'http_request_duration_seconds_count{method="GET",route="/api/deals/:id",status="404"}',
    );
    expect(count).toBeDefined();
    expect(Number(count?.split(' ')[1])).toBeGreaterThanOrEqual(1);
    expect(text).toContain('route="(unmatched)"');
    expect(text).toContain('le="0.005"');
    expect(text).not.toContain(id);
    expect(text).not.toContain('no-such-route');
  });

  it('reports the depth of every queue by state, read at scrape time', async () => {
    const connection = createRedis(t.config.REDIS_URL, 'producer', 'metrics-test');
    const payments = new Queue('payments', {
      connection,
      prefix: redisKeys(t.config.REDIS_PREFIX).bullPrefix,
    });
    try {
      await payments.add('verify-payment', { test: true }, { jobId: 'metrics-test-1' });
      await payments.add('verify-payment', { test: true }, { jobId: 'metrics-test-2', delay: 3_600_000 });
      const text = await scrape();
      expect(line(text, 'queue_jobs{queue="payments",state="waiting"}')).toBe(
        'queue_jobs{queue="payments",state="waiting"} 1',
      );
      expect(line(text, 'queue_jobs{queue="payments",state="delayed"}')).toBe(
        'queue_jobs{queue="payments",state="delayed"} 1',
      );
      for (const queue of ['notifications', 'deadlines', 'scan-31337']) {
        expect(line(text, `queue_jobs{queue="${queue}",state="failed"}`)).toBe(
          `queue_jobs{queue="${queue}",state="failed"} 0`,
        );
      }
    } finally {
      await payments.close();
      connection.disconnect();
    }
  });

  it('has the callback verification failure counter and the process metrics', async () => {
    const text = await scrape();
    expect(text).toContain('# TYPE payment_callback_verification_failures_total counter');
    expect(line(text, 'payment_callback_verification_failures_total ')).toBe(
      'payment_callback_verification_failures_total 0',
    );
    expect(text).toContain('process_resident_memory_bytes');
    expect(text).toContain('nodejs_eventloop_lag_seconds');
  });
});

describe('createMetrics', () => {
  it('keeps each instance on its own registry and counts callback failures', async () => {
    const metrics = createMetrics(t.api.ctx);
    try {
      metrics.callbackVerificationFailures.inc();
      metrics.callbackVerificationFailures.inc();
      const own = await metrics.registry.metrics();
      expect(line(own, 'payment_callback_verification_failures_total ')).toBe(
        'payment_callback_verification_failures_total 2',
      );
      // The server's registry is a different one and did not move.
      expect(line(await scrape(), 'payment_callback_verification_failures_total ')).toBe(
        'payment_callback_verification_failures_total 0',
      );
    } finally {
      await metrics.close();
    }
  });

  it('joins a nested router mount path and the route pattern', async () => {
    const metrics = createMetrics(t.api.ctx);
    const app = express();
    app.use(metrics.middleware);
    const router = express.Router();
    router.get('/things/:thingId', (_req, res) => {
      res.status(201).end();
    });
    app.use('/api/v2', router);
    const server = app.listen(0, '127.0.0.1');
    try {
      await new Promise((resolve) => server.once('listening', resolve));
      const { port } = server.address() as { port: number };
      expect((await fetch(`http://127.0.0.1:${port}/api/v2/things/abc123`)).status).toBe(201);
      const text = await metrics.registry.metrics();
      expect(text).toContain(
        'http_request_duration_seconds_count{method="GET",route="/api/v2/things/:thingId",status="201"} 1',
      );
      expect(text).not.toContain('abc123');
    } finally {
      server.close();
      await metrics.close();
    }
  });
});
