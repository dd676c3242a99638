-- Up Migration

-- Listing a user's deals newest first; created_at never changes, so this index costs the deal's
-- transitions nothing (their updates stay HOT).
CREATE INDEX deals_created_idx ON deals (created_at DESC, id DESC);

-- Down Migration
DROP INDEX deals_created_idx;
