-- Up Migration

-- What a mined payout transaction cost its sender (gas used × effective gas price), from its receipt:
-- the native coin a deposit address spent on gas is part of its ledger. NULL until measured (the
-- reconciliation job measures mined attempts that lack it).
ALTER TABLE payout_attempts
  ADD COLUMN gas_used numeric(78, 0) CHECK (gas_used >= 0),
  ADD COLUMN effective_gas_price numeric(78, 0) CHECK (effective_gas_price >= 0),
  ADD CONSTRAINT payout_attempts_gas_measured_together
    CHECK ((gas_used IS NULL) = (effective_gas_price IS NULL));

-- The last balance drift seen per deposit address and asset. A drift is flagged only when a later run
-- sees the same difference again (a payment the pipeline has not recorded yet is not drift), and then
-- once, not on every run. A row is removed once chain and ledger agree.
CREATE TABLE balance_drifts (
  deal_id uuid NOT NULL REFERENCES deals (id),
  chain_id integer NOT NULL,
  -- 'native' or the token's lower-cased contract address.
  token text NOT NULL,
  onchain numeric(78, 0) NOT NULL,
  ledger numeric(78, 0) NOT NULL,
  -- Whether the deal was flagged for this difference (false: seen once, waiting for the next run).
  flagged boolean NOT NULL DEFAULT false,
  reported_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (deal_id, chain_id, token)
);

-- Down Migration
DROP TABLE balance_drifts;
ALTER TABLE payout_attempts
  DROP CONSTRAINT payout_attempts_gas_measured_together,
  DROP COLUMN effective_gas_price,
  DROP COLUMN gas_used;
