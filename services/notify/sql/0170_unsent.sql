-- A message that could not be sent at all (the citizen gave no email, and no SMS can reach
-- them): written down as « unsent » with why (last_error), so that the staff's delivery log says
-- « Non envoyé — … » instead of nothing. Never claimed by a sender (only 'pending' is).
ALTER TABLE deliveries DROP CONSTRAINT deliveries_status_check;
ALTER TABLE deliveries ADD CONSTRAINT deliveries_status_check
    CHECK (status IN ('pending', 'sent', 'failed', 'unsent'));
