"""A citizen's reply to an answer (an opinion, a « Relancer ») that treatment could not apply,
in the citizen's words — one home for them, pure (no I/O):

- :func:`refusal_reason`: why, from treatment's row as it stood (treatment writes it into
  request.citizen_reply_refused); :func:`answered_since_reason` for a reply older than the
  body's last answer;
- :func:`refused_sentence`: what the citizen reads, on intake's tracking page and in notify's
  email: « Votre avis du 12/01/2027 n'a pas pu être pris en compte : la requête avait été
  clôturée sans retour le 11/01/2027. »
"""

from __future__ import annotations

from datetime import datetime

from shared import french
from shared.lifecycle import CITIZEN_LABELS, Status, opinion_label
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


def refused_sentence(reply: CitizenReply | str, recorded_at: datetime, reason: str) -> str:
    """« Votre avis du 12/01/2027 n'a pas pu être pris en compte : <reason>. »"""
    when = french.day(recorded_at)
    if reply == CitizenReply.REOPENING:
        return f"Votre relance du {when} n'a pas pu être prise en compte : {reason}."
    return f"Votre avis du {when} n'a pas pu être pris en compte : {reason}."
