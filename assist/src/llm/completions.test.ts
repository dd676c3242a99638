// Answers end to end: the official client → the proxy → the llm queue → a real llm worker (the built-in
// responder, or the LLM double as upstream) → pub/sub → the client.
import { ASSISTANT_MODEL, redisKeys } from '@amanat/core';
import { connectRedis, createLogger, createRedis } from '@amanat/platform';
import type { Redis } from 'ioredis';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApi, type TestApi } from '../../../api/src/testing.ts';
import { type LlmDouble, lastUserText, startLlmDouble, toolResults } from '../../../devstack/llm-double.ts';
import { until } from '../../../devstack/testing.ts';
import { startLlmWorker } from '../../../workers/src/llm/start.ts';
import { AssistantError } from './errors.ts';
import { startCountingProxy, startTestAssist, type TestAssist } from './testing.ts';

let api: TestApi;
let assist: TestAssist;
let workerRedis: Redis;
let publisher: Redis;
let nextTelegramId = 720_000;
const newUser = () => api.signIn(++nextTelegramId);

beforeAll(async () => {
  api = await startTestApi();
  assist = await startTestAssist({
    apiUrl: api.url,
    redisUrl: api.redis.url,
    prefix: api.redis.prefix,
    keepAliveMs: 40,
  });
  workerRedis = createRedis(api.redis.url, 'worker', 'llm-worker-test');
  publisher = await connectRedis(createRedis(api.redis.url, 'producer', 'llm-publisher-test'));
});

afterAll(async () => {
  await assist?.close();
  workerRedis?.disconnect();
  publisher?.disconnect();
  await api?.close();
});

/** A real llm worker on the test API's database and Redis prefix; with an upstream, it is the LLM double. */
async function startWorker(upstream?: LlmDouble) {
  return startLlmWorker({
    pool: api.db.pool,
    registry: api.api.ctx.registry,
    config: {
      LLM_PROVIDERS: upstream
        ? [{ name: 'double', baseUrl: upstream.baseUrl, apiKey: upstream.apiKey, model: 'double-1' }]
        : undefined,
      LLM_CONCURRENCY: 4,
      LLM_MAX_TOKENS: 800,
    },
    logger: createLogger('workers', 'silent'),
    connection: workerRedis,
    publisher,
    prefix: api.redis.prefix,
    providerOptions: { timeoutMs: 5000, retries: 1, backoffMs: 10 },
  });
}

const ask = (content: string) => ({
  model: ASSISTANT_MODEL,
  messages: [{ role: 'user' as const, content }],
});

/** Reads a raw SSE response to its end. */
async function readAll(res: Response): Promise<string> {
  return await res.text();
}

