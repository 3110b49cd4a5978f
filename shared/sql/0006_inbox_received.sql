-- The inbox keeps a message's id a month (shared/inbox.py, MILIE_INBOX_KEPT_DAYS), then the
-- service's clock removes it in batches: this index finds the oldest ids without reading the table.
CREATE INDEX IF NOT EXISTS inbox_received ON inbox (received_at);
