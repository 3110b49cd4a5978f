-- Events applied in their order, whatever the order they arrive in: several copies of stats,
-- or a message given back to the queue, can apply a request's events out of order, and a late
-- event must not undo a later one (repository.move_status; the events that come before the
-- request is known here wait in early_events, shared.early).
-- When the present status was set (the event's own time); NULL for rows from before: the next
-- move sets it.
ALTER TABLE request_facts ADD COLUMN status_at timestamptz;
