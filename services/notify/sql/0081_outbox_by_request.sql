-- The purge of personal data (request.personal_data_purged, shared/purge.py) deletes the sent
-- events about the purged requests that the outbox still keeps (a week): found by this index
-- rather than by reading the whole outbox for each run of purges.
CREATE INDEX outbox_sent_by_request ON outbox ((body ->> 'request_id')) WHERE sent_at IS NOT NULL;
