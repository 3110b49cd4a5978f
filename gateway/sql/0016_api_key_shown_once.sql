-- A key just made waits here for the one page that shows it (post/redirect/get): tied to the
-- administrator's session, deleted when that page reads it, when the session ends, or unread
-- after a few minutes. Never in an address or a cookie.
CREATE TABLE api_keys_to_show (
    session_hash bytea PRIMARY KEY REFERENCES staff_sessions (id_hash) ON DELETE CASCADE,
    key_id       text NOT NULL REFERENCES api_keys (id) ON DELETE CASCADE,
    whole_key    text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now()
);
