-- The copy of treatment's deadline policy (issue 13), from deadlines.policy_changed
-- (shared/deadline_copy.py): the acknowledgement email dates the analysts' decision with it, in working days.
-- The same tables as triage's 0071 and intake's 0072_deadline_copy.sql.
CREATE TABLE deadline_rules (
    kind     text NOT NULL,
    nature   text NOT NULL,
    body_id  text NOT NULL DEFAULT '',
    days     integer NOT NULL,
    PRIMARY KEY (kind, nature, body_id)
);
CREATE TABLE declared_days_off (
    day    date PRIMARY KEY,
    label  text NOT NULL
);
CREATE TABLE deadline_revision (
    one       boolean PRIMARY KEY DEFAULT true CHECK (one),
    revision  bigint NOT NULL DEFAULT 0
);
INSERT INTO deadline_revision DEFAULT VALUES;
