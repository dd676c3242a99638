import { type AssetRef, actorSchema, type NotificationJob } from '@amanat/core';
import type { Queryable } from '@amanat/platform';
import { z } from 'zod';
import type { NotifiedEntry } from './render.ts';

export type SkipReason = 'unreachable' | 'no_telegram' | 'bot_off';

/** What a message says about the deal besides the event itself. */
export interface NotifiedDeal {
  id: string;
  title: string;
  asset: AssetRef;
  amountDue: bigint;
  deadlines: { payment: Date | null; delivery: Date | null; inspection: Date | null };
}

export interface NotificationContext {
  /** A row for this (event, user, channel) exists: the notification was handled before. */
  handled: boolean;
  recipient: { telegramId: bigint | null; language: string; reachable: boolean } | null;
  deal: NotifiedDeal | null;
  /** The recipient's role in the deal; null when they are not a party. */
  role: 'seller' | 'buyer' | null;
  entry: NotifiedEntry | null;
}

const entrySchema = z.object({
  action: z.string().min(1),
  actor: actorSchema,
  state_before: z.string().nullable(),
  state_after: z.string().nullable(),
  facts: z.record(z.string(), z.unknown()),
});

/**
 * Everything one notification needs, in one query (the worker's cost per message is mostly round trips):
 * whether it was handled already, the recipient and their role in the deal, the deal, and the activity
 * entry the event reports.
 */
export async function loadNotificationContext(
  db: Queryable,
  job: NotificationJob,
): Promise<NotificationContext> {
  const { rows } = await db.query({
    name: 'notification-context',
    text: `SELECT
        EXISTS (SELECT 1 FROM notification_deliveries
                WHERE event_id = $1 AND user_id = $2 AND channel = $3) AS handled,
        u.id AS user_id, u.telegram_id, u.language, u.telegram_reachable,
        d.id AS deal_id, d.title, d.chain_id, d.token, d.amount_due::text,
        d.payment_deadline, d.delivery_deadline, d.inspection_deadline,
        p.role AS recipient_role,
        a.action, a.actor, a.state_before, a.state_after, a.facts
      FROM (SELECT 1) one
      LEFT JOIN users u ON u.id = $2
      LEFT JOIN deals d ON d.id = $4
      LEFT JOIN deal_parties p ON p.deal_id = $4 AND p.user_id = $2
      LEFT JOIN activity_log a ON a.deal_id = $4 AND a.seq = $5`,
    values: [job.eventId, job.recipientUserId, job.channel, job.dealId, job.seq],
  });
  const row = rows[0];
  const entry = row.action === null ? null : entrySchema.parse(row);
  return {
    handled: row.handled,
    recipient:
      row.user_id === null
        ? null
        : {
            telegramId: row.telegram_id === null ? null : BigInt(row.telegram_id),
            language: row.language,
            reachable: row.telegram_reachable,
          },
    deal:
      row.deal_id === null
        ? null
        : {
            id: row.deal_id,
            title: row.title,
            asset: { chainId: row.chain_id, token: row.token },
            amountDue: BigInt(row.amount_due),
            deadlines: {
              payment: row.payment_deadline,
              delivery: row.delivery_deadline,
              inspection: row.inspection_deadline,
            },
          },
    role: row.recipient_role,
    entry: entry && {
      action: entry.action,
      actor: entry.actor,
      stateBefore: entry.state_before,
      stateAfter: entry.state_after,
      facts: entry.facts as NotifiedEntry['facts'],
    },
  };
}

const INSERT = `INSERT INTO notification_deliveries
    (event_id, user_id, channel, deal_id, seq, outcome, reason, chat_id, telegram_message_id)
  VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
  ON CONFLICT (event_id, user_id, channel) DO NOTHING`;

const keyParams = (job: NotificationJob) => [
  job.eventId,
  job.recipientUserId,
  job.channel,
  job.dealId,
  job.seq,
];

/** Records a sent message; false when a row was there already (another run of the same job sent it too). */
export async function recordSent(
  db: Queryable,
  job: NotificationJob,
  sent: { chatId: number; messageId: number },
): Promise<boolean> {
  const { rowCount } = await db.query({
    name: 'notification-sent',
    text: INSERT,
    values: [...keyParams(job), 'sent', null, sent.chatId, sent.messageId],
  });
  return rowCount === 1;
}

export async function recordSkipped(db: Queryable, job: NotificationJob, reason: SkipReason): Promise<void> {
  await db.query({
    name: 'notification-skipped',
    text: INSERT,
    values: [...keyParams(job), 'skipped', reason, null, null],
  });
}

/**
 * The user cannot get messages from the bot (blocked it, deactivated, never started it): marked so that
 * later notifications skip them without a call, and this one recorded as skipped, in one statement. The
 * API marks them reachable again when they next use the bot.
 */
export async function recordUnreachable(db: Queryable, job: NotificationJob): Promise<void> {
  await db.query({
    name: 'notification-unreachable',
    text: `WITH unreachable AS (
        UPDATE users SET telegram_reachable = false, updated_at = now()
        WHERE id = $2 AND telegram_reachable
      )
      ${INSERT}`,
    values: [...keyParams(job), 'skipped', 'unreachable', null, null],
  });
}
