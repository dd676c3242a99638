import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { assistConfigSchema, loadConfig } from '@amanat/core';
import { createLogger } from '@amanat/platform';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startTestApi, TEST_SERVICE_SECRET, type TestApi } from '../../../api/src/testing.ts';
import { startTelegramDouble, type TelegramDouble } from '../../../devstack/telegram-double.ts';
import { until } from '../../../devstack/testing.ts';
import type { Ask } from './handlers.ts';
import { createBot } from './index.ts';
import { createTestBot, exchange, newTelegramUser, type TestBot } from './testing.ts';

let api: TestApi;
const open: Array<{ close(): Promise<void> }> = [];
const ask: Ask = async () => ({ content: 'an answer' });

beforeAll(async () => {
  api = await startTestApi();
});
afterEach(async () => {
  // Bots first: they talk to the doubles while stopping.
  for (const thing of open.splice(0).reverse()) await thing.close();
});
afterAll(async () => {
  await api?.close();
});

async function double(): Promise<TelegramDouble> {
  const tg = await startTelegramDouble();
  open.push(tg);
  return tg;
}

async function bot(
  tg: TelegramDouble,
  env: Record<string, string> = {},
  apiUrl = api.url,
  more: { ask?: Ask; limits?: { maxInFlight?: number; maxPerUser?: number } } = {},
): Promise<TestBot> {
  const made = await createTestBot({
    tg,
    apiUrl,
    serviceSecret: TEST_SERVICE_SECRET,
    ask: more.ask ?? ask,
    env,
    ...(more.limits ? { limits: more.limits } : {}),
  });
  open.push(made);
  return made;
}

/** A URL nothing listens on: the API is down. */
async function deadUrl(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return `http://127.0.0.1:${port}`;
}

describe('without a token', () => {
  it('is off, says so, and starts and stops as a no-op', async () => {
    const lines: string[] = [];
    const config = loadConfig('assist', assistConfigSchema, {
      REDIS_URL: 'redis://127.0.0.1:6379',
      API_URL: 'http://127.0.0.1:1',
      APP_ORIGIN: 'http://localhost:3000',
      ASSIST_SERVICE_SECRET: TEST_SERVICE_SECRET,
    });
    const off = createBot({
      config,
      logger: createLogger('assist', 'info', { write: (line: string) => lines.push(line) }),
      redis: null as never,
      ask,
    });
    await off.start();
    expect(off.state()).toBe('off');
    expect(off.webhookHandler).toBeNull();
    expect(lines.join('')).toContain('TELEGRAM_BOT_TOKEN is not set');
    await off.stop();
  });
});

describe('Telegram unreachable', () => {
  it('at start: start() returns, the bot retries with backoff, and recovers when Telegram is back', async () => {
    const tg = await double();
    tg.failAll(null, { status: 502, description: 'Bad Gateway' });
    const { bot: b } = await bot(tg);
    await b.start();
    expect(b.state()).toBe('retrying');
    await until(
      'a few failed attempts',
      () => tg.calls.filter((c) => c.method === 'getMe' && c.failed).length >= 3,
    );
    expect(b.state()).toBe('retrying');
    tg.heal();
    await until('running again', () => b.state() === 'running');
    const user = newTelegramUser();
    const reply = await exchange(tg, user, '/help');
    expect(reply.params.text).toContain('How Amanat works');
  });

  it('while polling: the bot reports retrying and picks the updates up once Telegram answers again', async () => {
    const tg = await double();
    const { bot: b } = await bot(tg);
    await b.start();
    expect(b.state()).toBe('running');
    tg.failAll('getUpdates', { status: 500, description: 'Internal Server Error' });
    // A poll already waiting on the double returns this update; the poll after it fails.
    const user = newTelegramUser();
    tg.sendText(user, '/help');
    await until('retrying', () => b.state() === 'retrying');
    tg.heal();
    await until('the reply', () => tg.messagesTo(user.id)[0]);
    expect(tg.messagesTo(user.id)[0]?.params.text).toContain('How Amanat works');
    await until('running again', () => b.state() === 'running');
  });

  it('a reply Telegram refuses is logged, not fatal: the next update is answered', async () => {
    const tg = await double();
    const { bot: b } = await bot(tg);
    await b.start();
    const user = newTelegramUser();
    tg.failNext('sendMessage', {
      status: 429,
      description: 'Too Many Requests: retry after 1',
      retryAfter: 1,
    });
    tg.sendText(user, '/help');
    await until('the refused reply', () => tg.calls.some((c) => c.method === 'sendMessage' && c.failed));
    const reply = await exchange(tg, user, '/help');
    expect(reply.params.text).toContain('How Amanat works');
    expect(b.state()).toBe('running');
  });
});

