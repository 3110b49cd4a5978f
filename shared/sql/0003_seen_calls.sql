-- The one-time ids of the signed calls this service accepted (shared.signing): a replayed call,
-- to this copy or another one, finds its nonce here. Rows go once the call has expired.
CREATE TABLE seen_calls (
    nonce      text PRIMARY KEY,
    expires_at timestamptz NOT NULL
);
CREATE INDEX seen_calls_expiry ON seen_calls (expires_at);
