-- What the confirmation page shows of a draft's valid values (the catalogue's names included),
-- stored when the values are saved: showing a draft is then a plain read, without validating
-- again. NULL when the values are not valid, and once the draft is submitted (like ``fields``).
ALTER TABLE drafts ADD COLUMN summary jsonb;
