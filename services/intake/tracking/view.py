"""What the citizen's tracking page says, without I/O: the statuses of the design's life of a
request in the citizen guide's words, the step each one belongs to, the history sentences, and
the view built from the stored rows.

The call centre's operator (« Suivi d'un appel ») reads the same view about the caller: each
sentence that speaks to the citizen (« vous ») has its operator's wording beside it, in the third
person (« l'appelant »), chosen by ``for_operator``. The history keeps the citizen's sentence of
each line; the operator's is rebuilt from the line (:func:`caller_sentence`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from typing import Any

from services.intake.answers import TrackingView
from shared import answers, citizen_replies, french, lifecycle
from shared.deadline_policy import DEFAULTS, Policy
from shared.lifecycle import Status
from shared.messages import DeadlineKind, Nature
from shared.working_days import Calendar, day_of

WORKING_DAYS = Calendar()  # weekends and public holidays, before any day is declared off

# The citizen's words and steps, from the life cycle (tests and intake's modules read them here).
STATUS_LABELS = lifecycle.CITIZEN_LABELS
OPINION_LABELS = lifecycle.OPINION_LABELS
step_of = lifecycle.step_of


def status_label(
    status: str, *, treated_at: datetime | None = None, opinion: str | None = None
) -> str:
    """« Niveau d'avancement » of a request; an unknown status (a newer service) is shown
    as « En cours de traitement » rather than as a code."""
    treated_day = french.day(treated_at) if treated_at else None
    return lifecycle.citizen_label(status, treated_day=treated_day, opinion=opinion)


def theme_text(label: str | None, parent_label: str | None) -> str | None:
    """« ACCUEIL : Espace d'accueil », as the guide's Thème column shows it."""
    if label and parent_label:
        return f"{parent_label} : {label}"
    return label


# -- the history, in the citizen's words -----------------------------------------------------


def submitted_sentence(for_operator: bool = False) -> str:
    if for_operator:
        return "L'appelant a soumis la requête ; elle attend l'examen de l'analyste."
    return "Vous avez soumis la requête ; elle attend l'examen de l'analyste."


def reformulation_sentence(for_operator: bool = False) -> str:
    if for_operator:
        return (
            "L'analyste demande à l'appelant de reformuler son message (voir son message retour)."
        )
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


def clarification_sentence(for_operator: bool = False) -> str:
    if for_operator:
        return "L'analyste a envoyé une réponse à l'appelant."
    return "L'analyste vous a envoyé une réponse."


_RESUBMITTED = {
    False: "Vous avez reformulé votre message ; la requête attend de nouveau l'analyste.",
    True: "L'appelant a reformulé son message ; la requête attend de nouveau l'analyste.",
}


def resubmitted_sentence(
    added: list[str] | tuple[str, ...] = (), for_operator: bool = False
) -> str:
    said = _RESUBMITTED[for_operator]
    if added:
        said += f" Document{'s' if len(added) > 1 else ''} ajouté{'s' if len(added) > 1 else ''} : "
        said += ", ".join(added) + "."
    return said


# The body's (treatment's) events. A reassignment is the body's own affair: no line.


def assigned_sentence() -> str:
    return "Le point focal de l'organisme a pris en charge la requête."


def put_on_hold_sentence() -> str:
    return "L'organisme a mis la requête en attente (voir le motif)."


def resumed_sentence() -> str:
    return "L'organisme a repris le traitement de la requête."


def treated_sentence(treated_at: datetime, for_operator: bool = False) -> str:
    if for_operator:
        return (
            f"Traité le {french.day(treated_at)} : le ministère a répondu ; lisez son message "
            "de traitement à l'appelant et recueillez son avis."
        )
    return (
        f"Traité le {french.day(treated_at)} : le ministère a répondu ; lisez son message de "
        "traitement et donnez votre avis."
    )


def opinion_sentence(opinion: str, for_operator: bool = False) -> str:
    said = lifecycle.opinion_label(opinion)
    if for_operator:
        return f"L'appelant a donné son avis sur le service reçu : {said}."
    return f"Vous avez donné votre avis sur le service reçu : {said}."


def reopened_sentence(for_operator: bool = False) -> str:
    if for_operator:
        return "L'appelant a relancé la requête pour un nouveau traitement (retraitement)."
    return "Vous avez relancé la requête pour un nouveau traitement (retraitement)."


def closed_sentence(opinion: str | None, for_operator: bool = False) -> str:
    if opinion is None:
        if for_operator:
            return "La requête est clôturée sans retour de l'appelant."
        return "La requête est clôturée sans retour de votre part."
    return f"La requête est clôturée : {lifecycle.opinion_label(opinion)}."


def citizen_answered_sentence(for_operator: bool = False) -> str:
    if for_operator:
        return "Le ministère a envoyé un nouveau message à l'appelant."
    return "Le ministère vous a envoyé un nouveau message."


def caller_sentence(line: Mapping[str, Any], request: Mapping[str, Any]) -> str | None:
    """The operator's wording of a history ``line`` of ``request`` (its tracking row), rebuilt
    from what the line keeps; None where the stored sentence speaks to nobody (« L'analyste a
    jugé la requête recevable… ») or cannot be rebuilt (a sentence of an older wording)."""
    E, stored = lifecycle.Event, line["message"] or ""
    match line["event_type"]:
        case E.SUBMITTED:
            return submitted_sentence(for_operator=True)
        case E.RESUBMITTED if stored.startswith(base := resubmitted_sentence()):
            # The documents' names follow the sentence (gone after the purge).
            return resubmitted_sentence(for_operator=True) + stored.removeprefix(base)
        case E.REFORMULATION_REQUESTED:
            return reformulation_sentence(for_operator=True)
        case E.CLARIFICATION_SENT:
            return clarification_sentence(for_operator=True)
        case E.TREATED:
            return treated_sentence(line["occurred_at"], for_operator=True)
        case E.OPINION_GIVEN if request["citizen_opinion"]:
            # One opinion per request: it closes it (the life cycle's table).
            return opinion_sentence(request["citizen_opinion"], for_operator=True)
        case E.REOPENED:
            return reopened_sentence(for_operator=True)
        case E.CLOSED if stored == closed_sentence(None):
            return closed_sentence(None, for_operator=True)
        case E.CITIZEN_ANSWERED:
            return citizen_answered_sentence(for_operator=True)
        case E.CITIZEN_REPLY_REFUSED:
            # The reason travels in the citizen's words: reworded where they live.
            return citizen_replies.caller_sentence(stored)
    return None


# Sentences for the lines written before these existed (the submission's first line).
_SENTENCE_OF_EVENT = {lifecycle.Event.SUBMITTED: submitted_sentence()}


def may_reply(status: str, event: str) -> bool:
    """Whether the table lets the citizen give an opinion (any of them) or reopen now."""
    return any(lifecycle.allows(status, event, opinion=o) for o in (None, *OPINION_LABELS))


def recorded_sentence(kind: str, recorded_at: datetime, for_operator: bool = False) -> str:
    """What the page says between the citizen's reply and treatment's judgement of it; to the
    operator, only that it is recorded, and when (the banner says what follows:
    ``lifecycle.CALLER_REPLY_BANNERS``)."""
    when = f"le {french.day(recorded_at)} à {french.clock(recorded_at)}"
    if for_operator:
        what = "La relance" if kind == "reopening" else "L'avis"
        return f"{what} de l'appelant a été enregistré{'e' if kind == 'reopening' else ''} {when}."
    if kind == "reopening":
        return (
            f"Votre relance a été enregistrée {when} : la requête va être transmise de nouveau "
            "à l'organisme pour un nouveau traitement."
        )
    return f"Votre avis a été enregistré {when}. Merci."


def size_label(size: int) -> str:
    """« 120 Ko », « 1,4 Mo »: a document's size as the page shows it."""
    if size < 1024 * 1024:
        return f"{max(1, round(size / 1024))} Ko"
    return f"{size / (1024 * 1024):.1f} Mo".replace(".", ",")


