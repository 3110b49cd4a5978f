-- A citizen's opinion or « Relancer » that treatment could not apply (closed « sans retour »
-- while it was on its way, reopened meanwhile…) is a line of the request's history too: the body
-- reads it on the request's page and in the ministry API, not only the audit log.
ALTER TABLE history DROP CONSTRAINT history_kind_check;
ALTER TABLE history ADD CONSTRAINT history_kind_check CHECK (kind IN ('validated', 'reindexed',
    'assigned', 'reassigned', 'put_on_hold', 'resumed', 'treated', 'citizen_answered',
    'opinion_given', 'reopened', 'closed', 'tagged', 'citizen_reply_refused'));
