"""A citizen's reply to an answer (an opinion, a « Relancer ») that treatment could not apply,
in the citizen's words — one home for them, pure (no I/O):

- :func:`refusal_reason`: why, from treatment's row as it stood (treatment writes it into
  request.citizen_reply_refused); :func:`answered_since_reason` for a reply older than the
  body's last answer;
- :func:`refused_sentence`: what the citizen reads, on intake's tracking page and in notify's
  email: « Votre avis du 12/01/2027 n'a pas pu être pris en compte : la requête avait été
  clôturée sans retour le 11/01/2027. »; ``for_operator``: the call centre's operator's words
  about the caller (« Suivi d'un appel »: « L'avis de l'appelant du 12/01/2027 … »), and
  :func:`caller_sentence` rebuilds them from the citizen's sentence the history line keeps;
- :func:`body_label` and :func:`body_sentence`: the same refusal in the body's words, the line
  treatment adds to the request's history (the focal point's page, the ministry API): « Avis de
  l'usager non pris en compte », « Avis « Satisfait » du 12/01/2027 reçu après la clôture sans
  retour du 11/01/2027. »
"""

from __future__ import annotations

import re
from datetime import datetime

from shared import french
from shared.lifecycle import BODY_EVENT_LABELS, CITIZEN_LABELS, Event, Status, opinion_label
from shared.messages import CitizenReply


def refusal_reason(
    status: str | None, opinion: str | None = None, closed_at: datetime | None = None
) -> str:
    """The clause saying why a reply was refused, for a request in ``status`` (None: unknown to
    treatment) closed at ``closed_at`` with ``opinion`` (None: « sans retour »)."""
    if status is None:
        return "la requête n'était pas connue de l'organisme"
    if status == Status.CLOSED:
        on = f" le {french.day(closed_at)}" if closed_at else ""
        if said := opinion_label(opinion):
            return f"la requête avait déjà été clôturée{on} avec votre avis « {said} »"
        return f"la requête avait été clôturée sans retour{on}"
    if status == Status.REOPENED:
        return "la requête avait déjà été relancée pour un nouveau traitement"
    if status in (Status.IN_TREATMENT, Status.ON_HOLD):
        return "la requête était de nouveau en cours de traitement par l'organisme"
    return f"la requête était au statut « {CITIZEN_LABELS.get(status, status)} »"


def answered_since_reason(answered_at: datetime) -> str:
    """The clause for a reply recorded before the body's last answer (it judged an earlier one)."""
    return (
        f"l'organisme avait répondu de nouveau le {french.day(answered_at)} : donnez votre avis "
        "sur cette nouvelle réponse"
    )


_REPLY_OF = {
    # (the citizen's, the caller's) « Votre avis du … n'a pas pu être pris en compte »
    CitizenReply.OPINION: ("Votre avis", "L'avis de l'appelant", "pris"),
    CitizenReply.REOPENING: ("Votre relance", "La relance de l'appelant", "prise"),
}
# The second person of the reasons above, in the caller's words: the event carries the reason
# in the citizen's (RequestCitizenReplyRefusedV1.reason), the operator's page rewords it.
_CALLER_CLAUSES = (
    ("avec votre avis", "avec son avis"),
    ("donnez votre avis sur", "recueillez son avis sur"),
)


def _sentence(reply: CitizenReply | str, when: str, reason: str, for_operator: bool) -> str:
    reopening = reply == CitizenReply.REOPENING
    citizen, caller, taken = _REPLY_OF[
        CitizenReply.REOPENING if reopening else CitizenReply.OPINION
    ]
    if for_operator:
        for yours, theirs in _CALLER_CLAUSES:
            reason = reason.replace(yours, theirs)
    who = caller if for_operator else citizen
    return f"{who} du {when} n'a pas pu être {taken} en compte : {reason}."


def refused_sentence(
    reply: CitizenReply | str, recorded_at: datetime, reason: str, for_operator: bool = False
) -> str:
    """« Votre avis du 12/01/2027 n'a pas pu être pris en compte : <reason>. »; ``for_operator``:
    « L'avis de l'appelant du 12/01/2027 … », the reason about the caller too."""
    return _sentence(reply, french.day(recorded_at), reason, for_operator)


_STORED = re.compile(
    r"(?P<who>Votre avis|Votre relance) du (?P<when>\S+) n'a pas pu être prise? en compte : "
    r"(?P<reason>.+)\.",
    re.DOTALL,
)


def caller_sentence(stored: str) -> str | None:
    """The operator's wording of a :func:`refused_sentence` in the citizen's words (what
    request.citizen_reply_refused's history line keeps); None for any other sentence."""
    said = _STORED.fullmatch(stored)
    if said is None:
        return None
    reply = CitizenReply.REOPENING if said["who"] == "Votre relance" else CitizenReply.OPINION
    return _sentence(reply, said["when"], said["reason"], for_operator=True)


# -- the body's words (treatment's history line) --------------------------------------------------

BODY_LABELS = {
    CitizenReply.OPINION: "Avis de l'usager non pris en compte",
    CitizenReply.REOPENING: "Relance de l'usager non prise en compte",
}


def body_label(reply: CitizenReply | str) -> str:
    """The history line's title; the life cycle's generic one for an unknown reply."""
    try:
        return BODY_LABELS[CitizenReply(reply)]
    except ValueError:
        return BODY_EVENT_LABELS[Event.CITIZEN_REPLY_REFUSED]


def body_sentence(
    reply: CitizenReply | str,
    recorded_at: datetime,
    *,
    status: str | None,
    opinion_given: str | None = None,
    opinion: str | None = None,
    closed_at: datetime | None = None,
    answered_at: datetime | None = None,
) -> str:
    """What the body reads under :func:`body_label`: which reply, sent when, and why it was not
    applied to the request as it stood (``status``, closed at ``closed_at`` with ``opinion``;
    ``answered_at``: the body answered again after the reply was sent)."""
    reopening = reply == CitizenReply.REOPENING
    e = "e" if reopening else ""
    said = opinion_label(opinion_given)
    what = "Relance" if reopening else (f"Avis « {said} »" if said else "Avis")
    if answered_at is not None:
        why = (
            f"envoyé{e} avant la nouvelle réponse de l'organisme du {french.day(answered_at)} : "
            f"{'elle' if reopening else 'il'} portait sur la réponse précédente"
        )
    elif status == Status.CLOSED:
        on = f" du {french.day(closed_at)}" if closed_at else ""
        if closed_with := opinion_label(opinion):
            why = f"reçu{e} après la clôture{on} avec l'avis « {closed_with} »"
        else:
            why = f"reçu{e} après la clôture sans retour{on}"
    elif status == Status.REOPENED:
        why = f"reçu{e} alors que la requête était déjà relancée (retraitement)"
    elif status in (Status.IN_TREATMENT, Status.ON_HOLD):
        why = f"reçu{e} alors que la requête était de nouveau en cours de traitement"
    else:
        label = CITIZEN_LABELS.get(status, status)
        why = f"reçu{e} alors que la requête était au statut « {label} »"
    return f"{what} du {french.day(recorded_at)} {why}."
