-- « Délais respectés » per body (issue 13; services/stats/deadlines.py): the body's first answer
-- to each request, late when its deadline was missed before it (request.deadline_missed), and
-- each deadline missed, for the requests late and still unanswered.
CREATE TABLE deadline_answers (
    request_id  uuid PRIMARY KEY,
    body_id     text NOT NULL,
    answered_on date NOT NULL,
    late        boolean NOT NULL DEFAULT false
);
CREATE INDEX deadline_answers_body ON deadline_answers (body_id, answered_on);

CREATE TABLE deadline_misses (
    request_id uuid NOT NULL,
    answer_due date NOT NULL,
    body_id    text NOT NULL,
    missed_on  date NOT NULL,
    PRIMARY KEY (request_id, answer_due)
);
CREATE INDEX deadline_misses_body ON deadline_misses (body_id, missed_on);
