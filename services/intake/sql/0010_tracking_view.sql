-- The citizen's tracking view, kept from the analysts' (and later the bodies') events.
CREATE TABLE request_tracking (
    request_id         uuid PRIMARY KEY REFERENCES requests (id) ON DELETE CASCADE,
    -- When the current status was decided: an event older than this does not change it.
    status_at          timestamptz NOT NULL,
    -- The body and theme after a re-index (the catalogue may not know a body an analyst chose).
    body_name          text,
    theme_label        text,
    indexed_at         timestamptz,
    -- « Message retour de l'analyste »: why the request was sent back for reformulation.
    analyst_message    text,
    rejection_reason   text,
    -- « Réponse de l'analyste »: the clarification sent to an unsatisfied citizen.
    analyst_answer     text,
    analyst_answer_at  timestamptz,
    -- Filled by the treatment events (« Message du ministère », « Avis du citoyen »).
    ministry_message   text,
    treated_at         timestamptz,
    citizen_opinion    text
);

-- A history line says who did what, in the citizen's words (``message``), with the staff's own
-- text apart (``detail``); ``event_key`` (the message id) keeps a line from being written twice,
-- e.g. by intake itself and again when its own event comes back.
ALTER TABLE request_history ADD COLUMN detail text;
ALTER TABLE request_history ADD COLUMN event_key text;
CREATE UNIQUE INDEX request_history_event_key ON request_history (event_key);
