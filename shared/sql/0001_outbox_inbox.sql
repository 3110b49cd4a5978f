-- Outbox: messages written in the business transaction, published by the relay, then marked sent.
CREATE TABLE outbox (
    id             bigserial PRIMARY KEY,
    message_id     uuid NOT NULL UNIQUE,
    exchange       text NOT NULL,
    routing_key    text NOT NULL,
    message_type   text NOT NULL,
    body           jsonb NOT NULL,
    headers        jsonb NOT NULL DEFAULT '{}',
    correlation_id text,
    created_at     timestamptz NOT NULL DEFAULT now(),
    sent_at        timestamptz,
    attempts       integer NOT NULL DEFAULT 0,
    last_error     text,
    next_attempt_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX outbox_unsent ON outbox (next_attempt_at, id) WHERE sent_at IS NULL;

-- Wake the relay as soon as a row is committed instead of waiting for its next poll.
CREATE FUNCTION outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('milie_outbox_{schema}', '');
    RETURN NULL;
END $$;
CREATE TRIGGER outbox_notify AFTER INSERT ON outbox
    FOR EACH STATEMENT EXECUTE FUNCTION outbox_notify();

-- Inbox: the id of every message applied, recorded in the same transaction as its effect.
CREATE TABLE inbox (
    message_id   uuid PRIMARY KEY,
    message_type text NOT NULL,
    received_at  timestamptz NOT NULL DEFAULT now()
);
