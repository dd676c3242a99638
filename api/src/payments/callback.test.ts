import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import {
  JOBS,
  type PaymentJob,
  type PaymentWebhookEvent,
  paymentEventId,
  paymentJobId,
  QUEUES,
  redisKeys,
} from '@amanat/core';
import { connectRedis, createRedis } from '@amanat/platform';
import { Queue } from 'bullmq';
import express from 'express';
import type { Redis } from 'ioredis';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectProblem, startTestApi, TEST_WEBHOOK_SECRET, type TestApi } from '../testing.ts';
import { createPaymentCallback, PAYMENT_CALLBACK_PATH } from './callback.ts';
import { CALLBACK_SEEN_TTL_SEC, createPaymentsQueue } from './enqueue.ts';
import type { WebhookHeaders } from './signature.ts';

type SignedHeaders = Record<keyof WebhookHeaders, string>;

const logLines: string[] = [];
const logSink = new Writable({
  write(chunk, _enc, done) {
    logLines.push(String(chunk));
    done();
  },
});

let t: TestApi;
let payments: Queue;
let inspector: Redis;

beforeAll(async () => {
  t = await startTestApi({}, { logTo: logSink });
  inspector = createRedis(t.config.REDIS_URL, 'worker', 'callback-test');
  payments = new Queue(QUEUES.payments, {
    connection: inspector,
    prefix: redisKeys(t.config.REDIS_PREFIX).bullPrefix,
  });
});
afterAll(async () => {
  await payments?.close();
  inspector?.disconnect();
  await t?.close();
});

const hex = (bytes: number) => `0x${randomBytes(bytes).toString('hex')}`;

/** A payment event on the test chain (31337), for a transfer no other test uses. */
function paymentEvent(over: Partial<PaymentWebhookEvent> = {}): PaymentWebhookEvent {
  return {
    type: 'payment.detected',
    timestamp: new Date().toISOString(),
    data: {
      chainId: 31337,
      txHash: hex(32),
      logIndex: 3,
      blockNumber: '120',
      blockHash: hex(32),
      from: hex(20),
      to: hex(20),
      token: '0x5FbDB2315678afecb367f032d93F642f64180aa3',
      amount: '500000000',
      confirmations: 0,
    },
    ...over,
  };
}

const idOf = (event: PaymentWebhookEvent) => paymentEventId(event.type, event.data);

/** Standard Webhooks headers for a body, signed as a scanner does. */
function signedHeaders(
  body: string | Buffer,
  opts: { id: string; at?: Date; secret?: string },
): SignedHeaders {
  const at = opts.at ?? new Date();
  return {
    'webhook-id': opts.id,
    'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
    'webhook-signature': new Webhook(opts.secret ?? TEST_WEBHOOK_SECRET).sign(opts.id, at, body),
  };
}

// biome-ignore lint/suspicious/noExplicitAny: tests read whatever JSON the route answered
type Answer = { status: number; body: any; headers: Headers };

async function post(
  body: string | Buffer,
  headers: Record<string, string>,
  opts: { url?: string; method?: string } = {},
): Promise<Answer> {
  const res = await fetch(`${opts.url ?? t.url}${PAYMENT_CALLBACK_PATH}`, {
    method: opts.method ?? 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: opts.method && opts.method !== 'POST' ? null : body,
  });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {}
  return { status: res.status, body: parsed, headers: res.headers };
}

/** Posts an event signed under its own event id (or the one given). */
function deliver(event: PaymentWebhookEvent, id = idOf(event), opts: { url?: string } = {}) {
  const body = JSON.stringify(event);
  return post(body, signedHeaders(body, { id }), opts);
}

const jobCount = async () => {
  const counts = await payments.getJobCounts('waiting', 'active', 'delayed', 'completed', 'failed');
  return Object.values(counts).reduce((a, b) => a + b, 0);
};

