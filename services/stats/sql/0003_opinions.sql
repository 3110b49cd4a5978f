-- The citizens' opinions of the bodies' answers, for the satisfaction figures: one per request
-- (the table gives a request one opinion, which closes it), kept with the body that answered
-- and the day it was given; opinion_counts are derived from it in the same transaction.
CREATE TABLE request_opinions (
    request_id uuid PRIMARY KEY,
    body_id    text NOT NULL,
    opinion    text NOT NULL,
    given_on   date NOT NULL
);

-- How many opinions of each kind a body's answers received on `day`.
CREATE TABLE opinion_counts (
    day     date NOT NULL,
    body_id text NOT NULL,
    opinion text NOT NULL,
    count   integer NOT NULL DEFAULT 0 CHECK (count >= 0),
    PRIMARY KEY (day, body_id, opinion)
);
