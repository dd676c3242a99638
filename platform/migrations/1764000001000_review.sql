-- Up Migration

-- Payouts an operator decides for stray funds (late, foreign-asset or denylisted payments): a refund to
-- an address the sender confirmed, or funds accepted into the deal and paid to the seller. Their legs
-- carry the payment's own chain and token, which for foreign funds are not the deal's.
ALTER TABLE payout_legs DROP CONSTRAINT payout_legs_kind_check;
ALTER TABLE payout_legs ADD CONSTRAINT payout_legs_kind_check CHECK (kind IN ('seller', 'fee', 'buyer_excess',
  'buyer_refund', 'buyer_share', 'stray_refund', 'stray_accept'));

-- One decision per stray payment, ever: the primary key makes a second decision impossible whatever the
-- code does. What was decided and why is in the deal's hash-chained activity log (entry `cause`); this
-- row is the lookup that says a payment is settled.
CREATE TABLE stray_fund_decisions (
  payment_id bigint PRIMARY KEY REFERENCES payments (id),
  deal_id uuid NOT NULL REFERENCES deals (id),
  -- The activity entry (seq) that recorded the decision; its payout leg has the same cause.
  cause text NOT NULL,
  decision text NOT NULL CHECK (decision IN ('refund', 'accept')),
  recipient text NOT NULL,
  -- The payment as it was when the decision was written, read in the same statement: a payment that
  -- was reorged or reclassified since the operator looked cannot be decided.
  payment_status text NOT NULL CONSTRAINT stray_fund_decisions_payment_confirmed
    CHECK (payment_status = 'confirmed'),
  payment_class text NOT NULL CONSTRAINT stray_fund_decisions_payment_stray
    CHECK (payment_class IN ('late', 'foreign', 'denylisted')),
  decided_by uuid NOT NULL REFERENCES users (id),
  decided_at timestamptz NOT NULL,
  UNIQUE (deal_id, cause)
);

-- Operators list the stray payments still waiting for a decision; few payments are ever stray.
CREATE INDEX payments_stray_idx ON payments (deal_id)
  WHERE classification IN ('late', 'foreign', 'denylisted');

-- Down Migration
DROP INDEX payments_stray_idx;
DROP TABLE stray_fund_decisions;
-- Fails while stray payout legs exist: they record money owed and are not dropped silently.
ALTER TABLE payout_legs DROP CONSTRAINT payout_legs_kind_check;
ALTER TABLE payout_legs ADD CONSTRAINT payout_legs_kind_check CHECK (kind IN ('seller', 'fee', 'buyer_excess',
  'buyer_refund', 'buyer_share'));
