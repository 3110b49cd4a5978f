-- The body's latest answer to each request (request.treated), for the deadline missed that a
-- copy of notify applies after another copy applied the answer that followed it: it is then
-- kept answered (staff_late_requests.answered_at), never listed late in the analysts' mail.
-- No personal data: an id and a moment.
CREATE TABLE staff_answers (
    request_id  uuid PRIMARY KEY,
    answered_at timestamptz NOT NULL
);