describe('API unreachable', () => {
  it('answers "try again later" in the user’s language, and still greets', async () => {
    const tg = await double();
    const { bot: b } = await bot(tg, {}, await deadUrl());
    await b.start();
    const user = newTelegramUser({ first_name: 'Ivan', language_code: 'ru' });
    const greeting = await exchange(tg, user, '/start');
    expect(greeting.params.text).toContain('Здравствуйте, Ivan!');
    for (const text of [
      '/deals',
      '/start deal_ABCDEFGHJK',
      'how do I pay?',
      `/start login_${'n'.repeat(32)}`,
    ]) {
      const reply = await exchange(tg, user, text);
      expect(reply.params.text, text).toBe('Amanat сейчас недоступен. Попробуйте ещё раз через минуту.');
    }
    const before = tg.callsOf('answerCallbackQuery').length;
    tg.pressButton(user, 'lang:en');
    await until('the button is answered', () => tg.callsOf('answerCallbackQuery').length > before);
    expect(tg.callsOf('answerCallbackQuery').at(-1)?.params.text).toContain('недоступен');
  });
});

describe('app on plain http (local development)', () => {
  it('writes links in the text instead of Mini App buttons, and sets no menu button', async () => {
    const tg = await double();
    const { bot: b } = await bot(tg, { APP_ORIGIN: 'http://localhost:3000' });
    await b.start();
    const user = newTelegramUser();
    const reply = await exchange(tg, user, '/start');
    expect(reply.params.text).toContain('Open the app in your browser: http://localhost:3000/');
    expect(reply.params.reply_markup).toBeUndefined();
    expect(tg.callsOf('setChatMenuButton')).toHaveLength(0);
    expect(tg.callsOf('setMyCommands')).toHaveLength(2);
  });
});

