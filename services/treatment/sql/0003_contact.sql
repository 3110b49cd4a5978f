-- The citizen's contact, as the analyst passed it on: the guide's « Contact » column and the
-- request's page show it to the body's agents (a call-centre caller may have only a phone), and
-- « Prendre en compte » offers its acknowledgement email only when there is an address. Personal
-- data: the purge after closure empties it.
ALTER TABLE treatments ADD COLUMN contact jsonb NOT NULL DEFAULT '{}';
