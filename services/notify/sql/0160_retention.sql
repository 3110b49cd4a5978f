-- What notify removes past its keeping time (services/notify/retention.py), found by these
-- indexes rather than by reading whole tables at each sweep.
CREATE INDEX staff_answers_answered ON staff_answers (answered_at);
CREATE INDEX staff_new_requests_reached ON staff_new_requests (reached_at);
CREATE INDEX staff_late_requests_answered ON staff_late_requests (answered_at)
    WHERE answered_at IS NOT NULL;
CREATE INDEX staff_daily_mails_day ON staff_daily_mails (day);
-- The emails and SMS tied to no request (codes reminders, the staff's daily mails and first
-- sign-in links), once finished. Building it holds the deliveries' writes: where they are already
-- counted in tens of millions, build it first by hand (CREATE INDEX CONCURRENTLY, same name and
-- definition) and this migration finds it there.
CREATE INDEX IF NOT EXISTS deliveries_unattached_done ON deliveries (created_at)
    WHERE request_id IS NULL AND status <> 'pending';
