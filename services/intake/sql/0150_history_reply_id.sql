-- The citizen's reply a history line tells of (request.opinion_given, request.reopened): the
-- ``reply_id`` treatment gives back, the id of the citizen_replies row intake forwarded. The
-- call centre's page names the operator who took a reply by phone on its line by this id.
-- NULL on every other line, and on a reply's line from before the id travelled (matched then
-- by the reply's kind and moment). No foreign key: the purge erases the replies, never the
-- dated milestones.
ALTER TABLE request_history ADD COLUMN reply_id uuid;