async function verificationFailures(): Promise<number> {
  const res = await fetch(`${t.url}/metrics`);
  expect(res.status).toBe(200);
  const line = (await res.text())
    .split('\n')
    .find((l) => l.startsWith('payment_callback_verification_failures_total '));
  expect(line).toBeDefined();
  return Number(line?.split(' ')[1]);
}

const seen = async (id: string) =>
  (await inspector.exists(redisKeys(t.config.REDIS_PREFIX).callbackSeen(id))) === 1;

const jobOf = (event: PaymentWebhookEvent, eventId = idOf(event)): PaymentJob => ({
  eventId,
  type: event.type,
  chainId: event.data.chainId,
  txHash: event.data.txHash,
  logIndex: event.data.logIndex,
  blockHash: event.data.blockHash,
  blockNumber: event.data.blockNumber,
  to: event.data.to,
  token: event.data.token,
});

describe('POST /api/payment/callback', () => {
  it('accepts a signed event with 202 and enqueues exactly one payments job with its facts', async () => {
    const before = await jobCount();
    const event = paymentEvent();
    const res = await deliver(event);
    expect(res.status, JSON.stringify(res.body)).toBe(202);
    expect(res.body).toEqual({ accepted: true, duplicate: false });
    expect(await jobCount()).toBe(before + 1);

    const expected = jobOf(event);
    const job = await payments.getJob(paymentJobId(expected));
    expect(job?.name).toBe(JOBS.payments[0]);
    expect(job?.data).toEqual(expected);
    expect(job?.opts).toMatchObject({
      attempts: 12,
      backoff: { type: 'exponential', delay: 2000, jitter: 0.5 },
    });
    const ttl = await inspector.ttl(redisKeys(t.config.REDIS_PREFIX).callbackSeen(idOf(event)));
    expect(ttl).toBeGreaterThan(CALLBACK_SEEN_TTL_SEC - 60);
    expect(ttl).toBeLessThanOrEqual(CALLBACK_SEEN_TTL_SEC);
  });

  it('answers a replay of the same webhook-id 202 duplicate and enqueues nothing more', async () => {
    const event = paymentEvent({ type: 'payment.confirmed' });
    const body = JSON.stringify(event);
    const headers = signedHeaders(body, { id: idOf(event) });
    expect((await post(body, headers)).body).toEqual({ accepted: true, duplicate: false });
    const after = await jobCount();

    // The very same request again, then a retry signed later under the same id.
    const replay = await post(body, headers);
    expect(replay.status).toBe(202);
    expect(replay.body).toEqual({ accepted: true, duplicate: true });
    const retry = await post(body, signedHeaders(body, { id: idOf(event), at: new Date(Date.now() + 1000) }));
    expect(retry.body).toEqual({ accepted: true, duplicate: true });
    expect(await jobCount()).toBe(after);
  });

  it('turns 100 concurrent identical callbacks into one job and one first acceptance', async () => {
    const before = await jobCount();
    const event = paymentEvent();
    const body = JSON.stringify(event);
    const headers = signedHeaders(body, { id: idOf(event) });
    const answers = await Promise.all(Array.from({ length: 100 }, () => post(body, headers)));
    expect(answers.map((a) => a.status)).toEqual(Array(100).fill(202));
    expect(answers.filter((a) => a.body.duplicate === false)).toHaveLength(1);
    expect(await jobCount()).toBe(before + 1);
    expect(await payments.getJob(paymentJobId(jobOf(event)))).toBeTruthy();
  });

  it('enqueues reordered events (confirmed before detected) as two jobs', async () => {
    const before = await jobCount();
    const detected = paymentEvent();
    const confirmed: PaymentWebhookEvent = {
      ...detected,
      type: 'payment.confirmed',
      data: { ...detected.data, confirmations: 2 },
    };
    expect((await deliver(confirmed)).body).toEqual({ accepted: true, duplicate: false });
    expect((await deliver(detected)).body).toEqual({ accepted: true, duplicate: false });
    expect(await jobCount()).toBe(before + 2);
    for (const event of [confirmed, detected]) {
      const job = await payments.getJob(paymentJobId(jobOf(event)));
      expect(job?.data.type).toBe(event.type);
    }
  });

  it('enqueues identical facts reported under two webhook ids once (two scanners)', async () => {
    const before = await jobCount();
    const event = paymentEvent();
    expect((await deliver(event, 'msg_scanner_a_1')).body.duplicate).toBe(false);
    expect((await deliver(event, 'msg_scanner_b_1')).body.duplicate).toBe(false);
    expect(await jobCount()).toBe(before + 1);
    expect((await payments.getJob(paymentJobId(jobOf(event))))?.data.eventId).toBe('msg_scanner_a_1');
  });

  it('verifies the raw bytes whatever the content type', async () => {
    const event = paymentEvent();
    // Spacing a re-serialization would drop: the signature covers the bytes as sent.
    const body = JSON.stringify(event, null, 2);
    const res = await post(body, {
      ...signedHeaders(body, { id: idOf(event) }),
      'content-type': 'text/plain',
    });
    expect(res.status, JSON.stringify(res.body)).toBe(202);
  });

  it('refuses bad or missing signatures and timestamps with 401, enqueues nothing, and counts each', async () => {
    const before = await jobCount();
    const failuresBefore = await verificationFailures();
    const event = paymentEvent();
    const id = idOf(event);
    const body = JSON.stringify(event);
    const good = signedHeaders(body, { id });
    const without = (name: string) => Object.fromEntries(Object.entries(good).filter(([k]) => k !== name));
    const minutes = (n: number) => new Date(Date.now() + n * 60_000);
    const tampered = JSON.stringify({ ...event, data: { ...event.data, amount: '999999999999' } });

    const cases: Array<[string, Record<string, string>, string, string]> = [
      [
        'wrong secret',
        signedHeaders(body, { id, secret: `whsec_${randomBytes(32).toString('base64')}` }),
        body,
        'webhook_signature_invalid',
      ],
      ['tampered body', good, tampered, 'webhook_signature_invalid'],
      ['signature for another id', { ...good, 'webhook-id': `${id}x` }, body, 'webhook_signature_invalid'],
      ['garbage signature', { ...good, 'webhook-signature': 'v1,AAAA' }, body, 'webhook_signature_invalid'],
      ['no signature', without('webhook-signature'), body, 'webhook_headers_missing'],
      ['no id', without('webhook-id'), body, 'webhook_headers_missing'],
      ['no timestamp', without('webhook-timestamp'), body, 'webhook_headers_missing'],
      ['no headers at all', {}, body, 'webhook_headers_missing'],
      ['6 minutes old', signedHeaders(body, { id, at: minutes(-6) }), body, 'webhook_timestamp_stale'],
      ['6 minutes ahead', signedHeaders(body, { id, at: minutes(6) }), body, 'webhook_timestamp_stale'],
      [
        'timestamp with trailing junk',
        { ...good, 'webhook-timestamp': `${good['webhook-timestamp']}abc` },
        body,
        'webhook_headers_invalid',
      ],
      ['id with a dot', signedHeaders(body, { id: 'a.b' }), body, 'webhook_headers_invalid'],
    ];
    for (const [what, headers, sent, code] of cases) {
      const res = await post(sent, headers);
      expectProblem(res, 401, code, what);
      expect(JSON.stringify(res.body), what).not.toContain(good['webhook-signature'].slice(3));
    }
    expect(await jobCount()).toBe(before);
    expect(await seen(id)).toBe(false);
    expect(await verificationFailures()).toBe(failuresBefore + cases.length);

    // The refusals left the real event deliverable.
    expect((await post(body, signedHeaders(body, { id }))).body).toEqual({
      accepted: true,
      duplicate: false,
    });
  });

  it('answers 400 to a signed body that is not JSON or not a payment event, and enqueues nothing', async () => {
    const before = await jobCount();
    const failuresBefore = await verificationFailures();
    const event = paymentEvent();
    const { txHash: _dropped, ...withoutTx } = event.data;
    const cases: Array<[string, string | Buffer, string, string]> = [
      ['not JSON', '{"type": "payment.detected",', 'payment_event_invalid', ''],
      ['empty', '', 'payment_event_invalid', ''],
      ['not UTF-8', Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), 'payment_event_invalid', ''],
      [
        'missing txHash',
        JSON.stringify({ ...event, data: withoutTx }),
        'payment_event_invalid',
        'data.txHash',
      ],
      [
        'unknown type',
        JSON.stringify({ ...event, type: 'payment.refunded' }),
        'payment_event_invalid',
        'type',
      ],
      ['extra member', JSON.stringify({ ...event, extra: 1 }), 'payment_event_invalid', ''],
      [
        'amount as a number',
        JSON.stringify({ ...event, data: { ...event.data, amount: 5 } }),
        'payment_event_invalid',
        'data.amount',
      ],
      [
        'a chain this API does not watch',
        JSON.stringify({ ...event, data: { ...event.data, chainId: 1 } }),
        'payment_chain_inactive',
        'data.chainId',
      ],
    ];
    for (const [what, body, code, path] of cases) {
      const res = await post(
        body,
        signedHeaders(body, { id: `msg_invalid_${randomBytes(4).toString('hex')}` }),
      );
      expectProblem(res, 400, code, what);
      expect(res.body.errors.length, what).toBeGreaterThan(0);
      if (path)
        expect(
          res.body.errors.map((e: { path: string }) => e.path),
          what,
        ).toContain(path);
    }
    expect(await jobCount()).toBe(before);
    expect(await verificationFailures()).toBe(failuresBefore);
  });

  it('answers 413 to a body over 64 KB and 415 to a compressed one', async () => {
    const before = await jobCount();
    const big = JSON.stringify({ ...paymentEvent(), padding: 'x'.repeat(70 * 1024) });
    expectProblem(await post(big, signedHeaders(big, { id: 'msg_oversize' })), 413, 'body_too_large');
    const body = JSON.stringify(paymentEvent());
    expectProblem(
      await post(body, { ...signedHeaders(body, { id: 'msg_gzip' }), 'content-encoding': 'gzip' }),
      415,
      'encoding_unsupported',
    );
    expect(await jobCount()).toBe(before);
    expect(await seen('msg_oversize')).toBe(false);
  });

  it('is for servers only: other methods and CORS preflights get 405 and no CORS headers', async () => {
    for (const method of ['GET', 'PUT', 'DELETE']) {
      const res = await post('', {}, { method });
      expectProblem(res, 405, 'method_not_allowed', method);
      expect(res.headers.get('allow')).toBe('POST');
    }
    const preflight = await fetch(`${t.url}${PAYMENT_CALLBACK_PATH}`, {
      method: 'OPTIONS',
      headers: {
        origin: t.config.APP_ORIGIN,
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'webhook-id,webhook-timestamp,webhook-signature',
      },
    });
    expect(preflight.status).toBe(405);
    expect(preflight.headers.get('access-control-allow-origin')).toBeNull();
    const event = paymentEvent();
    const body = JSON.stringify(event);
    const res = await post(body, {
      ...signedHeaders(body, { id: idOf(event) }),
      origin: t.config.APP_ORIGIN,
    });
    expect(res.status).toBe(202);
    expect(res.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('answers 503 while Redis is down, and accepts the retry afterwards as new', async () => {
    const before = await jobCount();
    const event = paymentEvent();
    t.apiRedis.disconnect();
    try {
      const down = await deliver(event);
      expectProblem(down, 503, 'service_unavailable');
      expect(down.headers.get('retry-after')).toBe('5');
    } finally {
      await t.apiRedis.connect();
    }
    expect(await seen(idOf(event))).toBe(false);
    expect(await jobCount()).toBe(before);
    expect((await deliver(event)).body).toEqual({ accepted: true, duplicate: false });
    expect(await jobCount()).toBe(before + 1);
  });

  it('does not mark an event seen when only the enqueue fails, so the retry is enqueued', async () => {
    // The route on its own app with a payments queue on a connection the test can cut, while the
    // dedupe key's connection stays up: the add itself fails.
    const queueRedis = await connectRedis(createRedis(t.config.REDIS_URL, 'producer', 'callback-queue'));
    const queue = createPaymentsQueue({
      redis: queueRedis,
      prefix: t.config.REDIS_PREFIX,
      logger: t.api.ctx.logger,
    });
    let refused = 0;
    const callback = createPaymentCallback({ ctx: t.api.ctx, onRefused: () => refused++, queue });
    const app = express();
    callback.mount(app);
    const server = app.listen(0, '127.0.0.1');
    try {
      await new Promise((resolve) => server.once('listening', resolve));
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const before = await jobCount();
      const event = paymentEvent({ type: 'payment.reorged' });

      queueRedis.disconnect();
      expectProblem(await deliver(event, idOf(event), { url }), 503, 'service_unavailable');
      expect(await seen(idOf(event))).toBe(false);
      expect(await jobCount()).toBe(before);

      await queueRedis.connect();
      expect((await deliver(event, idOf(event), { url })).body).toEqual({ accepted: true, duplicate: false });
      expect(await jobCount()).toBe(before + 1);
      expect(await seen(idOf(event))).toBe(true);
      expect(refused).toBe(0);
    } finally {
      server.close();
      await callback.close();
      await queue.close();
      queueRedis.disconnect();
    }
  });

  it('never logs the secret or a signature', async () => {
    const event = paymentEvent();
    const body = JSON.stringify(event);
    const good = signedHeaders(body, { id: idOf(event) });
    const bad = signedHeaders(body, {
      id: idOf(event),
      secret: `whsec_${randomBytes(32).toString('base64')}`,
    });
    expect((await post(body, bad)).status).toBe(401);
    expect((await post(body, good)).status).toBe(202);
    const logs = logLines.join('');
    expect(logs).toContain('payment callback refused');
    for (const secret of [
      TEST_WEBHOOK_SECRET,
      TEST_WEBHOOK_SECRET.slice('whsec_'.length),
      good['webhook-signature'].slice(3),
      bad['webhook-signature'].slice(3),
    ]) {
      expect(logs).not.toContain(secret);
    }
  });
});

describe('the published event schema', () => {
  it('documents the callback and a paymentEvent webhook with the signed headers and the event schema', async () => {
    const { status, body: doc } = await t.call('GET', '/api/openapi.json');
    expect(status).toBe(200);
    const op = doc.paths[PAYMENT_CALLBACK_PATH]?.post;
    const hook = doc.webhooks?.paymentEvent?.post;
    for (const [what, item] of [
      ['path', op],
      ['webhook', hook],
    ]) {
      expect(item, what).toBeDefined();
      const schema = item.requestBody.content['application/json'].schema;
      expect(schema.additionalProperties, what).toBe(false);
      expect(schema.required, what).toEqual(['type', 'timestamp', 'data']);
      expect(schema.properties.type.enum, what).toEqual([
        'payment.detected',
        'payment.confirmed',
        'payment.reorged',
      ]);
      expect(schema.properties.data.required, what).toEqual(
        expect.arrayContaining(['chainId', 'txHash', 'logIndex', 'blockHash', 'to', 'token', 'amount']),
      );
      const headers = item.parameters
        .filter((p: { in: string; required: boolean }) => p.in === 'header' && p.required)
        .map((p: { name: string }) => p.name);
      expect(headers, what).toEqual(['webhook-id', 'webhook-timestamp', 'webhook-signature']);
      expect(item.description, what).toMatch(/HMAC-SHA256/);
      expect(Object.keys(item.responses), what).toEqual(
        expect.arrayContaining(['202', '400', '401', '413', '503']),
      );
    }
    const html = await (await fetch(`${t.url}/api/docs`)).text();
    expect(html).toContain('id="receivePaymentEvent"');
    expect(html).toContain('id="paymentEvent"');
  });
});
