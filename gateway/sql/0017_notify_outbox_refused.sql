-- A row notify refused for what it holds is set aside rather than tried for ever in front of
-- every later one (gateway/staff/notify_outbox.py); an operator sends it again by clearing it.
ALTER TABLE notify_outbox ADD COLUMN refused_at timestamptz;
