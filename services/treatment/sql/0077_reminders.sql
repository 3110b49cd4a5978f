-- Reminders and escalation (issue 13; services/treatment/reminders.py).

-- How treatment's clock reminds a body, as the administrator sets it (« Rappels »): one row.
-- In working days. before_due_days 0: on the answer's last day only; repeat_days 0: a reminder
-- of a kind is sent once per request and never repeated.
CREATE TABLE reminder_settings (
    id               boolean PRIMARY KEY DEFAULT true CHECK (id),
    not_taken_days   integer NOT NULL DEFAULT 3 CHECK (not_taken_days BETWEEN 1 AND 365),
    in_progress_days integer NOT NULL DEFAULT 20 CHECK (in_progress_days BETWEEN 1 AND 365),
    before_due_days  integer NOT NULL DEFAULT 5 CHECK (before_due_days BETWEEN 0 AND 365),
    repeat_days      integer NOT NULL DEFAULT 5 CHECK (repeat_days BETWEEN 0 AND 365),
    updated_by       text,
    updated_at       timestamptz NOT NULL DEFAULT now()
);
INSERT INTO reminder_settings DEFAULT VALUES;

-- Each reminder sent, once per (request, kind, due day): the key two copies of treatment or a
-- restart meet on (INSERT … ON CONFLICT DO NOTHING, in the transaction of the outbox event).
CREATE TABLE reminders (
    request_id uuid NOT NULL REFERENCES treatments (request_id),
    kind       text NOT NULL CHECK (kind IN ('not_taken', 'in_progress', 'answer_due')),
    due_date   date NOT NULL,
    answer_due date,            -- the deadline an answer_due reminder announced
    sent_at    timestamptz NOT NULL,
    message_id uuid NOT NULL,
    PRIMARY KEY (request_id, kind, due_date)
);
CREATE INDEX reminders_answer_due ON reminders (request_id, answer_due) WHERE kind = 'answer_due';

-- Each answer deadline missed (escalated once): the request is « En retard » for the analysts
-- while this is its deadline (a hold that moves answer_due ends it; missing the new one is a
-- new escalation).
CREATE TABLE missed_deadlines (
    request_id uuid NOT NULL REFERENCES treatments (request_id),
    answer_due date NOT NULL,
    missed_at  timestamptz NOT NULL,
    message_id uuid NOT NULL,
    PRIMARY KEY (request_id, answer_due)
);

-- The clock's scans, each over what it may remind of only (not 200,000 open requests):
-- in treatment and held by nobody; taken in charge and unanswered; waiting for the answer with a
-- deadline. Their predicates are reminders.py's: change both together.
CREATE INDEX treatments_not_taken ON treatments (validated_at, request_id)
    WHERE status = 'in_treatment' AND assignee_id IS NULL;
CREATE INDEX treatments_in_progress ON treatments (validated_at, request_id)
    WHERE status IN ('in_treatment', 'reopened') AND assignee_id IS NOT NULL;
CREATE INDEX treatments_answer_waiting ON treatments (answer_due, request_id)
    WHERE status IN ('in_treatment', 'reopened') AND answer_due IS NOT NULL;
