-- Up Migration

-- The payments worker maps a transfer's recipient to its deal itself (never trusting a callback), by the
-- lower-cased address the chain reports.
CREATE UNIQUE INDEX deposit_addresses_lower_idx ON deposit_addresses (lower(address));

-- Money sent to an address no deal owns is recorded without a deal and waits for an operator.
CREATE INDEX payments_unattributed_idx ON payments (id) WHERE deal_id IS NULL;

-- Down Migration
DROP INDEX payments_unattributed_idx;
DROP INDEX deposit_addresses_lower_idx;
