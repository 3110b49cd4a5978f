-- The purge of personal data (services/intake/purge.py) deletes the sent events about the
-- purged requests that the outbox still keeps (a week), and the reminders of forgotten codes
-- sent to their addresses: found by these indexes rather than by reading the whole outbox for
-- each batch.
CREATE INDEX outbox_sent_by_request ON outbox ((body ->> 'request_id')) WHERE sent_at IS NOT NULL;
CREATE INDEX outbox_sent_codes_reminders ON outbox ((lower(body ->> 'email')))
    WHERE sent_at IS NOT NULL AND message_type = 'citizen.codes_reminder_requested.v1';
