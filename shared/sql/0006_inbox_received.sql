-- The inbox keeps a message's id a month (shared/inbox.py, MILIE_INBOX_KEPT_DAYS), then the
-- service's clock removes it in batches: this index finds the oldest ids without reading the table.
-- Building it holds the inbox's writes (so the consumer) for as long as it takes: where the inbox
-- already holds tens of millions of ids, build it first by hand, CREATE INDEX CONCURRENTLY with
-- the same name in each service's schema, and this migration finds it there.
CREATE INDEX IF NOT EXISTS inbox_received ON inbox (received_at);
