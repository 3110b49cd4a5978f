-- A request the call centre typed for a caller (channel ``phone``, the gateway's « Saisir une
-- requête »): the operator the gateway signed for, by staff id and login, as citizen_replies
-- keeps the one who took a reply (0140). NULL for every other channel, and for a phone
-- submission from before. Staff data, not the citizen's: the purge leaves it (purge.py).
ALTER TABLE requests ADD COLUMN operator_staff_id text;
ALTER TABLE requests ADD COLUMN operator_login text;
ALTER TABLE requests ADD CONSTRAINT requests_operator_by_phone
    CHECK (operator_staff_id IS NULL OR channel = 'phone');
