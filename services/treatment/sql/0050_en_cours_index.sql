-- « En cours » (in treatment, on hold, reopened: focal_api.VIEWS) is a body's list, oldest
-- validation first. With treatments_body_status (0002) the three statuses are three ranges of
-- the index: every row of the body in them (~2,700 a body at 200,000 requests) was fetched and
-- sorted for each page (17 ms, 2,700 heap pages, measured by bench/treatment.py). Here the rows
-- come in the page's order and the scan stops after the page; the count is an index-only scan.
-- Its predicate is the view's statuses: change both together.
CREATE INDEX treatments_en_cours ON treatments (body_id, validated_at, request_id)
    WHERE status IN ('in_treatment', 'on_hold', 'reopened');
