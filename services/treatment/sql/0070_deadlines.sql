-- Time at the body (issue 13). The answer's deadline is a day (Côte d'Ivoire is on UTC), counted
-- in working days from the validation, moved forward by the working days spent on hold; NULL for
-- what has none (acknowledged suggestions, observations, motions) or before it is computed.
ALTER TABLE treatments ADD COLUMN answer_due date;
CREATE INDEX treatments_answer_due ON treatments (answer_due) WHERE answer_due IS NOT NULL;

-- Days an administrator declared off (« jour chômé » decreed at short notice), beyond weekends
-- and the public holidays that shared.working_days knows. Read by services.treatment.calendar.
CREATE TABLE declared_days_off (
    day          date PRIMARY KEY,
    label        text NOT NULL,
    declared_by  text,
    declared_at  timestamptz NOT NULL DEFAULT now()
);
