-- The ministry API's « changes since a cursor » (services/treatment/changes.py). History ids
-- are taken before their transaction commits, so a poller that read up to id 11 could miss an
-- id 10 committed later. Each line keeps the transaction that wrote it: the feed is read in
-- (tx, id) order and only up to the oldest transaction still running, so a line that commits
-- later always comes after the cursor a poller was given.
ALTER TABLE history ADD COLUMN tx xid8 NOT NULL DEFAULT pg_current_xact_id();
CREATE INDEX history_changes ON history (tx, id);
