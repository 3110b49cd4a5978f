"""« Traitements » for the analysts (and administrators), one module per part: the queue of
requests to examine and its exports (``queue``), a request's page with its history and the
decision forms (``request``), the decisions posted (``decisions``), the attachments
(``attachments``).

Every page asks the triage service in a signed call (``clients.Services``) that names the staff
member and their address (for triage's audit log). The forms work without JavaScript: a
decision is a POST (CSRF token, the page's version of the request, a message, a box ticked to
confirm the consequence written beside it); success leads back to the request's page, a fault
brings the form back with the message next to the field and what was typed.

A day's work (issue 12): the queue's first column is each request's code, the link to its page;
searching an exact code (« 5030529490 » or « 503 052 9490 ») opens that request; « Valider et
passer à la suivante » validates, then opens the request heading the queue (``?validee=<code>``
says which one was validated; ``?fait=valider&suivante=aucune`` when nothing else waits).
"""
