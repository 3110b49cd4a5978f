-- The analysts' queue: one row per submitted request, kept from request.submitted events.
CREATE TABLE queue_items (
    request_id             uuid PRIMARY KEY,
    code                   text NOT NULL,
    nature                 text NOT NULL,
    body_id                text NOT NULL,
    body_name              text NOT NULL,
    theme_id               text,
    theme_label            text,
    place_id               text,
    place_label            text,
    channel                text NOT NULL,
    message                text NOT NULL,
    contact                jsonb NOT NULL,
    attachments            jsonb NOT NULL DEFAULT '[]',
    submitted_at           timestamptz NOT NULL,
    received_at            timestamptz NOT NULL DEFAULT now(),
    status                 text NOT NULL DEFAULT 'waiting'
        CHECK (status IN ('waiting', 'validated', 'reformulation_requested', 'rejected')),
    admissibility_deadline timestamptz NOT NULL
);
-- A code names one request: the analysts search by it.
CREATE UNIQUE INDEX queue_items_code ON queue_items (code);
-- "Oldest first" over the requests still waiting for a decision.
CREATE INDEX queue_items_waiting_oldest ON queue_items (submitted_at, request_id)
    WHERE status = 'waiting';
