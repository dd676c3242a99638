import { type AssetRegistry, QUEUES, redisKeys, type WorkersConfig } from '@amanat/core';
import type { Pool } from '@amanat/platform';
import { Worker, type WorkerOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { Telegram } from 'telegraf';
import { checkHandlers, dispatch } from '../handlers.ts';
import { ChatThrottle } from './chat-throttle.ts';
import { createNotificationHandlers } from './deliver.ts';
import { createReviewAlertHandlers } from './review-alert.ts';

/** Enough sends in flight to reach Telegram's ~30 messages per second when each call takes a while. */
const DEFAULT_CONCURRENCY = 32;

/**
 * Delivery rows only have to outlive every way a job can come back (completed jobs are kept 7 days, an
 * outbox replay covers recent rows), so a month is ample.
 */
const KEEP_DELIVERIES_DAYS = 30;
const PRUNE_EVERY_MS = 3600_000;

export interface NotificationsWorkerDeps {
  pool: Pool;
  registry: AssetRegistry;
  config: Pick<
    WorkersConfig,
    | 'TELEGRAM_BOT_TOKEN'
    | 'TELEGRAM_API_ROOT'
    | 'APP_ORIGIN'
    | 'NOTIFY_RATE_PER_SEC'
    | 'NOTIFY_CHAT_INTERVAL_MS'
  > &
    // Absent or empty: review alerts go to nobody.
    Partial<Pick<WorkersConfig, 'OPERATOR_TELEGRAM_IDS'>>;
  logger: Logger;
  /** The worker's Redis connection (maxRetriesPerRequest: null). */
  connection: Redis;
  /** A producer connection for the per-chat throttle; the worker connection when absent. */
  producer?: Redis;
  /** REDIS_PREFIX. */
  prefix: string;
  /** Shared worker settings (lock duration, stalled interval); connection and prefix come from above. */
  workerOptions?: Partial<WorkerOptions>;
  concurrency?: number;
}

/**
 * Starts the `notifications` worker: each deal event becomes one Telegram message per party, and each
 * review a deal change raises one alert per operator (OPERATOR_TELEGRAM_IDS). Without a
 * bot token it still runs and completes every job as skipped ('bot_off'), so the queue never piles up
 * and turning the bot on later does not flood people with old news.
 */
export function startNotificationsWorker(deps: NotificationsWorkerDeps): {
  worker: Worker;
  close(): Promise<void>;
} {
  const { config, logger } = deps;
  const token = config.TELEGRAM_BOT_TOKEN;
  const telegram = token ? new Telegram(token, { apiRoot: config.TELEGRAM_API_ROOT }) : null;
  if (!telegram) {
    logger.info(
      'Telegram notifications are off: TELEGRAM_BOT_TOKEN is not set (the app still gets every event)',
    );
  }
  const webAppOrigin = config.APP_ORIGIN?.startsWith('https://') ? config.APP_ORIGIN : null;
  if (telegram && !webAppOrigin) {
    logger.info(
      { appOrigin: config.APP_ORIGIN },
      'APP_ORIGIN is not https: Telegram opens only https Mini Apps, so notifications go without the "open deal" button',
    );
  }
  const throttle = new ChatThrottle({
    redis: deps.producer ?? deps.connection,
    prefix: deps.prefix,
    intervalMs: config.NOTIFY_CHAT_INTERVAL_MS,
  });
  const operatorChatIds = [...(config.OPERATOR_TELEGRAM_IDS ?? [])];
  if (operatorChatIds.length === 0) {
    logger.info('OPERATOR_TELEGRAM_IDS is empty: no operator is alerted when a deal needs review');
  }
  const handlers = {
    ...createNotificationHandlers({
      pool: deps.pool,
      registry: deps.registry,
      telegram,
      throttle,
      webAppOrigin,
      logger,
    }),
    ...createReviewAlertHandlers({
      pool: deps.pool,
      telegram,
      throttle,
      operatorChatIds,
      webAppOrigin,
      logger,
    }),
  };
  checkHandlers('notifications', handlers);

  const rate = config.NOTIFY_RATE_PER_SEC;
  const worker = new Worker(QUEUES.notifications, dispatch(handlers), {
    ...deps.workerOptions,
    connection: deps.connection,
    prefix: redisKeys(deps.prefix).bullPrefix,
    concurrency: deps.concurrency ?? DEFAULT_CONCURRENCY,
    // Telegram's bot-wide limit; the per-chat one is the throttle's.
    ...(telegram && rate > 0 ? { limiter: { max: rate, duration: 1000 } } : {}),
  });
  worker.on('error', (err) => logger.warn({ err }, 'notifications worker error'));
  // Every process prunes; the delete is idempotent, so several doing it costs only a cheap index scan.
  const prune = setInterval(() => {
    for (const table of ['notification_deliveries', 'operator_alerts']) {
      deps.pool
        .query(`DELETE FROM ${table} WHERE recorded_at < now() - make_interval(days => $1)`, [
          KEEP_DELIVERIES_DAYS,
        ])
        .catch((err) => logger.warn({ err, table }, 'could not prune old notification records'));
    }
  }, PRUNE_EVERY_MS);
  prune.unref();
  return {
    worker,
    close: async () => {
      clearInterval(prune);
      await worker.close();
    },
  };
}
