-- A request answered before anyone took it in charge was left without a holder: its page said
-- « Pris en compte par : Personne pour le moment » under « Traité ». Answering now takes a
-- request nobody holds (services/treatment/actions.py); the requests answered before are given
-- to the agent (or the ministry's key) of their first answer, as that rule would have. The
-- version stays: nobody acted, a form open on the request stays good. No history line nor event
-- is made up: the answer's line already says who did it and when.
UPDATE treatments t
   SET assignee_id = a.actor_id, assignee_login = a.actor_login
  FROM (SELECT DISTINCT ON (request_id) request_id, actor_id, actor_login
          FROM answers
         WHERE kind = 'treated'
         ORDER BY request_id, answered_at, id) a
 WHERE t.request_id = a.request_id
   AND t.assignee_id IS NULL;
