-- No personal data here: one fact row per request, and counters derived from the facts.

CREATE TABLE request_facts (
    request_id   uuid PRIMARY KEY,
    body_id      text NOT NULL,
    body_name    text NOT NULL,
    nature       text NOT NULL,
    theme_id     text,
    channel      text NOT NULL,
    status       text NOT NULL,
    submitted_on date NOT NULL,
    updated_at   timestamptz NOT NULL DEFAULT now()
);

-- The latest name seen for each body, for the listings.
CREATE TABLE bodies (
    body_id   text PRIMARY KEY,
    body_name text NOT NULL
);

-- How many requests submitted on `day` are now in `status`, per body, nature and theme.
-- A transition moves one request from a status to another: -1 on the old row, +1 on the new one,
-- in the transaction that updates its fact row. theme_id '' stands for "no theme" (key column).
CREATE TABLE daily_counts (
    day      date NOT NULL,
    body_id  text NOT NULL,
    nature   text NOT NULL,
    theme_id text NOT NULL DEFAULT '',
    status   text NOT NULL,
    count    integer NOT NULL DEFAULT 0 CHECK (count >= 0),
    PRIMARY KEY (day, body_id, nature, theme_id, status)
);
CREATE INDEX daily_counts_body ON daily_counts (body_id, nature);
