-- The staff's second factor (TOTP, RFC 6238) and its single-use recovery codes (issue 14).
CREATE TABLE staff_second_factors (
    account_id   uuid PRIMARY KEY REFERENCES staff_accounts (id) ON DELETE CASCADE,
    -- Base32, as the agent's application holds it: the gateway must compute the same codes.
    secret       text NOT NULL,
    -- NULL while the agent has not yet typed a first code from the application (enrolment).
    enrolled_at  timestamptz,
    -- The last time step accepted: a code seen once is never accepted again (replay).
    last_step    bigint NOT NULL DEFAULT 0,
    created_at   timestamptz NOT NULL DEFAULT now()
);

-- Ten codes given once at enrolment; only their SHA-256 is kept, each used once.
CREATE TABLE staff_recovery_codes (
    account_id  uuid NOT NULL REFERENCES staff_accounts (id) ON DELETE CASCADE,
    code_hash   bytea NOT NULL,
    used_at     timestamptz,
    PRIMARY KEY (account_id, code_hash)
);

-- A session is opened by the password; it opens the back office only once the second factor
-- was given in it. Failed codes end it (the password, itself throttled, is asked again).
ALTER TABLE staff_sessions ADD COLUMN second_factor_at timestamptz;
ALTER TABLE staff_sessions ADD COLUMN second_factor_failures integer NOT NULL DEFAULT 0;
