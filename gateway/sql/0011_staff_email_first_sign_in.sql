-- Issue 13: staff accounts get an email address, choose their password through a first sign-in
-- link, and notify keeps a directory of them (staff_recipients) that the gateway pushes to.

-- The address the agent's links, alerts and reminders go to. Accounts made before this have
-- none until an administrator gives one; a new account must have one (gateway.staff.accounts).
-- One account per address: a link sent to an address opens one account only.
ALTER TABLE staff_accounts ADD COLUMN email text;
CREATE UNIQUE INDEX staff_accounts_email ON staff_accounts (lower(email)) WHERE email IS NOT NULL;
-- « immédiatement » or « un résumé par jour »: how a focal point wants the new-request alerts.
ALTER TABLE staff_accounts ADD COLUMN alerts text NOT NULL DEFAULT 'immediate'
    CHECK (alerts IN ('immediate', 'digest'));
-- NULL: no password chosen yet (a new account, or one an administrator sent a new link to);
-- sign-in then fails like a wrong password.
ALTER TABLE staff_accounts ALTER COLUMN password_hash DROP NOT NULL;

-- First sign-in links: only the SHA-256 of the token is kept, so a copy of this table opens
-- nothing. A link is valid until expires_at and once (used_at); a new one replaces the old.
CREATE TABLE first_sign_in_links (
    token_hash  bytea PRIMARY KEY,
    account_id  uuid NOT NULL REFERENCES staff_accounts (id) ON DELETE CASCADE,
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL,
    used_at     timestamptz,
    -- Replaced by a newer link before it was used.
    replaced_at timestamptz
);
CREATE INDEX first_sign_in_links_account ON first_sign_in_links (account_id);

-- What notify must be told, written in the account change's transaction and pushed by the
-- gateway's relay (gateway.staff.notify_outbox) in id order, so nothing is lost while notify is
-- down. kind: 'directory' (PUT the account into staff_recipients) or 'message' (a staff email,
-- such as the first sign-in link; its payload holds the link until notify has it, then the row
-- is deleted).
CREATE TABLE notify_outbox (
    id              bigserial PRIMARY KEY,
    kind            text NOT NULL CHECK (kind IN ('directory', 'message')),
    account_id      uuid NOT NULL,
    payload         jsonb NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    attempts        integer NOT NULL DEFAULT 0,
    last_error      text,
    next_attempt_at timestamptz NOT NULL DEFAULT now()
);
