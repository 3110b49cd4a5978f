-- An event about a request this service does not know yet (its request.submitted not applied
-- yet: another copy of the service, a message given back to the queue), kept until it is, then
-- applied (shared.early: stats and notify use it).
CREATE TABLE IF NOT EXISTS early_events (
    id           bigserial PRIMARY KEY,
    request_id   uuid NOT NULL,
    message_id   uuid NOT NULL UNIQUE,
    message_type text NOT NULL,
    body         jsonb NOT NULL,
    parked_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS early_events_request ON early_events (request_id);
