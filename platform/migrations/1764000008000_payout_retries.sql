-- Up Migration

-- An operator's retry of a failed payout record retires its attempts: a reverted transaction, or one
-- whose nonce another transaction used, can never pay it any more. The record goes back to pending and
-- is signed afresh under a new nonce; retired attempts stay for the record (and a reverted one's gas
-- for the ledger), but sendOnce no longer looks at them.
ALTER TABLE payout_attempts ADD COLUMN retired_at timestamptz;

-- Failed records are what the review list and the retry look up per deal.
CREATE INDEX payout_legs_failed_idx ON payout_legs (deal_id) WHERE status = 'failed';
CREATE INDEX gas_topups_failed_idx ON gas_topups (deal_id) WHERE status = 'failed';

-- Down Migration
DROP INDEX gas_topups_failed_idx;
DROP INDEX payout_legs_failed_idx;
ALTER TABLE payout_attempts DROP COLUMN retired_at;
