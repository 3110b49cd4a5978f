-- A reply (opinion or « Relancer ») given by telephone: the call centre's operator records it on
-- the caller's behalf (the gateway's « Suivi d'un appel »). ``channel``: the signed call's
-- (web, api, phone); ``staff_id``: the operator the gateway signed for, NULL for the citizen's
-- own reply. The gateway's audit log names the operator too.
ALTER TABLE citizen_replies ADD COLUMN channel text NOT NULL DEFAULT 'web';
ALTER TABLE citizen_replies ADD COLUMN staff_id text;
