-- Which transaction wrote each feed row, so pruning can tell a row every reader has had time to read
-- from one whose transaction committed a moment ago after staying open for longer than the feed is
-- kept (its `at` is the transaction's start): src/store/revocations.ts, prune().
ALTER TABLE revocations ADD COLUMN xid xid8 NOT NULL DEFAULT pg_current_xact_id();