describe('with the built-in responder (no provider)', () => {
  let worker: Awaited<ReturnType<typeof startWorker>>;
  beforeAll(async () => {
    worker = await startWorker();
  });
  afterAll(async () => {
    await worker?.close();
  });

  it('answers a non-streaming request as one chat.completion with usage', async () => {
    const token = await newUser();
    const completion = await assist.client(token).chat.completions.create(ask('What are the fees?'));
    expect(completion.object).toBe('chat.completion');
    expect(completion.model).toBe(ASSISTANT_MODEL);
    expect(completion.system_fingerprint).toBe('amanat-basic');
    expect(completion.choices).toHaveLength(1);
    expect(completion.choices[0]?.finish_reason).toBe('stop');
    expect(completion.choices[0]?.message.role).toBe('assistant');
    expect(completion.choices[0]?.message.content?.length).toBeGreaterThan(20);
    expect(completion.usage?.total_tokens).toBe(
      (completion.usage?.prompt_tokens ?? 0) + (completion.usage?.completion_tokens ?? 0),
    );
    expect(completion.usage?.completion_tokens).toBeGreaterThan(0);
  });

  it('streams the same answer: the deltas add up to it, usage comes last, [DONE] ends the stream', async () => {
    const token = await newUser();
    const client = assist.client(token);
    const whole = await client.chat.completions.create(ask('How do disputes work?'));
    const stream = await client.chat.completions.create({
      ...ask('How do disputes work?'),
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = '';
    const finishReasons: string[] = [];
    let usage: OpenAI.CompletionUsage | null | undefined;
    for await (const chunk of stream) {
      expect(chunk.object).toBe('chat.completion.chunk');
      for (const choice of chunk.choices) {
        text += choice.delta.content ?? '';
        if (choice.finish_reason) finishReasons.push(choice.finish_reason);
      }
      if (chunk.usage) usage = chunk.usage;
    }
    expect(text).toBe(whole.choices[0]?.message.content);
    expect(finishReasons).toEqual(['stop']);
    expect(usage?.completion_tokens).toBeGreaterThan(0);

    const raw = await fetch(`${assist.baseURL}/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ ...ask('How do disputes work?'), stream: true }),
    });
    expect(raw.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const body = await readAll(raw);
    expect(body.endsWith('data: [DONE]\n\n')).toBe(true);
    expect(body.match(/data: \[DONE\]/g)).toHaveLength(1);
    // Without include_usage no chunk carries usage.
    expect(body).not.toMatch(/"usage":\{/);
  });

  it('answers the bot through ask() with the same worker', async () => {
    const token = await newUser();
    const me = await api.call('GET', '/api/auth/me', { token });
    const deltas: string[] = [];
    const answer = await assist.assistant.ask({
      userId: me.body.id,
      surface: 'bot',
      messages: [{ role: 'user', content: 'Какие комиссии?' }],
      onDelta: (t) => deltas.push(t),
    });
    expect(answer.basic).toBe(true);
    expect(answer.content).toMatch(/\p{Script=Cyrillic}/u);
    expect(deltas.join('')).toBe(answer.content);
  });
});

describe('with an upstream model (the LLM double)', () => {
  let upstream: LlmDouble;
  let worker: Awaited<ReturnType<typeof startWorker>>;
  beforeAll(async () => {
    upstream = await startLlmDouble();
    worker = await startWorker(upstream);
  });
  afterAll(async () => {
    // The upstream first: a worker still streaming an abandoned answer then ends it at once.
    await upstream?.close();
    await worker?.close();
  });

  it('streams the model answer sentence by sentence; the session never reaches the upstream', async () => {
    upstream.respond((req) => ({
      text: `You said: ${lastUserText(req)}. That is all I know. Ask again! Or ask me later. Bye.`,
    }));
    upstream.setStreaming({ chunkChars: 4, chunkDelayMs: 0 });
    const token = await newUser();
    const stream = await assist
      .client(token)
      .chat.completions.create({ ...ask('hello there'), stream: true });
    const deltas: string[] = [];
    let fingerprint: string | null | undefined;
    for await (const chunk of stream) {
      const piece = chunk.choices[0]?.delta.content;
      if (piece) deltas.push(piece);
      if (chunk.system_fingerprint) fingerprint = chunk.system_fingerprint;
    }
    expect(deltas.join('')).toBe(
      'You said: hello there. That is all I know. Ask again! Or ask me later. Bye.',
    );
    expect(deltas.length).toBeGreaterThan(3);
    expect(fingerprint).toBe('amanat-model');

    const seen = upstream.requests.at(-1);
    expect(seen?.authorization).toBe(`Bearer ${upstream.apiKey}`);
    expect(seen?.body.messages[0]?.role).toBe('system');
    expect(JSON.stringify(upstream.requests)).not.toContain(token);
  });

  it('runs the tools the model calls on the server, with the caller’s own deals', async () => {
    const seller = await newUser();
    const buyer = await newUser();
    const stranger = await newUser();
    await api.startDeal(seller, buyer, { title: 'Vintage camera' });
    await api.createDeal(stranger, { title: 'Secret stranger deal' });
    upstream.setStreaming({ chunkChars: 16, chunkDelayMs: 0 });
    upstream.respond((req) =>
      toolResults(req).length === 0
        ? { toolCalls: [{ name: 'list_deals', arguments: {} }] }
        : { text: 'Those are your deals.' },
    );
    const before = upstream.requests.length;
    const completion = await assist.client(buyer).chat.completions.create(ask('Which deals do I have?'));
    const content = completion.choices[0]?.message.content ?? '';
    // The server rendered the tool's facts into the answer; the model only added its sentence.
    expect(content).toContain('Vintage camera');
    expect(content).toContain('Those are your deals.');
    expect(content).not.toContain('Secret stranger deal');
    const calls = upstream.requests.slice(before);
    expect(calls).toHaveLength(2);
    const toolMessage = calls[1]?.body.messages.find((m) => m.role === 'tool');
    expect(toolMessage?.content).toContain('Vintage camera');
    expect(toolMessage?.content).not.toContain('Secret stranger deal');
  });

  it('holds a waiting stream open with SSE comments until the answer comes', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    upstream.respond(async () => {
      await gate;
      return { text: 'Finally here.' };
    });
    const token = await newUser();
    const res = await fetch(`${assist.baseURL}/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ ...ask('slow one'), stream: true }),
    });
    expect(res.status).toBe(200);
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    const decoder = new TextDecoder();
    let text = '';
    while (!text.includes(': keep-alive\n\n')) {
      const { value, done } = await reader.read();
      if (done) break;
      text += decoder.decode(value, { stream: true });
    }
    expect(text).toContain(': keep-alive\n\n');
    expect(text).not.toContain('Finally');
    release();
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      text += decoder.decode(value, { stream: true });
    }
    const deltas = text
      .split('\n\n')
      .filter((line) => line.startsWith('data: {'))
      .map((line) => JSON.parse(line.slice(6)).choices[0]?.delta?.content ?? '')
      .join('');
    expect(deltas).toBe('Finally here.');
    expect(text.endsWith('data: [DONE]\n\n')).toBe(true);
  });

  it('survives a client that aborts mid-stream, stops the worker, counts the tokens, and keeps answering', async () => {
    // About ten seconds of answer: only the abort can let the request go within the wait below.
    const story = 'Once more. '.repeat(40);
    upstream.respond(() => ({ text: story }));
    upstream.setStreaming({ chunkChars: 2, chunkDelayMs: 50 });
    const token = await newUser();
    const me = await api.call('GET', '/api/auth/me', { token });
    // The worker's channel, heard here as well: the proxy stops listening when its client goes.
    const listener = createRedis(api.redis.url, 'worker', 'llm-channel-test');
    const heard: string[] = [];
    listener.on('pmessage', (_p, _c, message) => void heard.push(message));
    await listener.psubscribe(`${redisKeys(api.redis.prefix).channel('llm-stream-')}*`);
    try {
      const { data: stream, request_id } = await assist
        .client(token)
        .chat.completions.create({ ...ask('long answer'), stream: true })
        .withResponse();
      let received = '';
      for await (const chunk of stream) {
        received += chunk.choices[0]?.delta.content ?? '';
        if (received.length >= 4) break; // leaving the loop aborts the request
      }
      expect(received.length).toBeLessThan(story.length);
      await until('the aborted request to be let go', () => assist.assistant.inFlight() === 0, 5000);
      // The worker stops calling the upstream and says so, long before the story would have ended.
      await until('the worker to stop', () =>
        heard.some((m) => m.includes('"cancelled"') && m.includes('"error"')),
      );
      expect(await assist.redis.exists(redisKeys(api.redis.prefix).llmCancel(request_id as string))).toBe(1);
      // No `done` reached the proxy, and what the model wrote is counted all the same.
      expect(await assist.limits.spentToday(me.body.id)).toBeGreaterThan(0);
    } finally {
      listener.disconnect();
    }

    const ready = await fetch(`${assist.url}/readyz`);
    expect(ready.status).toBe(200);
    upstream.respond(() => ({ text: 'Still here.' }));
    upstream.setStreaming({ chunkChars: 8, chunkDelayMs: 0 });
    const next = await assist.client(token).chat.completions.create(ask('are you there?'));
    expect(next.choices[0]?.message.content).toBe('Still here.');
  });

  it('falls back to the basic assistant when the upstream keeps failing', async () => {
    upstream.respond(() => ({ fail: { status: 500, message: 'upstream down' } }));
    const token = await newUser();
    const completion = await assist.client(token).chat.completions.create(ask('What are the fees?'));
    expect(completion.system_fingerprint).toBe('amanat-basic');
    expect(completion.choices[0]?.message.content?.length).toBeGreaterThan(20);
  });

  describe('limits', () => {
    it('refuses past the per-minute limit with 429 and retry-after', async () => {
      const limited = await startTestAssist({
        apiUrl: api.url,
        redisUrl: api.redis.url,
        prefix: api.redis.prefix,
        env: { LLM_REQUESTS_PER_MIN: '2' },
      });
      try {
        upstream.respond(() => ({ text: 'ok' }));
        const client = limited.client(await newUser());
        for (let i = 0; i < 2; i++) {
          const ok = await client.chat.completions.create(ask(`question ${i}`));
          expect(ok.choices[0]?.message.content).toBe('ok');
        }
        const err = await client.chat.completions.create(ask('one too many')).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(OpenAI.RateLimitError);
        const e = err as InstanceType<typeof OpenAI.RateLimitError>;
        expect(e.status).toBe(429);
        expect(e.type).toBe('rate_limit_exceeded');
        const retryAfter = Number(e.headers?.get('retry-after'));
        expect(retryAfter).toBeGreaterThanOrEqual(1);
        expect(retryAfter).toBeLessThanOrEqual(60);
        expect(e.headers?.get('x-should-retry')).toBeNull();
        // Another user is not affected.
        const other = await limited.client(await newUser()).chat.completions.create(ask('hi'));
        expect(other.choices[0]?.message.content).toBe('ok');
      } finally {
        await limited.close();
      }
    });

    it('refuses past the daily token quota with 429 insufficient_quota and x-should-retry: false', async () => {
      const quota = await startTestAssist({
        apiUrl: api.url,
        redisUrl: api.redis.url,
        prefix: api.redis.prefix,
        env: { LLM_DAILY_TOKENS: '100' },
      });
      // The client goes through a counter, to show it does not retry a spent quota.
      const counter = await startCountingProxy(quota.url);
      try {
        upstream.respond(() => ({ text: 'Noted.' }));
        const token = await newUser();
        const me = await api.call('GET', '/api/auth/me', { token });
        const client = new OpenAI({ baseURL: `${counter.url}/v1`, apiKey: token, maxRetries: 3 });
        // About 150 prompt tokens by the upstream's count: one answer spends the day's 100.
        const first = await client.chat.completions.create(ask('Please remember this. '.repeat(27)));
        // Counted once, by the worker, as the upstream counted it: the proxy's reservation is settled.
        expect(await quota.limits.spentToday(me.body.id)).toBe(first.usage?.total_tokens);
        expect(await quota.limits.spentToday(me.body.id)).toBeGreaterThanOrEqual(100);

        const before = counter.count('/v1/chat/completions');
        const err = await client.chat.completions
          .create({ ...ask('and another'), stream: true })
          .catch((e: unknown) => e);
        expect(err).toBeInstanceOf(OpenAI.RateLimitError);
        const e = err as InstanceType<typeof OpenAI.RateLimitError>;
        expect(e.status).toBe(429);
        expect(e.type).toBe('insufficient_quota');
        expect(e.code).toBe('daily_quota_exceeded');
        expect(e.error).toMatchObject({ message: expect.stringMatching(/quota/), param: null });
        expect(e.headers?.get('x-should-retry')).toBe('false');
        expect(counter.count('/v1/chat/completions') - before).toBe(1);

        // The bot's path is refused the same way, with a typed error.
        const refused = await quota.assistant
          .ask({ userId: me.body.id, surface: 'bot', messages: [{ role: 'user', content: 'hi' }] })
          .catch((x: unknown) => x);
        expect(refused).toBeInstanceOf(AssistantError);
        expect(refused).toMatchObject({ status: 429, type: 'insufficient_quota' });
      } finally {
        await counter.close();
        await quota.close();
      }
    });
  });
});