def documents_of(raw: Any) -> list[dict[str, Any]]:
    """The stored references (jsonb, read as text) as the page lists them."""
    refs = json.loads(raw) if isinstance(raw, str) else (raw or [])
    return [
        {
            "document_id": str(d["document_id"]),
            "filename": d["filename"],
            "content_type": d.get("content_type", ""),
            "size": int(d.get("size", 0)),
            "size_label": size_label(int(d.get("size", 0))),
        }
        for d in refs
    ]


def history_line(
    row: Mapping[str, Any], request: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """A history row as the page shows it; ``request`` given (its tracking row): in the call
    centre operator's words (:func:`caller_sentence`)."""
    event = row["event_type"]
    sentence = (
        (caller_sentence(row, request) if request is not None else None)
        or _SENTENCE_OF_EVENT.get(event)
        or row["message"]
        or status_label(row["status"])
    )
    return {
        "at": row["occurred_at"].isoformat(),
        "day": french.day(row["occurred_at"]),
        "time": french.clock(row["occurred_at"]),
        "event": event,
        "status": row["status"],
        "label": sentence,
        "detail": row["detail"],
        "documents": documents_of(row.get("documents")),
    }


# Triage's admissibility deadline: the analysts rule within these working days of the request's
# (re)entry in their queue — the administrators' value (« Délais », intake's copy of the policy
# from deadlines.policy_changed), else chikaya.ma's 15. Triage keeps the deadline itself; the
# tracking page reckons the same day with the same rule (shared.deadline_policy) and calendar.
ADMISSIBILITY_DAYS = DEFAULTS[DeadlineKind.ADMISSIBILITY]
_QUEUED_BY = (lifecycle.Event.SUBMITTED, lifecycle.Event.RESUBMITTED)


def admissibility_deadline(
    status: str,
    submitted_at: datetime,
    lines: list[dict[str, Any]],
    days: int = ADMISSIBILITY_DAYS,
    calendar: Calendar = WORKING_DAYS,
) -> date | None:
    """The last working day the analysts may rule on a request waiting for them; None
    otherwise."""
    if status != Status.SUBMITTED:
        return None
    queued = [datetime.fromisoformat(h["at"]) for h in lines if h["event"] in _QUEUED_BY]
    return calendar.add(day_of(max([submitted_at, *queued])), days)


# The statuses in which the body's answer is awaited: its deadline is shown (paused on hold).
_ANSWER_AWAITED = (Status.IN_TREATMENT, Status.ON_HOLD, Status.REOPENED)


def answer_due(status: str, due: date | None) -> dict[str, Any] | None:
    """« Réponse attendue au plus tard le … » while the body's answer is awaited."""
    if due is None or status not in _ANSWER_AWAITED:
        return None
    return {"at": due.isoformat(), "day": french.day(due), "paused": status == Status.ON_HOLD}


def build(
    row: Mapping[str, Any],
    history: Iterable[Mapping[str, Any]],
    policy: Policy | None = None,
    calendar: Calendar = WORKING_DAYS,
    attachments: Iterable[Mapping[str, Any]] = (),
    *,
    for_operator: bool = False,
) -> dict[str, Any]:
    """The JSON the gateway renders: one request, the guide's columns, its history, its step
    (``policy`` and ``calendar``: intake's copy of the deadlines, for the admissibility date;
    ``attachments``: the citizen's files, id, name and size — none once purged).
    ``for_operator``: its sentences as the call centre's operator reads them, about the caller
    (« Suivi d'un appel »); the citizen's page and API keep « vous »."""
    status = row["status"]
    opinion = row["citizen_opinion"]
    step = step_of(status)
    lines = [history_line(h, row if for_operator else None) for h in history]
    treated_at = row["treated_at"]
    answer = (
        {
            "message": row["ministry_message"],
            "treated_at": treated_at.isoformat() if treated_at else None,
            "treated_day": french.day(treated_at) if treated_at else None,
            "documents": documents_of(row["ministry_documents"]),
        }
        if row["ministry_message"]
        else None
    )
    # « Répondre à l'usager »: the body's later messages, each with its documents.
    later = [
        {"at": h["at"], "day": h["day"], "message": h["detail"], "documents": h["documents"]}
        for h in lines
        if h["event"] == lifecycle.Event.CITIZEN_ANSWERED and h["detail"]
    ]
    # Every document of every answer: what the citizen may download (the gateway checks it).
    documents = {d["document_id"]: d for h in lines for d in h["documents"]}
    for d in answer["documents"] if answer else []:
        documents.setdefault(d["document_id"], d)
    # A reply recorded for the current answer and not yet judged by treatment.
    pending = (
        {
            "kind": row["reply_kind"],
            "recorded_at": row["reply_recorded_at"].isoformat(),
            "sentence": recorded_sentence(
                row["reply_kind"], row["reply_recorded_at"], for_operator
            ),
            "opinion_label": lifecycle.opinion_label(row["reply_opinion"]),
        }
        if row["reply_kind"] and status == Status.TREATED
        else None
    )
    unanswered = row["reply_kind"] is None and treated_at is not None
    days = (policy or Policy({})).days(DeadlineKind.ADMISSIBILITY, row["nature"], row["body_id"])
    due = admissibility_deadline(status, row["submitted_at"], lines, days, calendar)
    # After the purge (services/intake/purge.py): the milestones, and when the data went.
    purged_at = row.get("purged_at")
    # Written through the model that /api/v1's document shows (services/intake/answers.py).
    return answers.answer(
        TrackingView,
        purged_at=purged_at,
        purged_day=french.day(purged_at) if purged_at else None,
        code=row["code"].strip(),
        nature=row["nature"],
        nature_label=Nature(row["nature"]).label,
        body_name=row["tracked_body_name"] or row["body_name"],
        submitted_at=row["submitted_at"],
        submitted_day=french.day(row["submitted_at"]),
        theme=row["tracked_theme_label"] or theme_text(row["theme_label"], row["theme_parent"]),
        message=row["message"],
        status=status,
        status_label=status_label(status, treated_at=row["treated_at"], opinion=opinion),
        step=step,
        # The banner: where it stands in plain words, and the date the next step is due by.
        banner=lifecycle.citizen_banner(
            status, pending["kind"] if pending else None, for_operator=for_operator
        ),
        due_at=due,
        due_day=french.day(due) if due else None,
        answer_due=answer_due(status, row.get("answer_due")),
        closed=lifecycle.is_closed(status),
        analyst_message=row["analyst_message"]
        if status == Status.REFORMULATION_REQUESTED
        else None,
        rejection_reason=row["rejection_reason"] if status == Status.REJECTED else None,
        ministry_message=row["ministry_message"],
        citizen_opinion=lifecycle.opinion_label(opinion),
        analyst_answer=row["analyst_answer"],
        can_rewrite=lifecycle.may_rewrite(status),
        answer=answer,
        later_messages=later,
        documents=list(documents.values()),
        attachments=[]
        if purged_at
        else [
            {
                "attachment_id": str(a["id"]),
                "filename": a["filename"],
                "size": a["size"],
                "size_label": size_label(a["size"]),
            }
            for a in attachments
        ],
        pending_reply=pending,
        can_give_opinion=unanswered and may_reply(status, lifecycle.Event.OPINION_GIVEN),
        can_reopen=unanswered and may_reply(status, lifecycle.Event.REOPENED),
        history=lines,
    )
