-- Events applied in their order, whatever the order they arrive in (shared.early).
-- Several copies of stats, or a message given back to the queue, can apply a request's events
-- out of order: a late event must not undo a later one, and one that comes before the request
-- is known here must not be lost.

-- When the present status was set (the event's own time); NULL for rows from before: the next
-- move sets it.
ALTER TABLE request_facts ADD COLUMN status_at timestamptz;

-- An event about a request not known here yet, kept until its request.submitted is applied.
CREATE TABLE early_events (
    id           bigserial PRIMARY KEY,
    request_id   uuid NOT NULL,
    message_id   uuid NOT NULL UNIQUE,
    message_type text NOT NULL,
    body         jsonb NOT NULL,
    parked_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX early_events_request ON early_events (request_id);
