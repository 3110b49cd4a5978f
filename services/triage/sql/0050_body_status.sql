-- Where the request stands at the body, as treatment's events tell it (request.treated,
-- request.reopened, request.opinion_given, request.closed), with the citizen's opinion and its
-- comment: an analyst's « Message d'éclaircissement » goes only to a citizen who said « Non
-- satisfait » or « Partiellement satisfait » (shared.lifecycle.may_clarify). NULL: no word from
-- the body yet. ``opinion`` (0002) holds the opinion.
ALTER TABLE queue_items
    ADD COLUMN body_status text,
    ADD COLUMN body_status_at timestamptz,
    ADD COLUMN opinion_comment text;
