"""What the citizen's tracking page says, without I/O: the statuses of the design's life of a
request in the citizen guide's words, the step each one belongs to, the history sentences, and
the view built from the stored rows.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from enum import StrEnum
from typing import Any

from shared import french
from shared.messages import Nature


class Status(StrEnum):
    """Every status of a request (DESIGN.md, « The life of a request »)."""

    SUBMITTED = "submitted"
    REFORMULATION_REQUESTED = "reformulation_requested"
    REJECTED = "rejected"
    VALIDATED = "validated"
    IN_TREATMENT = "in_treatment"
    ACKNOWLEDGED = "acknowledged"
    ON_HOLD = "on_hold"
    TREATED = "treated"
    REOPENED = "reopened"
    CLOSED = "closed"


class Opinion(StrEnum):
    SATISFIED = "satisfied"
    PARTLY_SATISFIED = "partly_satisfied"
    NOT_SATISFIED = "not_satisfied"


OPINION_LABELS = {
    Opinion.SATISFIED: "Satisfait",
    Opinion.PARTLY_SATISFIED: "Partiellement satisfait",
    Opinion.NOT_SATISFIED: "Non satisfait",
}

# « Niveau d'avancement ». TREATED and CLOSED depend on the dates and the opinion: see
# status_label().
STATUS_LABELS = {
    Status.SUBMITTED: "En attente de traitement",
    Status.REFORMULATION_REQUESTED: "Renvoyée pour reformulation",
    Status.REJECTED: "Clôturée : requête non recevable",
    Status.VALIDATED: "En cours de traitement",
    Status.IN_TREATMENT: "En cours de traitement",
    Status.ACKNOWLEDGED: "Lue et transmise à l'organisme",
    Status.ON_HOLD: "En cours de traitement (mise en attente)",
    Status.TREATED: "Traité",
    Status.REOPENED: "Retraitement",
    Status.CLOSED: "Clôturée",
}

# « Comprendre les étapes de traitement »: the guide's step (1 to 3) of each status.
STEP_OF = {
    Status.SUBMITTED: 1,
    Status.REFORMULATION_REQUESTED: 1,
    Status.VALIDATED: 2,
    Status.IN_TREATMENT: 2,
    Status.ON_HOLD: 2,
    Status.REOPENED: 2,
    Status.ACKNOWLEDGED: 2,
    Status.TREATED: 3,
    Status.CLOSED: 3,
    # A rejected request never left step 1.
    Status.REJECTED: 1,
}

# Statuses in which the citizen may rewrite the message (« Modifier »).
REWRITABLE = frozenset({Status.REFORMULATION_REQUESTED})


def status_label(
    status: str, *, treated_at: datetime | None = None, opinion: str | None = None
) -> str:
    """« Niveau d'avancement » of a request; an unknown status (a newer service) is shown
    as « En cours de traitement » rather than as a code."""
    try:
        known = Status(status)
    except ValueError:
        return STATUS_LABELS[Status.IN_TREATMENT]
    if known == Status.TREATED:
        return f"Traité le {french.day(treated_at)}" if treated_at else STATUS_LABELS[known]
    if known == Status.CLOSED:
        if opinion in OPINION_LABELS:
            return f"Clôturée — {OPINION_LABELS[Opinion(opinion)]}"
        return "Clôturée sans retour" if treated_at else STATUS_LABELS[known]
    return STATUS_LABELS[known]


def step_of(status: str) -> int | None:
    try:
        return STEP_OF[Status(status)]
    except ValueError:
        return None


def theme_text(label: str | None, parent_label: str | None) -> str | None:
    """« ACCUEIL : Espace d'accueil », as the guide's Thème column shows it."""
    if label and parent_label:
        return f"{parent_label} : {label}"
    return label


# -- the history, in the citizen's words -----------------------------------------------------


def submitted_sentence() -> str:
    return "Vous avez soumis la requête ; elle attend l'examen de l'analyste."


def reformulation_sentence() -> str:
    return "L'analyste vous demande de reformuler votre message (voir son message retour)."


def rejected_sentence() -> str:
    return "L'analyste a jugé la requête non recevable et l'a clôturée."


def validated_sentence(needs_treatment: bool, body_name: str) -> str:
    if needs_treatment:
        return (
            f"L'analyste a jugé la requête recevable et l'a transmise à {body_name} "
            "pour traitement."
        )
    return f"L'analyste a lu la requête et l'a transmise à {body_name} pour prise en compte."


def reindexed_sentence(body_name: str, theme: str | None) -> str:
    where = f"{body_name}, thème « {theme} »" if theme else body_name
    return f"L'analyste a réorienté la requête : {where}."


def clarification_sentence() -> str:
    return "L'analyste vous a envoyé une réponse."


def resubmitted_sentence() -> str:
    return "Vous avez reformulé votre message ; la requête attend de nouveau l'analyste."


# Sentences for the lines written before these existed (the submission's first line).
_SENTENCE_OF_EVENT = {"request.submitted": submitted_sentence()}


def history_line(row: Mapping[str, Any]) -> dict[str, Any]:
    event = row["event_type"]
    sentence = _SENTENCE_OF_EVENT.get(event) or row["message"] or status_label(row["status"])
    return {
        "at": row["occurred_at"].isoformat(),
        "day": french.day(row["occurred_at"]),
        "time": french.clock(row["occurred_at"]),
        "event": event,
        "status": row["status"],
        "label": sentence,
        "detail": row["detail"],
    }


def build(row: Mapping[str, Any], history: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """The JSON the gateway renders: one request, the guide's columns, its history, its step."""
    status = row["status"]
    opinion = row["citizen_opinion"]
    step = step_of(status)
    return {
        "code": row["code"].strip(),
        "nature": row["nature"],
        "nature_label": Nature(row["nature"]).label,
        "body_name": row["tracked_body_name"] or row["body_name"],
        "submitted_at": row["submitted_at"].isoformat(),
        "submitted_day": french.day(row["submitted_at"]),
        "theme": row["tracked_theme_label"] or theme_text(row["theme_label"], row["theme_parent"]),
        "message": row["message"],
        "status": status,
        "status_label": status_label(status, treated_at=row["treated_at"], opinion=opinion),
        "step": step,
        "closed": status in (Status.REJECTED, Status.CLOSED, Status.ACKNOWLEDGED),
        "analyst_message": row["analyst_message"]
        if status == Status.REFORMULATION_REQUESTED
        else None,
        "rejection_reason": row["rejection_reason"] if status == Status.REJECTED else None,
        "ministry_message": row["ministry_message"],
        "citizen_opinion": OPINION_LABELS.get(opinion) if opinion in OPINION_LABELS else None,
        "analyst_answer": row["analyst_answer"],
        "can_rewrite": status in REWRITABLE,
        "history": [history_line(h) for h in history],
    }
