-- Up Migration

CREATE TABLE users (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  telegram_id bigint UNIQUE,
  username text,
  display_name text NOT NULL DEFAULT '',
  language text NOT NULL DEFAULT 'en',
  telegram_reachable boolean NOT NULL DEFAULT true,
  version integer NOT NULL DEFAULT 1,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);

-- Deposit address indexes come from a sequence: nextval is atomic across transactions and never hands
-- out the same value twice, even when the allocating transaction rolls back.
CREATE SEQUENCE deposit_index_seq AS bigint MINVALUE 0 START WITH 0;

CREATE TABLE deals (
  id uuid PRIMARY KEY,
  invite_code text NOT NULL UNIQUE,
  title text NOT NULL,
  description text NOT NULL DEFAULT '',
  state text NOT NULL CHECK (state IN ('draft', 'awaiting_payment', 'partially_paid', 'funded', 'delivered',
    'disputed', 'releasing', 'refunding', 'splitting', 'released', 'refunded', 'split', 'cancelled', 'expired')),
  needs_review boolean NOT NULL DEFAULT false,
  review_reasons text[] NOT NULL DEFAULT '{}',
  version integer NOT NULL DEFAULT 1 CHECK (version > 0),
  chain_id integer NOT NULL,
  token text NOT NULL,
  price numeric(78, 0) NOT NULL CHECK (price > 0),
  amount_due numeric(78, 0) NOT NULL CHECK (amount_due >= price),
  fee numeric(78, 0) NOT NULL CHECK (fee >= 0),
  seller_fee numeric(78, 0) NOT NULL CHECK (seller_fee >= 0),
  buyer_fee numeric(78, 0) NOT NULL CHECK (buyer_fee >= 0),
  fee_bps integer NOT NULL CHECK (fee_bps BETWEEN 0 AND 10000),
  fee_min numeric(78, 0) NOT NULL CHECK (fee_min >= 0),
  fee_payer text NOT NULL CHECK (fee_payer IN ('seller', 'split')),
  underpay_tolerance numeric(78, 0) NOT NULL DEFAULT 0 CHECK (underpay_tolerance >= 0),
  dust_threshold numeric(78, 0) NOT NULL DEFAULT 0 CHECK (dust_threshold >= 0),
  -- Periods are bounded to a year: a longer one is a mistake, not a deal.
  payment_window_sec integer NOT NULL CHECK (payment_window_sec BETWEEN 1 AND 31536000),
  delivery_period_sec integer NOT NULL CHECK (delivery_period_sec BETWEEN 1 AND 31536000),
  inspection_period_sec integer NOT NULL CHECK (inspection_period_sec BETWEEN 1 AND 31536000),
  payment_deadline timestamptz,
  delivery_deadline timestamptz,
  inspection_deadline timestamptz,
  funding text NOT NULL DEFAULT 'unpaid' CHECK (funding IN ('unpaid', 'partially_paid', 'funded', 'overpaid')),
  confirmed_amount numeric(78, 0) NOT NULL DEFAULT 0 CHECK (confirmed_amount >= 0),
  -- Included in the window but not yet at the confirmation count: the deal waits for it before expiring.
  confirming_amount numeric(78, 0) NOT NULL DEFAULT 0 CHECK (confirming_amount >= 0),
  -- When the deal stopped receiving money (left awaiting_payment / partially_paid / funded); money
  -- arriving after it is late and goes to review.
  closed_at timestamptz,
  created_by uuid NOT NULL REFERENCES users (id),
  -- Head of the deal's hash-chained activity log, kept on the row that every change locks anyway.
  log_seq integer NOT NULL DEFAULT 0,
  log_head text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
-- Every change rewrites the deal row. Few indexes, none on columns that change with each transition,
-- and free space on each page keep those updates HOT (no index writes), which is most of their cost.
ALTER TABLE deals SET (fillfactor = 80);
CREATE INDEX deals_review_idx ON deals (id) WHERE needs_review;

CREATE TABLE deal_parties (
  deal_id uuid NOT NULL REFERENCES deals (id),
  role text NOT NULL CHECK (role IN ('seller', 'buyer')),
  user_id uuid NOT NULL REFERENCES users (id),
  -- The seller's payout address or the buyer's refund address (EIP-55), frozen once funded.
  address text,
  joined_at timestamptz NOT NULL DEFAULT now(),
  accepted_at timestamptz,
  PRIMARY KEY (deal_id, role),
  UNIQUE (deal_id, user_id)
);
CREATE INDEX deal_parties_user_idx ON deal_parties (user_id, deal_id);

CREATE TABLE deposit_addresses (
  deal_id uuid PRIMARY KEY REFERENCES deals (id),
  derivation_index bigint NOT NULL UNIQUE CHECK (derivation_index >= 0),
  address text NOT NULL UNIQUE,
  allocated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE payments (
  id bigserial PRIMARY KEY,
  chain_id integer NOT NULL,
  tx_hash text NOT NULL,
  -- -1 for native transfers, never NULL, so the unique key holds for them too.
  log_index integer NOT NULL CHECK (log_index >= -1),
  deal_id uuid REFERENCES deals (id),
  token text NOT NULL,
  from_address text NOT NULL,
  to_address text NOT NULL,
  amount numeric(78, 0) NOT NULL CHECK (amount >= 0),
  block_number numeric(78, 0) NOT NULL,
  block_hash text NOT NULL,
  block_timestamp timestamptz NOT NULL,
  status text NOT NULL CHECK (status IN ('pending', 'confirmed', 'reorged')),
  classification text,
  recorded_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (chain_id, tx_hash, log_index)
);
CREATE INDEX payments_deal_idx ON payments (deal_id);

CREATE TABLE activity_log (
  deal_id uuid NOT NULL REFERENCES deals (id),
  seq integer NOT NULL CHECK (seq > 0),
  at timestamptz NOT NULL,
  actor jsonb NOT NULL,
  action text NOT NULL,
  state_before text,
  state_after text,
  facts jsonb NOT NULL,
  prev_hash text NOT NULL,
  hash text NOT NULL,
  PRIMARY KEY (deal_id, seq)
);

-- The log is append-only for everyone but a superuser who drops this trigger; the hash chain and the
-- signed checkpoints outside the database catch what a superuser could still do.
CREATE FUNCTION activity_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'activity_log is append-only' USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE TRIGGER activity_log_no_update BEFORE UPDATE OR DELETE ON activity_log
  FOR EACH ROW EXECUTE FUNCTION activity_log_append_only();
CREATE TRIGGER activity_log_no_truncate BEFORE TRUNCATE ON activity_log
  FOR EACH STATEMENT EXECUTE FUNCTION activity_log_append_only();

CREATE TABLE payout_legs (
  id bigserial PRIMARY KEY,
  deal_id uuid NOT NULL REFERENCES deals (id),
  -- The activity entry (seq) whose decision caused the payout; late funds can cause a second one.
  cause text NOT NULL,
  kind text NOT NULL CHECK (kind IN ('seller', 'fee', 'buyer_excess', 'buyer_refund', 'buyer_share')),
  chain_id integer NOT NULL,
  token text NOT NULL,
  -- NULL for the fee leg: the platform's fee address is configuration, read when it is paid.
  recipient text,
  amount numeric(78, 0) NOT NULL CHECK (amount > 0),
  status text NOT NULL DEFAULT 'pending',
  -- Only the fee leg goes to configuration; every other leg must name the address frozen in the deal.
  CHECK ((kind = 'fee') = (recipient IS NULL)),
  created_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (deal_id, cause, kind)
);

CREATE TABLE idempotency_keys (
  user_id uuid NOT NULL,
  route text NOT NULL,
  key text NOT NULL,
  request_hash text NOT NULL,
  status_code integer,
  response jsonb,
  created_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz NOT NULL,
  PRIMARY KEY (user_id, route, key)
);
CREATE INDEX idempotency_keys_expiry_idx ON idempotency_keys (expires_at);

-- Work that must follow a committed change (jobs, pub/sub events, mirror writes) is written here in the
-- same transaction; the relay delivers it, so a crash between commit and enqueue loses nothing.
CREATE TABLE outbox (
  id bigserial PRIMARY KEY,
  kind text NOT NULL CHECK (kind IN ('job', 'publish', 'deal_event')),
  target text NOT NULL,
  name text,
  job_id text,
  payload jsonb NOT NULL,
  -- For delayed jobs: when the job is due. The relay computes the delay at delivery, so a backlog or a
  -- replay after a Redis loss does not push the deadline back.
  run_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now(),
  delivered_at timestamptz,
  attempts integer NOT NULL DEFAULT 0,
  last_error text,
  CHECK (kind <> 'job' OR (name IS NOT NULL AND job_id IS NOT NULL))
);
CREATE INDEX outbox_pending_idx ON outbox (id) WHERE delivered_at IS NULL;

-- Down Migration
DROP TABLE outbox;
DROP TABLE idempotency_keys;
DROP TABLE payout_legs;
DROP TABLE activity_log;
DROP FUNCTION activity_log_append_only();
DROP TABLE payments;
DROP TABLE deposit_addresses;
DROP TABLE deal_parties;
DROP TABLE deals;
DROP SEQUENCE deposit_index_seq;
DROP TABLE users;
