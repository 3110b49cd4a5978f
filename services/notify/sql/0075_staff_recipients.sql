-- The staff that notify may email (issue 13): alerts of new requests, reminders, escalations,
-- the first sign-in link. The gateway owns the accounts and tells notify of every change through
-- a signed call, in the same use case as the change itself.
CREATE TABLE staff_recipients (
    account_id   text PRIMARY KEY,
    login        text NOT NULL,
    display_name text NOT NULL DEFAULT '',
    email        text NOT NULL,
    role         text NOT NULL,           -- administrator, analyst, focal_point, operator
    body_id      text,                    -- the focal point's body; NULL for the other roles
    -- « immédiatement » or « un résumé par jour »: the agent chooses for the new-request alerts.
    alerts       text NOT NULL DEFAULT 'immediate' CHECK (alerts IN ('immediate', 'digest')),
    active       boolean NOT NULL DEFAULT true,
    updated_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX staff_recipients_body ON staff_recipients (body_id, role) WHERE active;
