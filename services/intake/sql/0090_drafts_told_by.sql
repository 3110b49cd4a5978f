-- How the citizen of a submitted draft is sent their code ("email", "sms", "email sms" or ""),
-- for the page « Votre requête a bien été enregistrée » (no contact is kept in the draft).
ALTER TABLE drafts ADD COLUMN told_by text;
