import type { IncomingMessage, ServerResponse } from 'node:http';
import { type AssistConfig, BOT_TEXT, type Locale, localeOf } from '@amanat/core';
import type { Logger } from '@amanat/platform';
import type { Redis } from 'ioredis';
import { Telegraf, TelegramError } from 'telegraf';
import type { Update } from 'telegraf/types';
import { createApiClient } from './api-client.ts';
import { appLinks } from './app-links.ts';
import { createDispatcher, type IncomingUpdate } from './dispatcher.ts';
import { type Ask, installHandlers } from './handlers.ts';
import { createBotMemory } from './memory.ts';
import { createWebhookHandler } from './webhook.ts';

export type { Ask } from './handlers.ts';

export type BotState = 'off' | 'starting' | 'running' | 'retrying';

export interface Bot {
  /** Connects to Telegram once and returns; when that fails it keeps retrying in the background. */
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Set in webhook mode: takes one update POSTed by Telegram (checks the secret token header itself). */
  webhookHandler: ((req: IncomingMessage, res: ServerResponse) => void) | null;
  state(): BotState;
}

export interface BotDeps {
  config: AssistConfig;
  logger: Logger;
  redis: Redis;
  ask: Ask;
  /** How reconnecting paces itself (tests shorten it). */
  retry?: { baseMs: number; maxMs: number };
  /** Updates handled at once, overall and per user (tests lower them). */
  limits?: { maxInFlight?: number; maxPerUser?: number };
}

/**
 * Updates the bot handles; everything else Telegram would send is noise. `my_chat_member` tells it that
 * a user unblocked it, so they can be marked reachable again.
 */
const ALLOWED_UPDATES = ['message', 'callback_query', 'my_chat_member'] as const;
const POLL_TIMEOUT_SEC = 50;
/** A Bot API call other than the long poll that takes longer than this counts as Telegram being down. */
const CALL_TIMEOUT_MS = 15_000;
const DRAIN_MS = 10_000;

const commandsIn = (locale: Locale) =>
  (['start', 'deals', 'lang', 'help'] as const).map((command) => ({
    command,
    description: BOT_TEXT.commands[command][locale],
  }));

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });

/** What went wrong talking to Telegram, without the token (telegraf's errors never carry it). */
const describe = (err: unknown) =>
  err instanceof TelegramError
    ? { code: err.code, description: err.description }
    : { message: (err as Error)?.message ?? String(err) };

/**
 * The Telegram bot. Without TELEGRAM_BOT_TOKEN it is off and says why. Otherwise it polls for updates
 * (no TELEGRAM_WEBHOOK_URL) or registers its webhook; when Telegram cannot be reached it logs that and
 * retries with capped exponential backoff, never throwing out of start() and never taking the process
 * down, so the assistant and the rest of the service keep running.
 */
