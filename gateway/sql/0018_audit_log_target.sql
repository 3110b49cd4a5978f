-- The analysts' request page asks the log which operator typed a request by phone (the call
-- centre's « Requête enregistrée » line, by its target « requête <code> »): an index on the
-- target, not a scan of every reading of personal data.
CREATE INDEX audit_log_target ON audit_log (target, at) WHERE target IS NOT NULL;
