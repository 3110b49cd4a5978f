-- The clock (services/treatment/clock.py): the treated requests waiting for an opinion, oldest
-- answer first, and the documents uploaded for an answer that never named them.
CREATE INDEX treatments_waiting_opinion ON treatments (treated_at) WHERE status = 'treated';
CREATE INDEX documents_unused ON documents (uploaded_at) WHERE answer_id IS NULL;
