-- Who to tell about a request: kept from request.submitted for the events that follow.
CREATE TABLE recipients (
    request_id  uuid PRIMARY KEY,
    code        text NOT NULL,
    email       text,
    phone       text,
    last_name   text NOT NULL DEFAULT '',
    first_names text NOT NULL DEFAULT '',
    updated_at  timestamptz NOT NULL DEFAULT now()
);

-- One row per message to one person by one medium; subject and bodies are stored so that a
-- resend is identical. The unique key keeps a redelivered event from creating a second one.
CREATE TABLE deliveries (
    id                 uuid PRIMARY KEY,
    request_id         uuid,
    about_message_id   uuid NOT NULL,
    about_message_type text NOT NULL,
    correlation_id     text,
    medium             text NOT NULL CHECK (medium IN ('email', 'sms')),
    recipient          text NOT NULL,
    recipient_name     text NOT NULL DEFAULT '',
    subject            text NOT NULL DEFAULT '',
    body_text          text NOT NULL,
    body_html          text,
    status             text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'failed')),
    attempts           integer NOT NULL DEFAULT 0,
    last_error         text,
    next_attempt_at    timestamptz NOT NULL DEFAULT now(),
    created_at         timestamptz NOT NULL DEFAULT now(),
    sent_at            timestamptz,
    failed_at          timestamptz,
    UNIQUE (about_message_id, medium)
);
CREATE INDEX deliveries_due ON deliveries (next_attempt_at) WHERE status = 'pending';
CREATE INDEX deliveries_request ON deliveries (request_id, created_at);

-- Wake the sender as soon as a delivery is committed instead of waiting for its next poll.
CREATE FUNCTION deliveries_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('milie_deliveries_{schema}', '');
    RETURN NULL;
END $$;
CREATE TRIGGER deliveries_notify AFTER INSERT ON deliveries
    FOR EACH STATEMENT EXECUTE FUNCTION deliveries_notify();
