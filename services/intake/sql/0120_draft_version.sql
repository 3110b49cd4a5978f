-- A draft's version, one more at each change of its values or files: the confirmation page
-- carries the version it showed, and « Envoyer ma requête » is refused when the draft changed
-- since (another tab, another copy of the gateway), so the gateway may show the summary
-- « Soumettre » answered without asking intake for the draft again.
ALTER TABLE drafts ADD COLUMN version integer NOT NULL DEFAULT 1;
