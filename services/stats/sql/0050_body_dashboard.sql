-- The focal point's « Tableau de bord » (services/stats/body_dashboard.py): how each closed
-- request ended, so that « Avis exprimés », « Avis d'insatisfaction » and « Sans retour » are read
-- per body and submission day from counters, like daily_counts, never from every request.

-- How a closed request ended: its opinion ('satisfied', 'partly_satisfied', 'not_satisfied') or
-- 'none' (closed « sans retour »). Set once, by the first closure seen.
ALTER TABLE request_facts ADD COLUMN outcome text;

-- How many requests submitted on `day` ended with `outcome`, per body and nature; moved in the
-- transaction that sets request_facts.outcome (and by a re-index, with the fact row).
CREATE TABLE outcome_counts (
    body_id text NOT NULL,
    day     date NOT NULL,
    nature  text NOT NULL,
    outcome text NOT NULL,
    count   integer NOT NULL DEFAULT 0 CHECK (count >= 0),
    PRIMARY KEY (body_id, day, nature, outcome)
);

-- One body over a period (the dashboard) and one body's present statuses (« En attente »).
CREATE INDEX daily_counts_body_day ON daily_counts (body_id, day);
CREATE INDEX daily_counts_body_status ON daily_counts (body_id, status) INCLUDE (count);

-- The closures already counted before this migration.
UPDATE request_facts f
SET outcome = coalesce(
    (SELECT o.opinion FROM request_opinions o WHERE o.request_id = f.request_id), 'none')
WHERE f.status = 'closed';

INSERT INTO outcome_counts (body_id, day, nature, outcome, count)
SELECT body_id, submitted_on, nature, outcome, count(*)
FROM request_facts WHERE outcome IS NOT NULL
GROUP BY 1, 2, 3, 4;
