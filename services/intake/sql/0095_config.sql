-- Intake's configuration table: the anonymous channels' limits (submissions per client address,
-- per email, per mobile number; the suspicion threshold and its proof of work) and the country
-- calling codes SMS may go to. One row a setting, its value as JSON; a missing row is the
-- default (services/intake/limits.py, or MILIE_SUBMISSION_LIMITS). Changed by an administrator (PUT /config, audited by
-- updated_by); every copy of intake reads it again within a few seconds.
CREATE TABLE config (
    key        text PRIMARY KEY,
    value      jsonb NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now(),
    updated_by text
);
-- Proofs of work already used (single use): kept until their challenge expires.
CREATE TABLE used_proofs (
    challenge_id uuid PRIMARY KEY,
    expires_at   timestamptz NOT NULL
);
CREATE INDEX used_proofs_expires ON used_proofs (expires_at);
