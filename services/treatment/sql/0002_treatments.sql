-- The body's work on a request, from request.validated on. assignments (0001) was never filled:
-- one row per request in treatment replaces it.
DROP TABLE assignments;

-- One row per request the analysts passed to a body: a réclamation or demande d'information to
-- treat, or a suggestion, observation or motion acknowledged (read in « Consultations »). No
-- contact: notify and intake keep the citizen's; the body answers through the platform.
CREATE TABLE treatments (
    request_id     uuid PRIMARY KEY,
    code           text NOT NULL UNIQUE,
    nature         text NOT NULL,
    body_id        text NOT NULL,
    body_name      text NOT NULL,
    theme_id       text,
    theme_label    text,
    place_label    text,
    message        text NOT NULL,
    attachments    jsonb NOT NULL DEFAULT '[]',
    analyst_message text,
    submitted_at   timestamptz NOT NULL,
    validated_at   timestamptz NOT NULL,
    status         text NOT NULL CHECK (status IN ('acknowledged', 'in_treatment', 'on_hold',
                       'treated', 'reopened', 'closed')),
    -- Who holds it (« Prendre en compte »); cleared when it moves to another body.
    assignee_id    text,
    assignee_login text,
    on_hold_since  timestamptz,
    treated_at     timestamptz,
    opinion        text CHECK (opinion IN ('satisfied', 'partly_satisfied', 'not_satisfied')),
    closed_at      timestamptz,
    -- Bumped by every action; a form sent with an older one is refused, naming who acted.
    version        integer NOT NULL DEFAULT 1,
    updated_at     timestamptz NOT NULL DEFAULT now()
);
-- « En cours », « Retraitement », « Insatisfaits », « Consultations »: a body's rows by status.
CREATE INDEX treatments_body_status ON treatments (body_id, status, validated_at, request_id);

-- Everything that happened to the request at the body: the events consumed (validated,
-- reindexed) and published (each action), and the tags (« Baliser »), which publish nothing.
CREATE TABLE history (
    id           bigserial PRIMARY KEY,
    request_id   uuid NOT NULL REFERENCES treatments (request_id),
    occurred_at  timestamptz NOT NULL,
    kind         text NOT NULL CHECK (kind IN ('validated', 'reindexed', 'assigned',
                     'reassigned', 'put_on_hold', 'resumed', 'treated', 'citizen_answered',
                     'opinion_given', 'reopened', 'closed', 'tagged')),
    actor_id     text,
    actor_login  text,
    actor_role   text,
    message      text,
    details      jsonb NOT NULL DEFAULT '{}',
    -- The event consumed or published: one line per event; none for a tag.
    message_id   uuid UNIQUE
);
CREATE INDEX history_request ON history (request_id, occurred_at, id);

-- The body's answers: the one that treats the request, and any later one to an unsatisfied
-- citizen.
CREATE TABLE answers (
    id          uuid PRIMARY KEY,
    request_id  uuid NOT NULL REFERENCES treatments (request_id),
    kind        text NOT NULL CHECK (kind IN ('treated', 'citizen_answered')),
    message     text NOT NULL,
    actor_id    text NOT NULL,
    actor_login text,
    answered_at timestamptz NOT NULL
);
CREATE INDEX answers_request ON answers (request_id, answered_at);

-- An answer's documents, as intake keeps attachments: the bytes here, the type found in them.
-- Uploaded first (answer_id NULL), joined to the answer that names them.
CREATE TABLE documents (
    id           uuid PRIMARY KEY,
    request_id   uuid NOT NULL REFERENCES treatments (request_id),
    answer_id    uuid REFERENCES answers (id),
    filename     text NOT NULL,
    content_type text NOT NULL CHECK (content_type IN ('application/pdf', 'image/jpeg',
                     'image/png')),
    size         integer NOT NULL CHECK (size > 0 AND size <= 5242880),
    data         bytea NOT NULL CHECK (octet_length(data) = size),
    uploaded_by  text NOT NULL,
    uploaded_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX documents_request ON documents (request_id, uploaded_at);
ALTER TABLE documents ALTER COLUMN data SET STORAGE EXTERNAL;  -- compressed already

-- The citizen's opinions and reopenings, as intake forwards them.
CREATE TABLE opinions (
    id         bigserial PRIMARY KEY,
    request_id uuid NOT NULL REFERENCES treatments (request_id),
    opinion    text NOT NULL CHECK (opinion IN ('satisfied', 'partly_satisfied', 'not_satisfied')),
    comment    text,
    given_at   timestamptz NOT NULL
);
CREATE INDEX opinions_request ON opinions (request_id);

CREATE TABLE reopenings (
    id          bigserial PRIMARY KEY,
    request_id  uuid NOT NULL REFERENCES treatments (request_id),
    message     text NOT NULL,
    reopened_at timestamptz NOT NULL
);
CREATE INDEX reopenings_request ON reopenings (request_id);

-- Who did what, when, from where: every action, every refused call (as triage's).
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
