-- When request.personal_data_purged was applied here (NULL: not purged): the staff's messages
-- to the citizen are refused after it (nobody to send them to, and they would name the citizen
-- again in a request whose data went).
ALTER TABLE treatments ADD COLUMN purged_at timestamptz;
