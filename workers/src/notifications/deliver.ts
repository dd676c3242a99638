import {
  type AssetRegistry,
  JOBS,
  localeOf,
  type NotificationJob,
  notificationJobSchema,
} from '@amanat/core';
import type { Pool } from '@amanat/platform';
import { type Job, UnrecoverableError } from 'bullmq';
import type { Logger } from 'pino';
import { type Telegram, TelegramError } from 'telegraf';
import type { JobHandler } from '../handlers.ts';
import type { ChatThrottle } from './chat-throttle.ts';
import {
  loadNotificationContext,
  recordSent,
  recordSkipped,
  recordUnreachable,
  type SkipReason,
} from './deliveries.ts';
import { renderNotification } from './render.ts';
import { isUnreachable, persistently, sendMessage, takeChatSlot, waitOutFloodControl } from './send.ts';

export type NotificationOutcome =
  | { outcome: 'sent'; chatId: number; messageId: number }
  | { outcome: 'skipped'; reason: SkipReason }
  /** Handled by an earlier run (a retry, a re-added job, a replayed outbox): nothing sent. */
  | { outcome: 'duplicate' };

export interface NotificationDeps {
  pool: Pool;
  registry: AssetRegistry;
  /** Null: no bot token, Telegram notifications are off. */
  telegram: Telegram | null;
  throttle: ChatThrottle;
  /** The app's HTTPS origin for the Mini App button; null sends no button. */
  webAppOrigin: string | null;
  logger: Logger;
}

/**
 * The `notifications` queue's handler: one Telegram message per (deal event, party).
 *
 * Idempotent through `notification_deliveries`: a job whose row exists completes without sending, and a
 * row is written for every outcome, so retries, restarts, re-added jobs and a replayed outbox never send
 * twice. Duplicates remain possible in one window only: Telegram accepted the message and the process
 * died (or lost its job lock by stalling) before it wrote the row. The Bot API has no idempotency key, so
 * nothing on our side can tell that the message went out; the job runs again and sends it a second time.
 */
export function createNotificationHandlers(deps: NotificationDeps): Record<string, JobHandler> {
  const { pool, registry, telegram, throttle, logger } = deps;

  async function handle(job: Job): Promise<NotificationOutcome> {
    const parsed = notificationJobSchema.safeParse(job.data);
    if (!parsed.success) throw new UnrecoverableError(`invalid notification job: ${parsed.error.message}`);
    const n: NotificationJob = parsed.data;

    const ctx = await loadNotificationContext(pool, n);
    if (ctx.handled) return { outcome: 'duplicate' };
    const { deal, role, recipient, entry } = ctx;
    if (!deal) throw new UnrecoverableError(`no deal ${n.dealId}`);
    // Deal events go to its parties only; anything else is a bug upstream, kept visible as a failed job.
    if (!role || !recipient) {
      throw new UnrecoverableError(`user ${n.recipientUserId} is not a party of deal ${n.dealId}`);
    }
    if (!entry) throw new UnrecoverableError(`deal ${n.dealId} has no activity entry ${n.seq}`);

    const skip = async (reason: SkipReason): Promise<NotificationOutcome> => {
      await recordSkipped(pool, n, reason);
      return { outcome: 'skipped', reason };
    };
    if (!telegram) return skip('bot_off');
    if (recipient.telegramId === null) return skip('no_telegram');
    if (!recipient.reachable) return skip('unreachable');
    // Telegram ids have at most 52 significant bits: exact as a number.
    const chatId = Number(recipient.telegramId);

    await takeChatSlot(job, throttle, chatId);
    const message = renderNotification({
      entry,
      deal,
      recipient: { userId: n.recipientUserId, role, locale: localeOf(recipient.language) },
      registry,
      webAppOrigin: deps.webAppOrigin,
    });

    let messageId: number;
    try {
      messageId = await sendMessage(telegram, chatId, message);
    } catch (err) {
      if (!(err instanceof TelegramError)) throw err; // network: retried with backoff
      if (err.code === 429) return waitOutFloodControl(job, throttle, chatId, err, logger);
      if (isUnreachable(err)) {
        await recordUnreachable(pool, n);
        logger.info(
          { userId: n.recipientUserId, code: err.code },
          'user cannot get bot messages; marked unreachable',
        );
        return { outcome: 'skipped', reason: 'unreachable' };
      }
      // The request itself is wrong: sending it again cannot help, so it fails at once, visible in bull-board.
      if (err.code === 400) throw new UnrecoverableError(`Telegram refused the message: ${err.description}`);
      throw err; // 5xx, 401, 409, …: retried with backoff
    }
    // The window: if the process dies here, Telegram has the message and we do not know it (see above).
    // A database hiccup must not widen it: a failed job would send again, so the record is retried here.
    if (!(await persistently(() => recordSent(pool, n, { chatId, messageId }), logger))) {
      logger.warn({ jobId: job.id }, 'notification sent by two runs of one job (a stalled run came back)');
    }
    return { outcome: 'sent', chatId, messageId };
  }

  return { [JOBS.notifications[0]]: handle };
}
