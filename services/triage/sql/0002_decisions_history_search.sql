-- The analysts' decisions: a version per queue row (two analysts at once: one wins), the
-- request's dated history, the audit log, and what the queue's search needs at 200,000 rows.

-- Words without accents or capitals: citizens and analysts type « decevant » as often as
-- « décevant ». IMMUTABLE so that the search column below can be generated from it.
CREATE FUNCTION fold(text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
    RETURN lower(translate($1,
        'ÀÂÄÁÃÅÇÉÈÊËÍÌÎÏÑÓÒÔÖÕÚÙÛÜÝàâäáãåçéèêëíìîïñóòôöõúùûüýÿ',
        'AAAAAACEEEEIIIINOOOOOUUUUYaaaaaaceeeeiiiinooooouuuuyy'));

ALTER TABLE queue_items
    -- When the request (re)entered the queue: its submission, or the citizen's rewrite.
    ADD COLUMN queued_at timestamptz,
    -- Bumped by every change an analyst makes; a form sent with an older one is refused.
    ADD COLUMN version integer NOT NULL DEFAULT 1,
    ADD COLUMN decided_at timestamptz,
    ADD COLUMN decided_by text,
    -- The citizen's opinion once the body answered (request.opinion_given, a later issue).
    ADD COLUMN opinion text,
    ADD COLUMN search tsvector
        GENERATED ALWAYS AS (to_tsvector('french'::regconfig, fold(message))) STORED;
UPDATE queue_items SET queued_at = submitted_at WHERE queued_at IS NULL;
ALTER TABLE queue_items ALTER COLUMN queued_at SET NOT NULL;

-- "Oldest first" over the waiting requests is now by the time they (re)entered the queue.
DROP INDEX queue_items_waiting_oldest;
CREATE INDEX queue_items_waiting_queued ON queue_items (queued_at, request_id)
    WHERE status = 'waiting';
CREATE INDEX queue_items_queued ON queue_items (queued_at, request_id);
CREATE INDEX queue_items_search ON queue_items USING gin (search);
-- Criteria the analysts filter on; each narrows the queue enough for a bitmap scan.
CREATE INDEX queue_items_body ON queue_items (body_id, queued_at);
CREATE INDEX queue_items_theme ON queue_items (theme_id, queued_at);
CREATE INDEX queue_items_place ON queue_items (place_id, queued_at);
CREATE INDEX queue_items_waiting_deadline ON queue_items (admissibility_deadline)
    WHERE status = 'waiting';

-- Everything that happened to a request, as triage saw it: the citizen's submission and
-- rewrites (from the events) and the analysts' decisions (written with their event).
CREATE TABLE history (
    id           bigserial PRIMARY KEY,
    request_id   uuid NOT NULL REFERENCES queue_items (request_id),
    occurred_at  timestamptz NOT NULL,
    kind         text NOT NULL CHECK (kind IN ('submitted', 'resubmitted', 'validated',
                     'reformulation_requested', 'rejected', 'reindexed', 'clarification_sent')),
    actor_id     text,
    actor_login  text,
    actor_role   text,
    message      text,
    details      jsonb NOT NULL DEFAULT '{}',
    -- The event consumed (submission, rewrite) or published (decision): one line per event.
    message_id   uuid NOT NULL UNIQUE
);
CREATE INDEX history_request ON history (request_id, occurred_at, id);

-- Who did what, when, from where: every decision, every refused call, every export.
CREATE TABLE audit_log (
    id           bigserial PRIMARY KEY,
    at           timestamptz NOT NULL DEFAULT now(),
    actor_id     text,
    actor_login  text,
    actor_role   text,
    action       text NOT NULL,
    outcome      text NOT NULL CHECK (outcome IN ('done', 'refused', 'conflict')),
    request_code text,
    address      text NOT NULL DEFAULT '',
    detail       text NOT NULL DEFAULT ''
);
CREATE INDEX audit_log_at ON audit_log (at DESC, id DESC);

-- Requests queued before this migration get their submission line.
INSERT INTO history (request_id, occurred_at, kind, message, message_id)
SELECT request_id, submitted_at, 'submitted', message, gen_random_uuid() FROM queue_items;
