-- One body's counters over a period (the focal point's dashboard, « Statistique générale » for
-- a focal point): at 200,000 requests across 11 bodies, daily_counts_body (body_id, nature)
-- fetched the body's ~9,000 counter rows from the heap whatever the period, and the requests
-- closed with an opinion were a sequential scan of every fact (bench/treatment.py). Both read
-- an index only now, the period a range of it.
-- 0050 (the dashboard) made daily_counts_body_day without the covered columns: this one replaces it.
DROP INDEX IF EXISTS daily_counts_body_day;
CREATE INDEX daily_counts_body_day ON daily_counts (body_id, day) INCLUDE (nature, status, count);
CREATE INDEX request_facts_body_status ON request_facts (body_id, status, submitted_on)
    INCLUDE (request_id);
