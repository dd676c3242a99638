import { type AssistConfig, assistConfigSchema, loadConfig } from '@amanat/core';
import { connectRedis, createLogger, createRedis, onShutdown, startupOrExit } from '@amanat/platform';
import type { Redis } from 'ioredis';
import { createBot } from './bot/index.ts';
import { assistantFromConfig } from './llm/ask.ts';
import { type AssistBot, createAssistServer } from './server.ts';

const config: AssistConfig = startupOrExit(() => loadConfig('assist', assistConfigSchema, process.env));
const logger = createLogger('assist', config.LOG_LEVEL);

const connect = (name: string): Promise<Redis> =>
  connectRedis(createRedis(config.REDIS_URL, 'producer', name, { autoPipelining: name === 'assist' })).catch(
    (err: Error) => {
      logger.fatal(
        { err: { message: err.message } },
        'Redis does not answer at REDIS_URL; start it or fix the URL',
      );
      process.exit(1);
    },
  );
// Fail-fast connections: a request during a Redis outage gets a 503 at once instead of waiting. The
// subscriber has a connection of its own, since a subscribed connection can run nothing else.
const redis = await connect('assist');
const subscriber = await connect('assist-pubsub');

const { assistant } = assistantFromConfig(config, { redis, subscriber, logger });

let bot: AssistBot | null = null;
if (!config.TELEGRAM_BOT_TOKEN) {
  logger.info(
    { bot: 'off' },
    'telegram bot is off: TELEGRAM_BOT_TOKEN is not set (the LLM proxy still runs)',
  );
} else {
  bot = createBot({ config, logger, redis, ask: assistant.ask });
}

const assist = createAssistServer({ config, logger, redis, subscriber, assistant, bot });
const server = assist.app.listen(config.ASSIST_PORT, config.ASSIST_HOST, () => {
  logger.info(
    {
      host: config.ASSIST_HOST,
      port: config.ASSIST_PORT,
      bot: bot ? (config.TELEGRAM_WEBHOOK_URL ? 'webhook' : 'long polling') : 'off',
    },
    'assist listening',
  );
});
assist.attach(server);

// The bot retries Telegram with backoff on its own; it never holds up or takes down the proxy.
if (bot) {
  const started = bot;
  started.start().catch((err: unknown) => logger.error({ err }, 'telegram bot failed to start'));
}

onShutdown(logger, [
  // Stop taking updates first, then let answers in flight finish for a while, then close connections.
  ['bot', async () => bot?.stop()],
  ['http', () => assist.close(10_000)],
  ['assistant', () => assistant.close()],
  ['redis', () => Promise.all([subscriber.quit(), redis.quit()])],
]);
