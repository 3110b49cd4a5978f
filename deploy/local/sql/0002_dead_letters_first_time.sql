-- When the message was first dead-lettered (the timestamp of its dead-letter copy, else its first
-- collection), kept through replays and new failures: a replay is refused past the time the
-- services' inboxes keep a message's id (MILIE_INBOX_KEPT_DAYS), and a letter is removed past the
-- purge delay of personal data (MILIE_PURGE_AFTER_DAYS). The rows collected before it keep their
-- last collection, the best time known.
ALTER TABLE dead_letters ADD COLUMN first_dead_lettered_at timestamptz;
UPDATE dead_letters SET first_dead_lettered_at = collected_at;
ALTER TABLE dead_letters
    ALTER COLUMN first_dead_lettered_at SET NOT NULL,
    ALTER COLUMN first_dead_lettered_at SET DEFAULT now();
CREATE INDEX dead_letters_first_dead_lettered ON dead_letters (first_dead_lettered_at);
