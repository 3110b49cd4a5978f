-- The catalogue intake owns: public bodies, themes (two levels), places.
CREATE TABLE bodies (
    id       text PRIMARY KEY,
    name     text NOT NULL,
    phones   text[] NOT NULL DEFAULT '{}',
    location text NOT NULL DEFAULT '',
    active   boolean NOT NULL DEFAULT true
);

CREATE TABLE themes (
    id        text PRIMARY KEY,
    parent_id text REFERENCES themes (id),
    label     text NOT NULL,
    position  integer NOT NULL DEFAULT 0,
    active    boolean NOT NULL DEFAULT true
);

CREATE TABLE places (
    id     text PRIMARY KEY,
    region text NOT NULL,
    name   text NOT NULL,
    kind   text NOT NULL CHECK (kind IN ('commune', 'sous-prefecture'))
);

-- A citizen's request. The code is the citizen's key; with the email it opens the tracking view.
CREATE TABLE requests (
    id             uuid PRIMARY KEY,
    code           char(10) NOT NULL UNIQUE,
    nature         text NOT NULL,
    body_id        text NOT NULL REFERENCES bodies (id),
    theme_id       text REFERENCES themes (id),
    place_id       text REFERENCES places (id),
    channel        text NOT NULL,
    -- The submitting channel's own id for the request (a form token, another system's id):
    -- the same one again returns the same code and creates nothing.
    submission_key text,
    message        text NOT NULL,
    status         text NOT NULL,
    submitted_at   timestamptz NOT NULL,
    updated_at     timestamptz NOT NULL,
    UNIQUE (channel, submission_key)
);

-- Personal data apart, so that it can be purged after closure while the request stays.
CREATE TABLE contacts (
    request_id  uuid PRIMARY KEY REFERENCES requests (id) ON DELETE CASCADE,
    last_name   text NOT NULL DEFAULT '',
    first_names text NOT NULL DEFAULT '',
    country     char(2) NOT NULL,
    phone       text,
    email       text,
    email_key   text
);
CREATE INDEX contacts_email_key ON contacts (email_key);

-- The dated history shown on the tracking page.
CREATE TABLE request_history (
    id          bigserial PRIMARY KEY,
    request_id  uuid NOT NULL REFERENCES requests (id) ON DELETE CASCADE,
    occurred_at timestamptz NOT NULL,
    event_type  text NOT NULL,
    status      text NOT NULL,
    message     text
);
CREATE INDEX request_history_request ON request_history (request_id, occurred_at);
