-- A reply to another channel's reply_to queue is worth a few attempts only: when that queue is
-- gone (the requester stopped waiting), the broker returns the message as unroutable and would
-- keep doing so forever. Such a row is given up after ``max_attempts`` unroutable publishes
-- (NULL: never, the default for domain events, where unroutable means a missing binding).
ALTER TABLE outbox ADD COLUMN max_attempts integer CHECK (max_attempts > 0);
ALTER TABLE outbox ADD COLUMN abandoned_at timestamptz;
DROP INDEX outbox_unsent;
CREATE INDEX outbox_unsent ON outbox (next_attempt_at, id)
    WHERE sent_at IS NULL AND abandoned_at IS NULL;