describe('webhook mode', () => {
  const PATH = 'hook-path-0123456789abcdef';
  const SECRET = 'webhook-secret-0123456789ABCDEF';

  async function serve(handler: NonNullable<TestBot['bot']['webhookHandler']>): Promise<string> {
    const server: Server = createServer(handler);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    open.push({
      close: () => {
        server.closeAllConnections();
        return new Promise((resolve) => server.close(() => resolve()));
      },
    });
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}/telegram/${PATH}`;
  }

  const update = (updateId: number, from: { id: number; first_name: string }, text: string) => ({
    update_id: updateId,
    message: {
      message_id: updateId,
      date: Math.floor(Date.now() / 1000),
      chat: { id: from.id, type: 'private' },
      from: { is_bot: false, ...from },
      text,
      ...(text.startsWith('/')
        ? { entities: [{ type: 'bot_command', offset: 0, length: text.split(' ')[0]?.length }] }
        : {}),
    },
  });

  it('registers the webhook with its secret and takes only requests that carry the secret', async () => {
    const tg = await double();
    const { bot: b, config } = await bot(tg, {
      TELEGRAM_WEBHOOK_URL: 'https://bot.example.test/',
      TELEGRAM_WEBHOOK_PATH: PATH,
      TELEGRAM_WEBHOOK_SECRET: SECRET,
    });
    expect(config.TELEGRAM_WEBHOOK_URL).toBe('https://bot.example.test');
    await b.start();
    expect(b.state()).toBe('running');
    expect(tg.callsOf('setWebhook')[0]?.params).toMatchObject({
      url: `https://bot.example.test/telegram/${PATH}`,
      secret_token: SECRET,
      allowed_updates: ['message', 'callback_query', 'my_chat_member'],
    });
    expect(tg.callsOf('deleteWebhook')).toHaveLength(0);
    expect(b.webhookHandler).not.toBeNull();
    const url = await serve(b.webhookHandler as NonNullable<typeof b.webhookHandler>);
    const user = newTelegramUser();
    const post = (body: unknown, headers: Record<string, string> = {}) =>
      fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: typeof body === 'string' ? body : JSON.stringify(body),
      });

    expect((await post(update(1, user, '/help'))).status).toBe(401);
    expect(
      (await post(update(2, user, '/help'), { 'X-Telegram-Bot-Api-Secret-Token': `${SECRET}x` })).status,
    ).toBe(401);
    expect(
      (await post(update(3, user, '/help'), { 'X-Telegram-Bot-Api-Secret-Token': 'short' })).status,
    ).toBe(401);
    expect((await fetch(url, { headers: { 'X-Telegram-Bot-Api-Secret-Token': SECRET } })).status).toBe(405);
    expect((await post('{not json', { 'X-Telegram-Bot-Api-Secret-Token': SECRET })).status).toBe(400);
    expect((await post({ nope: true }, { 'X-Telegram-Bot-Api-Secret-Token': SECRET })).status).toBe(400);
    expect(tg.messagesTo(user.id)).toHaveLength(0);

    const right = { 'X-Telegram-Bot-Api-Secret-Token': SECRET };
    expect((await post(update(4, user, '/help'), right)).status).toBe(200);
    await until('the reply', () => tg.messagesTo(user.id)[0]);
    expect(tg.messagesTo(user.id)[0]?.params.text).toContain('How Amanat works');

    // Telegram resends an update it thinks was lost; it is handled once.
    expect((await post(update(4, user, '/help'), right)).status).toBe(200);
    expect((await post(update(5, user, '/lang'), right)).status).toBe(200);
    await until('the /lang reply', () => tg.messagesTo(user.id)[1]);
    expect(tg.messagesTo(user.id)).toHaveLength(2);
    expect(tg.messagesTo(user.id)[1]?.params.text).toBe('Choose your language:');
  });

  it('answers 503 while it handles as many updates as it takes at once, so Telegram sends them again later', async () => {
    const tg = await double();
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const { bot: b } = await bot(
      tg,
      {
        TELEGRAM_WEBHOOK_URL: 'https://bot.example.test',
        TELEGRAM_WEBHOOK_PATH: PATH,
        TELEGRAM_WEBHOOK_SECRET: SECRET,
      },
      api.url,
      {
        ask: async () => {
          await gate;
          return { content: 'an answer' };
        },
        limits: { maxInFlight: 2 },
      },
    );
    await b.start();
    const url = await serve(b.webhookHandler as NonNullable<typeof b.webhookHandler>);
    const post = (body: unknown) =>
      fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'X-Telegram-Bot-Api-Secret-Token': SECRET },
        body: JSON.stringify(body),
      });
    const first = newTelegramUser();
    const second = newTelegramUser();
    const third = newTelegramUser();
    const typing = (u: { id: number }) => () =>
      tg.calls.some((c) => c.method === 'sendChatAction' && c.params.chat_id === u.id);
    expect((await post(update(101, first, 'a question'))).status).toBe(200);
    expect((await post(update(102, second, 'a question'))).status).toBe(200);
    await until('both questions are with the assistant', () => typing(first)() && typing(second)());
    expect((await post(update(103, third, '/help'))).status).toBe(503);
    expect(tg.messagesTo(third.id)).toHaveLength(0);

    release();
    await until(
      'both answered',
      () => tg.messagesTo(first.id).length + tg.messagesTo(second.id).length === 2,
    );
    // Telegram's retry of the same update is taken and handled.
    await until('taken again', async () => (await post(update(103, third, '/help'))).status === 200);
    await until('the reply', () => tg.messagesTo(third.id)[0]);
    expect(tg.messagesTo(third.id)[0]?.params.text).toContain('How Amanat works');
  });
});
