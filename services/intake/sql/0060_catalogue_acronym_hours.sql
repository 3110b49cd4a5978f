-- The administrators' « Catalogue » screen (issue 12): a body's acronym (« MBPE ») and the hours
-- its reception is open, beside its telephones, email and address (location).
ALTER TABLE bodies ADD COLUMN acronym text NOT NULL DEFAULT '';
ALTER TABLE bodies ADD COLUMN hours text NOT NULL DEFAULT '';
