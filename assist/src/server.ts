import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AssistConfig } from '@amanat/core';
import type { Logger } from '@amanat/platform';
import express, { type ErrorRequestHandler, type Express } from 'express';
import type { Redis } from 'ioredis';
import type { Assistant } from './llm/ask.ts';
import { createSessionAuth, type SessionAuth } from './llm/auth.ts';
import { AssistantError, sendOpenAiError, toAssistantError } from './llm/errors.ts';
import { llmRoutes } from './llm/routes.ts';

export type BotState = 'off' | 'starting' | 'running' | 'retrying';

/** What the server needs of the Telegram bot (assist/src/bot). */
export interface AssistBot {
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Set in webhook mode: takes one update POSTed by Telegram. */
  webhookHandler: ((req: IncomingMessage, res: ServerResponse) => void) | null;
  state(): BotState;
}

export interface AssistServer {
  app: Express;
  /** Tracks connections on a listening server, so close() can end idle ones and, at the end, the rest. */
  attach(server: Server): void;
  /**
   * Stops taking work: waits up to `graceMs` for answers in flight, then closes every connection. The
   * Redis connections stay open (main.ts owns them).
   */
  close(graceMs?: number): Promise<void>;
}

/**
 * The assist service's HTTP side: the OpenAI-compatible LLM proxy, health, and (in webhook mode) the
 * Telegram webhook. main.ts owns the process; tests build as many of these as they like.
 */
export function createAssistServer(deps: {
  config: AssistConfig;
  logger: Logger;
  /** The fail-fast connection (queue, limits). */
  redis: Redis;
  /** The pub/sub connection the assistant listens on. */
  subscriber: Redis;
  assistant: Assistant;
  bot?: AssistBot | null;
  auth?: SessionAuth;
  keepAliveMs?: number;
}): AssistServer {
  const { config, logger, redis, subscriber, assistant } = deps;
  const bot = deps.bot ?? null;
  const auth = deps.auth ?? createSessionAuth({ apiUrl: config.API_URL });

  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);

  app.use((req, res, next) => {
    if (req.path === '/healthz' || req.path === '/readyz') return next();
    const started = Date.now();
    // Only what identifies the request: headers carry sessions, and paths may carry the webhook secret.
    res.on('finish', () => {
      const path = req.path.startsWith('/telegram/') ? '/telegram/…' : req.path.slice(0, 200);
      logger.debug({ method: req.method, path, status: res.statusCode, ms: Date.now() - started }, 'request');
    });
    next();
  });

  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  // The bot's state is reported, never counted: a bot that cannot reach Telegram must not take the
  // assistant (which the app uses) out of the load balancer.
  app.get('/readyz', async (_req, res) => {
    const ping = (r: Redis) =>
      Promise.race([
        r.ping(),
        new Promise((_, reject) => setTimeout(() => reject(new Error('timeout')), 2000).unref()),
      ]).then(
        () => 'ok' as const,
        () => 'failing' as const,
      );
    const [redisState, subscriberState] = await Promise.all([ping(redis), ping(subscriber)]);
    const ready = redisState === 'ok' && subscriberState === 'ok';
    res.status(ready ? 200 : 503).json({
      status: ready ? 'ready' : 'not_ready',
      checks: { redis: redisState, pubsub: subscriberState },
      bot: bot?.state() ?? 'off',
    });
  });

  // Only the configured secret path exists; the bot's handler checks X-Telegram-Bot-Api-Secret-Token.
  const webhook = bot?.webhookHandler;
  if (config.TELEGRAM_WEBHOOK_URL && config.TELEGRAM_WEBHOOK_PATH && webhook) {
    app.post(`/telegram/${config.TELEGRAM_WEBHOOK_PATH}`, (req, res) => webhook(req, res));
  }

  app.use(
    llmRoutes({ auth, assistant, logger, appOrigin: config.APP_ORIGIN, keepAliveMs: deps.keepAliveMs }),
  );

  app.use((req, res) => {
    sendOpenAiError(
      res,
      new AssistantError(404, 'unknown_url', `Unknown request URL: ${req.method} ${req.path.slice(0, 200)}.`),
    );
  });

  // Express's own handler would answer with an HTML page (a stack trace outside production).
  const onError: ErrorRequestHandler = (err, req, res, _next) => {
    logger.error({ err, method: req.method, path: req.path.slice(0, 200) }, 'request failed');
    sendOpenAiError(res, toAssistantError(err));
  };
  app.use(onError);

  let server: Server | undefined;
  return {
    app,
    attach(s) {
      server = s;
      // Browsers and SDKs keep connections open; between requests they must not hold a shutdown up.
      s.keepAliveTimeout = 65_000;
    },
    async close(graceMs = 10_000) {
      if (!server) return;
      const s = server;
      const closed = new Promise((resolve) => s.close(resolve));
      s.closeIdleConnections();
      await assistant.drain(graceMs);
      s.closeAllConnections();
      await closed;
    },
  };
}
