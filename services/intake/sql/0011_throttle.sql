-- Attempt counters of the tracking look-ups and the code reminders, shared by every copy of
-- intake. A bucket's window opens at its first attempt and lasts the rule's length (no burst at
-- a clock boundary). Buckets are hashes ('lookup:email:<sha256>'), never the email itself.
-- UNLOGGED: a counter lost in a database crash only gives an attacker a fresh window, and it
-- saves a WAL write on every look-up.
CREATE UNLOGGED TABLE throttle_hits (
    bucket     text PRIMARY KEY,
    expires_at timestamptz NOT NULL,
    hits       integer NOT NULL
);
CREATE INDEX throttle_hits_expires ON throttle_hits (expires_at);
