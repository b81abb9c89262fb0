-- Nothing to add on SQLite: each feed row is stamped at insert, and its one writer at a time commits
-- rows in id order. Only a write transaction held open for the ten minutes the feed is kept could
-- commit a row old enough to prune at once, and it would have stopped every other write meanwhile.
SELECT 1;