export function createBot(deps: BotDeps): Bot {
  const { config, logger } = deps;
  const log = logger.child({ component: 'bot' });
  const token = config.TELEGRAM_BOT_TOKEN;
  if (!token) {
    return {
      async start() {
        log.info('the Telegram bot is off: TELEGRAM_BOT_TOKEN is not set');
      },
      async stop() {},
      webhookHandler: null,
      state: () => 'off',
    };
  }

  const retry = deps.retry ?? { baseMs: 1000, maxMs: 60_000 };
  const botId = Number(token.split(':')[0]);
  const links = appLinks(config.APP_ORIGIN);
  const memory = createBotMemory(deps.redis, config.REDIS_PREFIX, log);
  const telegraf = new Telegraf(token, {
    // Answers go out as their own requests: a reply folded into the webhook response can fail unseen.
    telegram: { apiRoot: config.TELEGRAM_API_ROOT, webhookReply: false },
    handlerTimeout: 120_000,
  });
  telegraf.catch((err, ctx) => {
    log.error({ err, updateId: ctx.update.update_id }, 'bot handler failed');
  });
  installHandlers(telegraf, {
    api: createApiClient({ baseUrl: config.API_URL, serviceSecret: config.ASSIST_SERVICE_SECRET }),
    memory,
    ask: deps.ask,
    links,
    logger: log,
  });

  /** Answers an update turned away while the user's earlier ones are still being handled. */
  async function askToWait(update: IncomingUpdate, firstInBurst: boolean) {
    const full = update as Update;
    const from =
      'message' in full ? full.message.from : 'callback_query' in full ? full.callback_query.from : null;
    if (!from) return;
    const locale = (await memory.knownUser(from.id))?.language ?? localeOf(from.language_code);
    const text = BOT_TEXT.stillAnswering[locale];
    // A pressed button spins until answered, so each press gets its (silent to the chat) answer.
    if ('callback_query' in full) {
      await telegraf.telegram.answerCbQuery(full.callback_query.id, text);
    } else if (firstInBurst && 'message' in full && full.message.chat.type === 'private') {
      await telegraf.telegram.sendMessage(full.message.chat.id, text);
    }
  }

  const dispatcher = createDispatcher(
    async (update) => {
      if (!(await memory.firstDelivery(botId, update.update_id))) return;
      await telegraf.handleUpdate(update as Update);
    },
    log,
    {
      ...deps.limits,
      onOverflow: (update, firstInBurst) => {
        askToWait(update, firstInBurst).catch((err) => {
          log.warn({ telegram: describe(err) }, 'could not ask a user to wait');
        });
      },
    },
  );

  const webhookUrl =
    config.TELEGRAM_WEBHOOK_URL && config.TELEGRAM_WEBHOOK_PATH
      ? `${config.TELEGRAM_WEBHOOK_URL}/telegram/${config.TELEGRAM_WEBHOOK_PATH}`
      : null;
  const webhookSecret = config.TELEGRAM_WEBHOOK_SECRET;

  let state: BotState = 'off';
  let stopping = false;
  let stopper = new AbortController();
  let loop: Promise<void> | null = null;
  let chatConfigured = false;
  let offset = 0;
  /** Failed attempts in a row; only a working poll (or a registered webhook) resets it. */
  let failures = 0;

  const call = (
    method: string,
    payload: Record<string, unknown>,
    timeoutMs = CALL_TIMEOUT_MS,
  ): Promise<unknown> =>
    telegraf.telegram.callApi(method as never, payload as never, {
      signal: AbortSignal.any([stopper.signal, AbortSignal.timeout(timeoutMs)]) as never,
    });

  /** Commands and the menu button are conveniences: failing to set them does not stop the bot. */
  async function configureChat() {
    try {
      await call('setMyCommands', { commands: commandsIn('en') });
      await call('setMyCommands', { commands: commandsIn('ru'), language_code: 'ru' });
      if (links.miniApp) {
        await call('setChatMenuButton', {
          menu_button: { type: 'web_app', text: 'Amanat', web_app: { url: links.home } },
        });
      }
      chatConfigured = true;
    } catch (err) {
      log.warn({ telegram: describe(err) }, 'could not set the bot commands or menu button; will try again');
    }
  }

  async function connect() {
    telegraf.botInfo = (await call('getMe', {})) as Telegraf['botInfo'];
    if (webhookUrl) {
      await call('setWebhook', {
        url: webhookUrl,
        secret_token: webhookSecret,
        allowed_updates: ALLOWED_UPDATES,
      });
    } else {
      // A webhook left from another deployment would make getUpdates fail with 409.
      await call('deleteWebhook', { drop_pending_updates: false });
    }
    if (!chatConfigured) await configureChat();
  }

  async function poll() {
    while (!stopping) {
      await dispatcher.capacity(stopper.signal);
      if (stopping) return;
      const updates = (await call(
        'getUpdates',
        { timeout: POLL_TIMEOUT_SEC, offset, allowed_updates: ALLOWED_UPDATES },
        (POLL_TIMEOUT_SEC + 15) * 1000,
      )) as IncomingUpdate[];
      state = 'running';
      failures = 0;
      for (const update of updates) {
        offset = Math.max(offset, update.update_id + 1);
        dispatcher.dispatch(update);
      }
    }
  }

  async function run(firstAttempt: () => void) {
    while (!stopping) {
      try {
        await connect();
        state = 'running';
        log.info(
          { username: telegraf.botInfo?.username, mode: webhookUrl ? 'webhook' : 'polling' },
          'bot connected',
        );
        firstAttempt();
        if (webhookUrl) {
          failures = 0;
          return;
        }
        await poll();
      } catch (err) {
        if (stopping) return;
        state = 'retrying';
        firstAttempt();
        const backoff = Math.min(retry.maxMs, retry.baseMs * 2 ** Math.min(failures, 30));
        const retryAfterMs =
          err instanceof TelegramError && err.parameters?.retry_after ? err.parameters.retry_after * 1000 : 0;
        // Jitter, so replicas that lost Telegram together do not come back in step.
        const delay = Math.max(retryAfterMs, Math.round(backoff * (0.5 + Math.random() / 2)));
        failures += 1;
        // A rejected token will not heal by itself: an operator has to look.
        const level =
          err instanceof TelegramError && (err.code === 401 || err.code === 404) ? 'error' : 'warn';
        log[level](
          { telegram: describe(err), retryInMs: delay, failures },
          'cannot reach Telegram; retrying',
        );
        await sleep(delay, stopper.signal);
      }
    }
  }

  const webhookHandler = webhookUrl
    ? createWebhookHandler({
        secret: webhookSecret as string,
        logger: log,
        accepting: () => !stopping,
        full: () => dispatcher.full(),
        dispatch: (update) => dispatcher.dispatch(update),
      })
    : null;

  return {
    webhookHandler,
    state: () => state,
    async start() {
      if (loop) return;
      stopping = false;
      stopper = new AbortController();
      state = 'starting';
      await new Promise<void>((resolve) => {
        loop = run(resolve)
          .catch((err) => {
            // run() catches everything itself; this is the last line so nothing escapes as a rejection.
            log.error({ err }, 'bot loop ended unexpectedly');
          })
          // stop() during the first attempt ends the loop before it reported anything.
          .finally(resolve);
      });
    },
    async stop() {
      stopping = true;
      stopper.abort();
      await loop;
      loop = null;
      await dispatcher.drain(DRAIN_MS);
      // Confirms the updates handled so far, so the next start does not get them again.
      if (!webhookUrl && offset > 0) {
        await telegraf.telegram
          .callApi(
            'getUpdates',
            { offset, limit: 1, timeout: 0 },
            { signal: AbortSignal.timeout(3000) as never },
          )
          .catch(() => {});
      }
      state = 'off';
    },
  };
}
