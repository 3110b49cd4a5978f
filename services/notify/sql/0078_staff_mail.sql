-- The staff's emails (issue 13; services/notify/staff_mail.py, staff_digests.py).

-- Each request that reached a body (request.validated), kept for the focal points who chose one
-- digest a day of their new requests.
CREATE TABLE staff_new_requests (
    request_id uuid PRIMARY KEY,
    code       text NOT NULL,
    nature     text NOT NULL,
    body_id    text NOT NULL,
    body_name  text NOT NULL,
    reached_at timestamptz NOT NULL
);
CREATE INDEX staff_new_requests_body ON staff_new_requests (body_id, reached_at);

-- Each answer deadline missed (request.deadline_missed), for the analysts' daily mail; answered
-- when the body's answer comes (request.treated): no longer late.
CREATE TABLE staff_late_requests (
    request_id  uuid NOT NULL,
    answer_due  date NOT NULL,
    code        text NOT NULL,
    nature      text NOT NULL,
    body_id     text NOT NULL,
    body_name   text NOT NULL,
    missed_at   timestamptz NOT NULL,
    answered_at timestamptz,
    PRIMARY KEY (request_id, answer_due)
);
CREATE INDEX staff_late_requests_open ON staff_late_requests (body_name, answer_due)
    WHERE answered_at IS NULL;

-- The daily mails sent: one per recipient, kind and day, whatever the number of copies of notify
-- or restarts (written with the delivery, ON CONFLICT DO NOTHING).
CREATE TABLE staff_daily_mails (
    account_id text NOT NULL,
    kind       text NOT NULL CHECK (kind IN ('new_requests', 'late_requests')),
    day        date NOT NULL,
    delivery_about uuid NOT NULL,
    sent_at    timestamptz NOT NULL,
    PRIMARY KEY (account_id, kind, day)
);
