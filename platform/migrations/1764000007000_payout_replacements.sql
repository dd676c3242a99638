-- Up Migration

-- The chain's head when the node first accepted an attempt: a transaction still unmined
-- REPLACE_AFTER_BLOCKS later is replaced with a higher fee under the same nonce.
ALTER TABLE payout_attempts ADD COLUMN broadcast_block numeric(78, 0) CHECK (broadcast_block >= 0);

-- Besides the one top-up per (deal, cause) sized before sending, a signed transaction the node refused
-- for lack of funds (a replacement at a higher fee, or fees that rose since) gets its own top-up, once:
-- for_tx_hash names it. The cause's first top-up has none.
ALTER TABLE gas_topups
  ADD COLUMN for_tx_hash text,
  DROP CONSTRAINT gas_topups_deal_id_cause_key;
CREATE UNIQUE INDEX gas_topups_first_idx ON gas_topups (deal_id, cause) WHERE for_tx_hash IS NULL;
CREATE UNIQUE INDEX gas_topups_for_tx_idx ON gas_topups (for_tx_hash) WHERE for_tx_hash IS NOT NULL;

-- Down Migration
-- Refuses (the unique constraint cannot come back) once a deal has a second top-up: those are money
-- records, never deleted.
DROP INDEX gas_topups_for_tx_idx;
DROP INDEX gas_topups_first_idx;
ALTER TABLE gas_topups
  ADD CONSTRAINT gas_topups_deal_id_cause_key UNIQUE (deal_id, cause),
  DROP COLUMN for_tx_hash;
ALTER TABLE payout_attempts DROP COLUMN broadcast_block;
