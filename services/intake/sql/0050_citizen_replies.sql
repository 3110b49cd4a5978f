-- The citizen's replies to the body's answer (« DONNER NOTRE AVIS DE FIN OU RELANCER LA
-- REQUETE »), recorded by intake where the code and the email are checked, then forwarded to
-- treatment through the outbox (citizen.opinion_recorded, citizen.reopening_recorded).
-- One reply per answer (``answer_at``: the answer's date, request_tracking.treated_at): a second
-- opinion or reopening of the same answer is refused; a new answer (after a « Retraitement »)
-- may be replied to again, as many times as the citizen needs.
CREATE TABLE citizen_replies (
    id          uuid PRIMARY KEY,  -- the outbox message's id
    request_id  uuid NOT NULL REFERENCES requests (id) ON DELETE CASCADE,
    kind        text NOT NULL CHECK (kind IN ('opinion', 'reopening')),
    opinion     text CHECK (opinion IN ('satisfied', 'partly_satisfied', 'not_satisfied')),
    comment     text,
    message     text,
    answer_at   timestamptz NOT NULL,
    recorded_at timestamptz NOT NULL,
    CHECK ((kind = 'opinion') = (opinion IS NOT NULL)),
    CHECK (kind = 'opinion' OR message IS NOT NULL)
);
CREATE UNIQUE INDEX citizen_replies_one_per_answer ON citizen_replies (request_id, answer_at);

-- The documents the body joined to its answers (« LECTURE DU MESSAGE DE TRAITEMENT »): the
-- current answer's on the tracking row, each answer's (and each later « Répondre à l'usager »)
-- on its history line. References only ({document_id, filename, content_type, size}): treatment
-- keeps the bytes and serves them to whoever gave the right code and email.
ALTER TABLE request_tracking ADD COLUMN ministry_documents jsonb NOT NULL DEFAULT '[]';
ALTER TABLE request_history ADD COLUMN documents jsonb NOT NULL DEFAULT '[]';
