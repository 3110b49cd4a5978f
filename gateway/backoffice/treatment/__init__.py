"""The focal point's « Traitements »: the body's lists (« En cours », « Retraitement »,
« Insatisfaits »…) and their exports (``lists``), a request's page with the agent's actions —
take in charge, hold, resume, reassign, answer (``request``)."""
