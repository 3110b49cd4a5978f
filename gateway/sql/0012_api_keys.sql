-- The ministries' systems' API keys (« Clés d'API », gateway/staff/api_keys.py). A
-- key is « milie_<id>_<secret> »: the id is looked up (not secret: lists and logs show it),
-- the secret (32 random bytes) is kept only as its SHA-256 — a random secret of that size needs
-- no slow hash, nobody can guess it from its digest.
CREATE TABLE api_keys (
    id               text PRIMARY KEY,
    body_id          text NOT NULL,
    label            text NOT NULL,
    secret_hash      bytea NOT NULL,
    calls_per_minute integer NOT NULL CHECK (calls_per_minute BETWEEN 1 AND 1000000),
    created_at       timestamptz NOT NULL DEFAULT now(),
    created_by       text NOT NULL,
    revoked_at       timestamptz,
    revoked_by       text
);
CREATE INDEX api_keys_created ON api_keys (created_at DESC);

-- The rate limit: calls of each key in the current minute, shared by every copy of the gateway.
-- Unlogged: a call's count is written without waiting for a disk flush (as seen_calls), and a
-- crash only forgets the minute's counts.
CREATE UNLOGGED TABLE api_key_windows (
    key_id       text PRIMARY KEY,
    window_start timestamptz NOT NULL,
    calls        integer NOT NULL
);

-- Every call to the ministry API, accepted or refused: which key (and so which body), what was
-- asked, on which request, with what answer, from where. The last call of a key is read here.
CREATE TABLE api_calls (
    id           bigserial PRIMARY KEY,
    at           timestamptz NOT NULL DEFAULT now(),
    key_id       text,
    body_id      text,
    method       text NOT NULL,
    operation    text NOT NULL,
    request_code text,
    status       integer NOT NULL,
    address      text NOT NULL DEFAULT ''
);
CREATE INDEX api_calls_key ON api_calls (key_id, at DESC);
CREATE INDEX api_calls_at ON api_calls (at DESC, id DESC);
