-- Nothing to add on SQLite: its one writer at a time commits feed rows in id order, and stamps each
-- at insert, so pruning by age never races a reader there (src/store/revocations.ts, prune()).
SELECT 1;
