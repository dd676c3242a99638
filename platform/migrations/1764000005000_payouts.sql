-- Up Migration

-- A payout leg goes pending → signed (the raw transaction and its hash stored before broadcast) →
-- broadcast → confirmed, or failed with a reason that needs an operator. Legs above the operator
-- approval threshold start in awaiting_approval.
ALTER TABLE payout_legs
  ADD CONSTRAINT payout_legs_status_check
    CHECK (status IN ('awaiting_approval', 'pending', 'signed', 'broadcast', 'confirmed', 'failed')),
  ADD COLUMN failure text,
  -- The transaction that paid it, once confirmed (a replacement may have paid, not the first attempt).
  ADD COLUMN tx_hash text,
  ADD COLUMN approved_by uuid REFERENCES users (id),
  ADD COLUMN approved_at timestamptz,
  ADD COLUMN updated_at timestamptz NOT NULL DEFAULT now(),
  ADD CONSTRAINT payout_legs_failed_has_reason CHECK ((status = 'failed') = (failure IS NOT NULL));
CREATE INDEX payout_legs_open_idx ON payout_legs (deal_id, cause) WHERE status NOT IN ('confirmed', 'failed');

-- Native coin the gas tank sends to a deposit address so that it can pay its token legs; its own
-- payout record, one per (deal, cause), sized for every leg of that cause.
CREATE TABLE gas_topups (
  id bigserial PRIMARY KEY,
  deal_id uuid NOT NULL REFERENCES deals (id),
  cause text NOT NULL,
  chain_id integer NOT NULL,
  address text NOT NULL,
  amount numeric(78, 0) NOT NULL CHECK (amount > 0),
  status text NOT NULL DEFAULT 'pending'
    CHECK (status IN ('pending', 'signed', 'broadcast', 'confirmed', 'failed')),
  failure text,
  tx_hash text,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (deal_id, cause),
  CHECK ((status = 'failed') = (failure IS NOT NULL))
);

-- Every signed transaction, written before it is broadcast. All attempts of one payout share one nonce:
-- a replacement (higher fee) reuses it, so at most one of them can ever be mined.
CREATE TABLE payout_attempts (
  id bigserial PRIMARY KEY,
  leg_id bigint REFERENCES payout_legs (id),
  topup_id bigint REFERENCES gas_topups (id),
  chain_id integer NOT NULL,
  from_address text NOT NULL,
  nonce numeric(78, 0) NOT NULL CHECK (nonce >= 0),
  tx_hash text NOT NULL UNIQUE,
  raw_tx text NOT NULL,
  gas_limit numeric(78, 0) NOT NULL,
  max_fee_per_gas numeric(78, 0) NOT NULL,
  max_priority_fee_per_gas numeric(78, 0) NOT NULL,
  status text NOT NULL DEFAULT 'signed' CHECK (status IN ('signed', 'broadcast', 'mined', 'replaced')),
  created_at timestamptz NOT NULL DEFAULT now(),
  CHECK ((leg_id IS NULL) <> (topup_id IS NULL))
);
CREATE INDEX payout_attempts_leg_idx ON payout_attempts (leg_id) WHERE leg_id IS NOT NULL;
CREATE INDEX payout_attempts_topup_idx ON payout_attempts (topup_id) WHERE topup_id IS NOT NULL;
-- One live transaction per sending address and nonce; replaced ones stay for the record.
CREATE UNIQUE INDEX payout_attempts_live_nonce_idx ON payout_attempts (chain_id, lower(from_address), nonce)
  WHERE status <> 'replaced';

-- The nonce manager: the next nonce of each address the signer sends from, advanced in the same
-- transaction that stores the signed transaction using it.
CREATE TABLE signer_nonces (
  chain_id integer NOT NULL,
  address text NOT NULL,
  next_nonce numeric(78, 0) NOT NULL CHECK (next_nonce >= 0),
  PRIMARY KEY (chain_id, address)
);

-- Down Migration
DROP TABLE signer_nonces;
DROP TABLE payout_attempts;
DROP TABLE gas_topups;
DROP INDEX payout_legs_open_idx;
ALTER TABLE payout_legs
  DROP CONSTRAINT payout_legs_failed_has_reason,
  DROP COLUMN updated_at,
  DROP COLUMN approved_at,
  DROP COLUMN approved_by,
  DROP COLUMN tx_hash,
  DROP COLUMN failure,
  DROP CONSTRAINT payout_legs_status_check;
