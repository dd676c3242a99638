-- Up Migration

-- What became of each notification: sent (with Telegram's message id) or skipped, and why. A notification
-- job reads its row before sending and completes without sending when it is there, so a retry, a restart,
-- an outbox replay or a Redis that lost its queue never sends a message twice. The one gap: Telegram
-- accepted a message and the process died before writing this row (the Bot API has no idempotency key).
CREATE TABLE notification_deliveries (
  event_id uuid NOT NULL,
  user_id uuid NOT NULL REFERENCES users (id),
  channel text NOT NULL CHECK (channel IN ('telegram')),
  deal_id uuid NOT NULL REFERENCES deals (id),
  -- The activity entry the event reported.
  seq integer NOT NULL,
  outcome text NOT NULL CHECK (outcome IN ('sent', 'skipped')),
  -- unreachable: blocked the bot, deactivated, or never started it; no_telegram: no Telegram account;
  -- bot_off: no bot token was configured when the event was handled.
  reason text CHECK (reason IN ('unreachable', 'no_telegram', 'bot_off')),
  chat_id bigint,
  telegram_message_id bigint,
  recorded_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (event_id, user_id, channel),
  CHECK ((outcome = 'sent') = (telegram_message_id IS NOT NULL AND chat_id IS NOT NULL)),
  CHECK ((outcome = 'skipped') = (reason IS NOT NULL))
);

-- Old rows are pruned by age (see the notifications worker).
CREATE INDEX notification_deliveries_recorded_idx ON notification_deliveries (recorded_at);

-- Down Migration
DROP TABLE notification_deliveries;
