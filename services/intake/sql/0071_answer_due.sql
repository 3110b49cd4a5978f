-- The day by which the body must answer (issue 13), from treatment's deadlines.answer_due_set:
-- « Réponse attendue au plus tard le … » on the tracking page. ``answer_due_at`` (the event's
-- set_at) keeps an older move arriving late from undoing a newer one.
ALTER TABLE request_tracking ADD COLUMN answer_due date;
ALTER TABLE request_tracking ADD COLUMN answer_due_at timestamptz;
