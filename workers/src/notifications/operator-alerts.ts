import type { ReviewAlertJob } from '@amanat/core';
import type { Queryable } from '@amanat/platform';
import { z } from 'zod';

export type OperatorSkipReason = 'unreachable' | 'bot_off';

export interface AlertedOperator {
  chatId: bigint;
  /** The operator's own language when they have a users row (they used the app or the bot); else null. */
  language: string | null;
  /** A row for this (deal, entry, chat) exists: this operator was handled by an earlier run. */
  handled: boolean;
}

export interface ReviewAlertContext {
  deal: { id: string; title: string } | null;
  /** The activity entry that raised the review; null when the deal has no such entry. */
  entry: { stateAfter: string | null; reasons: string[] } | null;
  /** Every configured operator, in configuration order. */
  operators: AlertedOperator[];
}

const operatorsSchema = z.array(
  z.object({ chat_id: z.string().regex(/^\d+$/), language: z.string().nullable(), handled: z.boolean() }),
);

/** The facts of an entry that raised a review: the reasons it added, as stored. */
const reviewFactsSchema = z.object({ reviewReasons: z.array(z.string()).optional() });

/**
 * The deal, the entry that raised the review, and each operator (their language, whether they were
 * alerted already), in one query.
 */
export async function loadReviewAlertContext(
  db: Queryable,
  job: ReviewAlertJob,
  operatorChatIds: readonly bigint[],
): Promise<ReviewAlertContext> {
  const { rows } = await db.query({
    name: 'review-alert-context',
    text: `SELECT d.id AS deal_id, d.title, a.seq AS entry_seq, a.state_after, a.facts,
        (SELECT coalesce(json_agg(json_build_object(
            'chat_id', o.chat_id::text, 'language', u.language, 'handled', oa.chat_id IS NOT NULL)
            ORDER BY o.ord), '[]'::json)
         FROM unnest($3::bigint[]) WITH ORDINALITY AS o (chat_id, ord)
         LEFT JOIN users u ON u.telegram_id = o.chat_id
         LEFT JOIN operator_alerts oa ON oa.deal_id = $1 AND oa.seq = $2 AND oa.chat_id = o.chat_id
        ) AS operators
      FROM (SELECT 1) one
      LEFT JOIN deals d ON d.id = $1
      LEFT JOIN activity_log a ON a.deal_id = $1 AND a.seq = $2`,
    values: [job.dealId, job.seq, operatorChatIds.map(String)],
  });
  const row = rows[0];
  const facts = reviewFactsSchema.safeParse(row.facts);
  return {
    deal: row.deal_id === null ? null : { id: row.deal_id, title: row.title },
    entry:
      row.entry_seq === null
        ? null
        : {
            stateAfter: row.state_after,
            reasons: facts.success ? (facts.data.reviewReasons ?? []) : [],
          },
    operators: operatorsSchema.parse(row.operators).map((o) => ({
      chatId: BigInt(o.chat_id),
      language: o.language,
      handled: o.handled,
    })),
  };
}

const INSERT = `INSERT INTO operator_alerts (deal_id, seq, chat_id, outcome, reason, telegram_message_id)
  VALUES ($1, $2, $3, $4, $5, $6)
  ON CONFLICT (deal_id, seq, chat_id) DO NOTHING`;

/** Records an alert Telegram accepted; false when a row was there already (another run sent it too). */
export async function recordAlertSent(
  db: Queryable,
  job: ReviewAlertJob,
  chatId: bigint,
  messageId: number,
): Promise<boolean> {
  const { rowCount } = await db.query({
    name: 'operator-alert-sent',
    text: INSERT,
    values: [job.dealId, job.seq, chatId.toString(), 'sent', null, messageId],
  });
  return rowCount === 1;
}

export async function recordAlertSkipped(
  db: Queryable,
  job: ReviewAlertJob,
  chatId: bigint,
  reason: OperatorSkipReason,
): Promise<void> {
  await db.query({
    name: 'operator-alert-skipped',
    text: INSERT,
    values: [job.dealId, job.seq, chatId.toString(), 'skipped', reason, null],
  });
}
