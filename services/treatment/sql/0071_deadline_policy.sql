-- The deadline policy (issue 13, « Délais »): working days per deadline kind and nature, and per
-- body where a body's value overrides its nature's (body_id '' = the nature's value). Values not
-- stored fall back to shared.deadline_policy.DEFAULTS (chikaya.ma: 15 for admissibility, 60 for
-- the answer; the opinion window of the clock, 30).
CREATE TABLE deadline_policy (
    kind        text NOT NULL CHECK (kind IN ('admissibility', 'answer', 'opinion')),
    nature      text NOT NULL,
    body_id     text NOT NULL DEFAULT '',
    days        integer NOT NULL CHECK (days BETWEEN 1 AND 365),
    changed_by  text,
    changed_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (kind, nature, body_id)
);

-- One row: the policy's revision, carried by deadlines.policy_changed so that consumers keep the
-- latest; every change locks it first, so two administrators' changes follow one another.
CREATE TABLE deadline_policy_revision (
    one       boolean PRIMARY KEY DEFAULT true CHECK (one),
    revision  bigint NOT NULL DEFAULT 0
);
INSERT INTO deadline_policy_revision DEFAULT VALUES;

-- Working days a request spent on hold, given back to its answer deadline on each resumption:
-- answer_due = validation day + answer days + held_days (services/treatment/deadlines.py).
ALTER TABLE treatments ADD COLUMN held_days integer NOT NULL DEFAULT 0;

-- The last day of the citizen's opinion window, when an administrator set one for the request's
-- nature or body (working days after the answer's day); NULL: the clock's no_opinion_days
-- (calendar days after treated_at), as before « Délais » existed.
ALTER TABLE treatments ADD COLUMN opinion_due date;
