// The assist server around the proxy: the Telegram webhook route, readiness with the bot's state, and a
// shutdown that lets an answer in flight finish.
import { ASSISTANT_MODEL } from '@amanat/core';
import { connectRedis, createLogger, createRedis } from '@amanat/platform';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApi, type TestApi } from '../../api/src/testing.ts';
import { type LlmDouble, startLlmDouble } from '../../devstack/llm-double.ts';
import { startTelegramDouble, type TelegramDouble } from '../../devstack/telegram-double.ts';
import { until } from '../../devstack/testing.ts';
import { startLlmWorker } from '../../workers/src/llm/start.ts';
import { createBot } from './bot/index.ts';
import { startTestAssist, type TestAssist } from './llm/testing.ts';

const PATH = 'hook-path-0123456789abcdef';
const SECRET = 'webhook-secret-0123456789ABCDEF';

let api: TestApi;
let tg: TelegramDouble;
const open: Array<{ close(): Promise<unknown> }> = [];

beforeAll(async () => {
  api = await startTestApi();
  tg = await startTelegramDouble();
});

afterAll(async () => {
  for (const o of open.reverse()) await o.close();
  await tg?.close();
  await api?.close();
});

type BotFactory = NonNullable<Parameters<typeof startTestAssist>[0]['bot']>;

/** The real bot, retrying fast. */
const testBot: BotFactory = (deps) =>
  createBot({ ...deps, logger: createLogger('assist', 'silent'), retry: { baseMs: 50, maxMs: 400 } });

async function assistWith(env: Record<string, string>, bot?: BotFactory) {
  const assist = await startTestAssist({
    apiUrl: api.url,
    redisUrl: api.redis.url,
    prefix: api.redis.prefix,
    env,
    ...(bot ? { bot } : {}),
  });
  open.push(assist);
  return assist;
}

const webhookEnv = () => ({
  TELEGRAM_BOT_TOKEN: tg.token,
  TELEGRAM_API_ROOT: tg.apiRoot,
  TELEGRAM_WEBHOOK_URL: 'https://assist.example.test',
  TELEGRAM_WEBHOOK_PATH: PATH,
  TELEGRAM_WEBHOOK_SECRET: SECRET,
});

describe('telegram webhook', () => {
  let assist: TestAssist;
  beforeAll(async () => {
    assist = await assistWith(webhookEnv(), testBot);
  });

  const update = (updateId: number, userId: number, text: string) => ({
    update_id: updateId,
    message: {
      message_id: updateId,
      date: Math.floor(Date.now() / 1000),
      chat: { id: userId, type: 'private' },
      from: { id: userId, is_bot: false, first_name: 'Webhook user' },
      text,
      entities: [{ type: 'bot_command', offset: 0, length: text.length }],
    },
  });
  const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
    fetch(`${assist.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify(body),
    });

  it('registers the webhook at /telegram/<path> and hands updates with the secret to the bot', async () => {
    expect(tg.callsOf('setWebhook').at(-1)?.params).toMatchObject({
      url: `https://assist.example.test/telegram/${PATH}`,
      secret_token: SECRET,
    });
    const userId = 880_001;
    expect((await post(`/telegram/${PATH}`, update(1, userId, '/help'))).status).toBe(401);
    expect(
      (
        await post(`/telegram/${PATH}`, update(2, userId, '/help'), {
          'x-telegram-bot-api-secret-token': 'wrong-secret-value',
        })
      ).status,
    ).toBe(401);
    expect(
      (
        await post(`/telegram/other-path-0123456789`, update(3, userId, '/help'), {
          'x-telegram-bot-api-secret-token': SECRET,
        })
      ).status,
    ).toBe(404);
    expect(tg.messagesTo(userId)).toHaveLength(0);

    const ok = await post(`/telegram/${PATH}`, update(4, userId, '/help'), {
      'x-telegram-bot-api-secret-token': SECRET,
    });
    expect(ok.status).toBe(200);
    const reply = await until('the bot to answer', () => tg.messagesTo(userId)[0]);
    expect(String(reply.params.text).length).toBeGreaterThan(10);
  });

  it('reports the running bot on /readyz', async () => {
    const ready = await fetch(`${assist.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ status: 'ready', bot: 'running' });
  });

  it('stays ready when the bot cannot reach Telegram', async () => {
    // Nothing listens on port 9: every Bot API call fails and the bot keeps retrying.
    const cut = await assistWith({ ...webhookEnv(), TELEGRAM_API_ROOT: 'http://127.0.0.1:9' }, testBot);
    await until('the bot to be retrying', () => cut.bot?.state() === 'retrying');
    const ready = await fetch(`${cut.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ status: 'ready', bot: 'retrying' });
  });
});

describe('shutdown', () => {
  let upstream: LlmDouble;
  let connection: Redis;
  let publisher: Redis;
  beforeAll(async () => {
    upstream = await startLlmDouble();
    connection = createRedis(api.redis.url, 'worker', 'llm-worker-test');
    publisher = await connectRedis(createRedis(api.redis.url, 'producer', 'llm-publisher-test'));
    const worker = await startLlmWorker({
      pool: api.db.pool,
      registry: api.api.ctx.registry,
      config: {
        LLM_PROVIDERS: [
          { name: 'double', baseUrl: upstream.baseUrl, apiKey: upstream.apiKey, model: 'double-1' },
        ],
        LLM_CONCURRENCY: 2,
        LLM_MAX_TOKENS: 800,
      },
      logger: createLogger('workers', 'silent'),
      connection,
      publisher,
      prefix: api.redis.prefix,
    });
    open.push({ close: () => upstream.close() }, worker, {
      close: async () => {
        connection.disconnect();
        publisher.disconnect();
      },
    });
  });

  it('stops taking connections but lets a stream in flight finish', async () => {
    const assist = await assistWith({});
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    upstream.respond(async () => {
      await gate;
      return { text: 'Answered during shutdown.' };
    });
    const token = await api.signIn(880_101);
    const res = await fetch(`${assist.baseURL}/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({
        model: ASSISTANT_MODEL,
        messages: [{ role: 'user', content: 'hi' }],
        stream: true,
      }),
    });
    expect(res.status).toBe(200);
    const body = res.text();

    const closed = assist.server.close(10_000);
    await until('the listener to close', () =>
      fetch(`${assist.url}/healthz`).then(
        () => false,
        () => true,
      ),
    );
    release();
    const text = await body;
    const answer = text
      .split('\n\n')
      .filter((event) => event.startsWith('data: {'))
      .map((event) => JSON.parse(event.slice(6)).choices[0]?.delta?.content ?? '')
      .join('');
    expect(answer).toBe('Answered during shutdown.');
    expect(text.endsWith('data: [DONE]\n\n')).toBe(true);
    await closed;
    expect(assist.assistant.inFlight()).toBe(0);
  });
});
