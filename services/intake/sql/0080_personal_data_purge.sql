-- The purge of the citizen's personal data (issue 13): a request closed ``purge_after_days``
-- ago loses its message, contact, attachments and replies; the code, the body, the nature, the
-- theme and the dated history stay.
-- ``closed_at``: when it reached a closed status (set with the status, services/intake/tracking
-- /store.py); ``purged_at``: when it was purged (NULL: not yet); ``email_hash``: an HMAC of the
-- email under a key of intake's (services/intake/purge.py), so that the citizen can still look
-- the request up with code + email, while the table holds no email.
ALTER TABLE requests
    ADD COLUMN closed_at timestamptz,
    ADD COLUMN purged_at timestamptz,
    ADD COLUMN email_hash text;
-- The closed statuses of shared.lifecycle.CLOSED_STATUSES, for the requests closed before.
UPDATE requests r SET closed_at = rt.status_at
FROM request_tracking rt
WHERE rt.request_id = r.id AND r.status IN ('rejected', 'acknowledged', 'closed');
-- The purge's scan: the oldest closed requests not purged yet.
CREATE INDEX requests_purge_due ON requests (closed_at)
    WHERE closed_at IS NOT NULL AND purged_at IS NULL;
