import { type AssistConfig, assistConfigSchema, loadConfig } from '@amanat/core';
import { createLogger } from '@amanat/platform';
import type { BotApiCall, TelegramDouble, TelegramUserDouble } from '../../../devstack/telegram-double.ts';
import { createTestRedis, type TestRedis, until } from '../../../devstack/testing.ts';
import type { Ask } from './handlers.ts';
import { type Bot, type BotDeps, createBot } from './index.ts';

/** The assist environment a bot under test runs with; each test may override any of it. */
export function testBotEnv(
  tg: TelegramDouble,
  redis: { url: string; prefix: string },
  apiUrl: string,
  serviceSecret: string,
): Record<string, string> {
  return {
    NODE_ENV: 'test',
    LOG_LEVEL: 'silent',
    REDIS_URL: redis.url,
    REDIS_PREFIX: redis.prefix,
    API_URL: apiUrl,
    APP_ORIGIN: 'https://app.test',
    ASSIST_SERVICE_SECRET: serviceSecret,
    TELEGRAM_BOT_TOKEN: tg.token,
    TELEGRAM_API_ROOT: tg.apiRoot,
  };
}

export interface TestBot {
  bot: Bot;
  config: AssistConfig;
  redis: TestRedis;
  close(): Promise<void>;
}

/** A bot on its own Redis prefix (so update ids of another double never collide), not started yet. */
export async function createTestBot(opts: {
  tg: TelegramDouble;
  apiUrl: string;
  serviceSecret: string;
  ask: Ask;
  env?: Record<string, string>;
  limits?: BotDeps['limits'];
}): Promise<TestBot> {
  const redis = await createTestRedis();
  const config = loadConfig('assist', assistConfigSchema, {
    ...testBotEnv(opts.tg, redis, opts.apiUrl, opts.serviceSecret),
    ...opts.env,
  });
  const bot = createBot({
    config,
    logger: createLogger('assist', 'silent'),
    redis: redis.redis,
    ask: opts.ask,
    retry: { baseMs: 50, maxMs: 400 },
    ...(opts.limits ? { limits: opts.limits } : {}),
  });
  return {
    bot,
    config,
    redis,
    async close() {
      await bot.stop();
      await redis.close();
    },
  };
}

let nextUserId = 610_000_000;
/** A Telegram user no other test uses, so each test reads only its own chat. */
export function newTelegramUser(over: Partial<TelegramUserDouble> = {}): TelegramUserDouble {
  nextUserId += 1;
  return { id: nextUserId, first_name: `Tester${nextUserId % 1000}`, language_code: 'en', ...over };
}

/** Sends a message as the user and waits for the next message (or edit) the bot sends to their chat. */
export async function exchange(
  tg: TelegramDouble,
  user: TelegramUserDouble,
  text: string,
): Promise<BotApiCall> {
  const before = tg.messagesTo(user.id).length;
  tg.sendText(user, text);
  return nextMessage(tg, user.id, before);
}

/** Presses a button as the user and waits for the next message or edit to their chat. */
export async function press(tg: TelegramDouble, user: TelegramUserDouble, data: string): Promise<BotApiCall> {
  const before = tg.messagesTo(user.id).length;
  tg.pressButton(user, data);
  return nextMessage(tg, user.id, before);
}

export const nextMessage = (tg: TelegramDouble, chatId: number, after: number) =>
  until(`message #${after + 1} to chat ${chatId}`, () => tg.messagesTo(chatId)[after], 15_000);

interface Button {
  text: string;
  callback_data?: string;
  web_app?: { url: string };
  url?: string;
}

/** The inline buttons of a sent message, row after row. */
export const buttonsOf = (call: BotApiCall): Button[] =>
  ((call.params.reply_markup?.inline_keyboard ?? []) as Button[][]).flat();
