-- The reminders of forgotten codes are now citizen.codes_reminder_requested.v2, to an email or a
-- mobile number: the purge finds the sent ones to erase by either (as 0081 does for v1).
CREATE INDEX outbox_sent_codes_reminders_v2_email ON outbox ((lower(body ->> 'email')))
    WHERE sent_at IS NOT NULL AND message_type = 'citizen.codes_reminder_requested.v2';
CREATE INDEX outbox_sent_codes_reminders_v2_phone ON outbox ((body ->> 'phone'))
    WHERE sent_at IS NOT NULL AND message_type = 'citizen.codes_reminder_requested.v2';
