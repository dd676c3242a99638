// What every Telegram send of the notifications queue shares: the call's timeout, the per-chat slot a job
// waits for as a delayed job, how Telegram's errors are read, and recording a sent message through a
// database hiccup.
import { DelayedError, type Job } from 'bullmq';
import type { Logger } from 'pino';
import type { Telegram, TelegramError } from 'telegraf';
import { z } from 'zod';
import type { ChatThrottle } from './chat-throttle.ts';

/**
 * A Bot API call that hangs is given up (and retried) long before BullMQ would think the worker stalled.
 * A call that timed out may still have been delivered: that retry is a duplicate, the same window as a
 * crash after Telegram accepted the message.
 */
const SEND_TIMEOUT_MS = 30_000;

/** How long recording a sent message keeps trying through a database outage before giving up. */
const RECORD_RETRY_DELAYS_MS = [100, 250, 500, 1000, 2000, 4000, 8000];

/**
 * Records what was sent. A failed job would send again, so a database hiccup must not widen the window
 * between Telegram accepting a message and our record of it: the write is retried here first.
 */
export async function persistently<T>(write: () => Promise<T>, logger: Logger): Promise<T> {
  for (const delay of RECORD_RETRY_DELAYS_MS) {
    try {
      return await write();
    } catch (err) {
      logger.warn({ err, retryInMs: delay }, 'could not record a sent notification; retrying');
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  }
  return write();
}

/** A Bot API sendMessage body without the chat. */
export interface MessageBody {
  text: string;
  parse_mode: 'HTML';
  link_preview_options: { is_disabled: true };
  reply_markup?: { inline_keyboard: Array<Array<{ text: string; web_app: { url: string } }>> };
}

/** Sends one message; Telegram's refusals come back as TelegramError, everything else is a network fault. */
export async function sendMessage(telegram: Telegram, chatId: number, body: MessageBody): Promise<number> {
  const sent = await telegram.callApi(
    'sendMessage',
    { chat_id: chatId, ...body },
    // node-fetch takes the platform's AbortSignal; telegraf's typing names a polyfill's.
    { signal: AbortSignal.timeout(SEND_TIMEOUT_MS) as never },
  );
  return sent.message_id;
}

/**
 * The chat slot a delayed job reserved, kept in its data so the run it was delayed for sends without
 * reserving again. Tied to the attempt (a retry after a failure reserves afresh) and to the chat (a job
 * that sends to several chats holds the slot of the one it waited for).
 */
const heldSlotSchema = z.object({
  chatSlot: z.object({ at: z.number(), attempt: z.number().int(), chat: z.number().optional() }),
});

/** Waits for the chat's next slot as a delayed job (no attempt spent, no worker slot held) when it is not now. */
export async function takeChatSlot(
  job: Job,
  throttle: ChatThrottle,
  chatId: number,
  notBeforeMs = 0,
): Promise<void> {
  const held = heldSlotSchema.safeParse(job.data);
  if (
    notBeforeMs === 0 &&
    held.success &&
    held.data.chatSlot.attempt === job.attemptsMade &&
    (held.data.chatSlot.chat ?? chatId) === chatId
  ) {
    return;
  }
  const wait = await throttle.reserve(chatId, notBeforeMs);
  if (wait <= 0) return;
  const at = Date.now() + wait;
  await job.updateData({ ...job.data, chatSlot: { at, attempt: job.attemptsMade, chat: chatId } });
  await job.moveToDelayed(at, job.token);
  throw new DelayedError();
}

/**
 * Telegram's 429: the job waits `retry_after` as a delayed job, and the chat's next slot moves past it so
 * no other job for that chat goes first. Never returns normally.
 */
export async function waitOutFloodControl(
  job: Job,
  throttle: ChatThrottle,
  chatId: number,
  err: TelegramError,
  logger: Logger,
): Promise<never> {
  const retryAfterSec = err.parameters?.retry_after ?? 1;
  logger.info({ jobId: job.id, retryAfterSec }, 'Telegram asked to slow down; waiting');
  await takeChatSlot(job, throttle, chatId, retryAfterSec * 1000);
  throw err; // not reached: a wait after retry_after always delays the job
}

/** Telegram says the bot can never reach this chat: blocked, deactivated, or the user never started it. */
export const isUnreachable = (err: TelegramError): boolean =>
  err.code === 403 || (err.code === 400 && /chat not found/i.test(err.description));
