-- Up Migration

-- What became of each operator's alert about a deal flagged for review: sent (with Telegram's message id)
-- or skipped, and why. Operators are Telegram ids from configuration and need not have a users row, so
-- the alert is keyed by chat, not by user as notification_deliveries is. The alert job reads these rows
-- before sending and skips the operators already handled, so a retry after one operator's failure, an
-- outbox replay or a re-added job never alerts the others twice. The same gap as for party notifications
-- remains: Telegram accepted a message and the process died before writing its row.
CREATE TABLE operator_alerts (
  deal_id uuid NOT NULL REFERENCES deals (id),
  -- The activity entry that raised the review.
  seq integer NOT NULL,
  chat_id bigint NOT NULL,
  outcome text NOT NULL CHECK (outcome IN ('sent', 'skipped')),
  -- unreachable: the operator blocked the bot or never started it; bot_off: no bot token was configured.
  reason text CHECK (reason IN ('unreachable', 'bot_off')),
  telegram_message_id bigint,
  recorded_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (deal_id, seq, chat_id),
  CHECK ((outcome = 'sent') = (telegram_message_id IS NOT NULL)),
  CHECK ((outcome = 'skipped') = (reason IS NOT NULL))
);

-- Old rows are pruned by age (see the notifications worker).
CREATE INDEX operator_alerts_recorded_idx ON operator_alerts (recorded_at);

-- Down Migration
DROP TABLE operator_alerts;
