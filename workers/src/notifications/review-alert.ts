import { JOBS, localeOf, type ReviewAlertJob, reviewAlertJobSchema } from '@amanat/core';
import type { Pool } from '@amanat/platform';
import { type Job, UnrecoverableError } from 'bullmq';
import type { Logger } from 'pino';
import { type Telegram, TelegramError } from 'telegraf';
import type { JobHandler } from '../handlers.ts';
import type { ChatThrottle } from './chat-throttle.ts';
import {
  loadReviewAlertContext,
  type OperatorSkipReason,
  recordAlertSent,
  recordAlertSkipped,
} from './operator-alerts.ts';
import { renderReviewAlert } from './render.ts';
import { isUnreachable, persistently, sendMessage, takeChatSlot, waitOutFloodControl } from './send.ts';

export type OperatorAlertOutcome =
  | { chatId: string; outcome: 'sent'; messageId: number }
  | { chatId: string; outcome: 'skipped'; reason: OperatorSkipReason }
  /** Handled by an earlier run of the job (a retry, a re-added job, a replayed outbox): nothing sent. */
  | { chatId: string; outcome: 'duplicate' };

/** What one run did for each configured operator, in configuration order (empty: no operators). */
export interface ReviewAlertResult {
  operators: OperatorAlertOutcome[];
}

export interface ReviewAlertDeps {
  pool: Pool;
  /** Null: no bot token; every operator is recorded as skipped ('bot_off'). */
  telegram: Telegram | null;
  throttle: ChatThrottle;
  /** OPERATOR_TELEGRAM_IDS; empty: alerts go to nobody and the job completes. */
  operatorChatIds: readonly bigint[];
  /** The app's HTTPS origin for the review screen's button; null sends no button. */
  webAppOrigin: string | null;
  logger: Logger;
}

/**
 * The `review-alert` job: a deal was flagged for review or got a new reason, and every operator gets one
 * Telegram message about it, in their own language when they have a users row, else in English.
 *
 * Idempotent per operator through `operator_alerts`, keyed by (deal, activity entry, chat): each run skips
 * the operators already handled. One operator's failure does not hold the others back: the run goes on
 * to them, and then fails so that only the ones without a row are tried again. An operator who blocked
 * the bot is recorded and skipped (they are still tried on the next alert: an operator may unblock it).
 * The window after Telegram accepts a message and before its row is written is the same as for party
 * notifications (see deliver.ts).
 */
export function createReviewAlertHandlers(deps: ReviewAlertDeps): Record<string, JobHandler> {
  const { pool, telegram, throttle, logger } = deps;

  async function handle(job: Job): Promise<ReviewAlertResult> {
    const parsed = reviewAlertJobSchema.safeParse(job.data);
    if (!parsed.success) throw new UnrecoverableError(`invalid review alert job: ${parsed.error.message}`);
    const alert: ReviewAlertJob = parsed.data;
    if (deps.operatorChatIds.length === 0) return { operators: [] };

    const ctx = await loadReviewAlertContext(pool, alert, deps.operatorChatIds);
    if (!ctx.deal) throw new UnrecoverableError(`no deal ${alert.dealId}`);
    if (!ctx.entry) throw new UnrecoverableError(`deal ${alert.dealId} has no activity entry ${alert.seq}`);
    const { deal, entry } = ctx;

    const results: OperatorAlertOutcome[] = [];
    // Kept until every operator had their turn: a retry then repeats only the ones that failed.
    let retryable: unknown = null;
    const refused: string[] = [];
    for (const operator of ctx.operators) {
      const chat = operator.chatId.toString();
      if (operator.handled) {
        results.push({ chatId: chat, outcome: 'duplicate' });
        continue;
      }
      if (!telegram) {
        await recordAlertSkipped(pool, alert, operator.chatId, 'bot_off');
        results.push({ chatId: chat, outcome: 'skipped', reason: 'bot_off' });
        continue;
      }
      // Telegram ids have at most 52 significant bits: exact as a number.
      const chatId = Number(operator.chatId);
      await takeChatSlot(job, throttle, chatId);
      const message = renderReviewAlert({
        dealId: deal.id,
        title: deal.title,
        state: entry.stateAfter,
        reasons: entry.reasons,
        locale: localeOf(operator.language),
        webAppOrigin: deps.webAppOrigin,
      });

      let messageId: number;
      try {
        messageId = await sendMessage(telegram, chatId, message);
      } catch (err) {
        if (!(err instanceof TelegramError)) {
          retryable ??= err;
          continue;
        }
        // The whole job waits; operators reached so far have their rows and are skipped when it runs again.
        if (err.code === 429) return waitOutFloodControl(job, throttle, chatId, err, logger);
        if (isUnreachable(err)) {
          await recordAlertSkipped(pool, alert, operator.chatId, 'unreachable');
          logger.warn(
            { chatId: chat, code: err.code },
            'an operator cannot get bot messages (blocked the bot or never started it); review alert skipped',
          );
          results.push({ chatId: chat, outcome: 'skipped', reason: 'unreachable' });
          continue;
        }
        if (err.code === 400) refused.push(`${chat}: ${err.description}`);
        else retryable ??= err; // 5xx, 401, 409, …
        continue;
      }
      if (!(await persistently(() => recordAlertSent(pool, alert, operator.chatId, messageId), logger))) {
        logger.warn({ jobId: job.id }, 'review alert sent by two runs of one job (a stalled run came back)');
      }
      results.push({ chatId: chat, outcome: 'sent', messageId });
    }
    if (retryable) throw retryable;
    // Resending the same message cannot help: failed at once, visible in bull-board.
    if (refused.length > 0) {
      throw new UnrecoverableError(`Telegram refused the review alert: ${refused.join('; ')}`);
    }
    return { operators: results };
  }

  return { [JOBS.notifications[1]]: handle };
}
