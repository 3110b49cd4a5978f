-- The body's lists over the dashboard's period (« PERIODE DU … au … ») take the requests
-- submitted in it (submitted_at: shared/body_counts.py, the day stats counts by). Without an
-- index on that day, each page and its count read every row of the body (or of every body, for
-- the analysts) and filtered them; bench/treatment_lists.py's « month » lines measure it.
CREATE INDEX treatments_body_submitted ON treatments (body_id, submitted_at, request_id);
CREATE INDEX treatments_submitted ON treatments (submitted_at, request_id);
