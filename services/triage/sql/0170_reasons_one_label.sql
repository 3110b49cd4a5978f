-- One label per use, held by the database: two administrators saving « Hors sujet » and
-- « hors sujet » at the same moment both passed the check that looked for a twin first, and the
-- analysts had two lines to choose between. The label is compared as the analysts read it: case
-- and runs of spaces aside (services/triage/reasons.py turns a refusal into French).
--
-- Twins saved before this index are told apart first, the oldest kept as it was:
-- « Hors sujet », « hors sujet (doublon n° 12) ».
UPDATE reasons r
   SET label = left(r.label, 120 - length(' (doublon n° ' || r.id || ')'))
               || ' (doublon n° ' || r.id || ')'
 WHERE EXISTS (
       SELECT 1 FROM reasons o
        WHERE o.kind = r.kind
          AND o.id < r.id
          AND lower(regexp_replace(o.label, '\s+', ' ', 'g'))
              = lower(regexp_replace(r.label, '\s+', ' ', 'g')));

CREATE UNIQUE INDEX reasons_one_label
    ON reasons (kind, lower(regexp_replace(label, '\s+', ' ', 'g')));
