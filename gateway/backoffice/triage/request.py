"""A request's page for the analysts: what the citizen wrote, the history, the decision forms with
their consequences written beside them."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode, urlsplit

from aiohttp import web

from gateway.backoffice import access, deliveries, shell
from gateway.backoffice.triage.common import (
    BASE,
    CODE,
    STAFF,
    catalogue_choices,
    deadline_of,
    unavailable,
)
from gateway.clients.transport import ServiceUnavailable
from gateway.clients.triage import TRIAGE
from gateway.staff import accounts
from shared import french, lifecycle
from shared.lifecycle import Event, QueueStatus
from shared.messages import Channel, Nature
from shared.service import POOL

log = logging.getLogger(__name__)
routes = web.RouteTableDef()


@dataclass(frozen=True)
class Form:
    """A decision form of the request's page."""

    name: str  # in the address and the ids: valider, reformuler, rejeter, reindexer, clarifier
    action: str  # triage's: validate, reformulate, reject, reindex, clarify
    title: str
    button: str
    message_label: str
    message_required: bool
    done: str  # the notice after it worked
    # The box « Je confirme » only where it prevents a real mistake: « Rejeter » closes the
    # request for good. The others are undone by the next step (a rewrite comes back to the
    # queue, a re-index stays in it, a message is only a message) or are the day's routine
    # (« Valider », whose consequence is still written beside its button).
    confirm: bool = False
    reasons: str | None = None  # the ready-made reasons offered (triage's kind), if any


FORMS = {
    f.name: f
    for f in (
        Form(
            "valider",
            "validate",
            "Valider la requête",
            "Valider",
            "Message à l'organisme (facultatif)",
            False,
            "La requête est validée.",
        ),
        Form(
            "reformuler",
            "reformulate",
            "Renvoyer pour reformulation",
            "Renvoyer à l'usager",
            "Message à l'usager : ce qu'il doit reformuler",
            True,
            "La requête est renvoyée à l'usager pour reformulation.",
            reasons="reformulate",
        ),
        Form(
            "rejeter",
            "reject",
            "Rejeter (non recevable)",
            "Rejeter la requête",
            "Motif du rejet (envoyé à l'usager)",
            True,
            "La requête est rejetée ; l'usager en reçoit le motif.",
            confirm=True,
            reasons="reject",
        ),
        Form(
            "reindexer",
            "reindex",
            "Réindexer (autre organisme ou thème)",
            "Réindexer",
            "Commentaire (facultatif, gardé dans l'historique)",
            False,
            "La requête est réindexée ; elle reste dans la file.",
        ),
        Form(
            "clarifier",
            "clarify",
            "Message d'éclaircissement à l'usager",
            "Envoyer le message",
            "Message à l'usager",
            True,
            "Le message d'éclaircissement est envoyé à l'usager.",
        ),
    )
}
CONFIRM = "Cochez la case pour confirmer."
STALE = "La page n'est plus à jour : rechargez-la avant de décider."
REASON_GONE = "Ce motif n'est plus proposé : choisissez-en un autre."


async def reasons_offered(request: web.Request) -> dict[str, list[dict]]:
    """The ready-made reasons still offered, by triage's kind; empty when triage does not
    answer (the analyst then writes the whole message)."""
    try:
        status, body = await request.app[TRIAGE].reasons(
            identity=access.staff_identity(request), only_active=True
        )
    except ServiceUnavailable:
        return {}
    if status != 200:
        return {}
    out: dict[str, list[dict]] = {}
    for r in body.get("items", []):
        out.setdefault(r["kind"], []).append(r)
    return out


def with_reason(reason_text: str, typed: str) -> str:
    """The message sent: the chosen reason's text first, then what the analyst added."""
    return f"{reason_text}\n\n{typed}" if typed else reason_text


def consequences(item: dict) -> dict[str, str]:
    """What each decision will do, in words, next to its confirmation box."""
    body = item["body_name"]
    if Nature(item["nature"]).needs_treatment:
        validate = (
            f"La requête sera transmise à « {body} » pour traitement ; l'usager en est "
            "informé par email."
        )
    else:
        validate = (
            f"La requête sera déclarée lue et transmise à « {body} » pour information ; "
            "l'usager en est informé par email."
        )
    return {
        "valider": validate,
        "reformuler": (
            "L'usager recevra ce message par email et pourra modifier sa requête ; elle "
            "reviendra alors dans la file."
        ),
        "rejeter": (
            "La requête sera close comme non recevable ; l'usager recevra ce motif par email."
        ),
        "reindexer": (
            "La requête restera dans la file, indexée sous l'organisme et le thème choisis."
        ),
        "clarifier": "L'usager recevra ce message par email.",
    }


# The history's kinds (event names without « request. ») that the citizen's actions write.
_CITIZENS = frozenset(e.kind for e in lifecycle.CITIZEN_EVENTS)


def _phone_submission(h: dict) -> bool:
    """The submission's line of a request the call centre typed for a caller."""
    details = h.get("details") or {}
    return h["kind"] == Event.SUBMITTED.kind and details.get("channel") == Channel.PHONE


def _typed_by(h: dict) -> tuple[str, str] | None:
    """(staff id, login) of the call centre's operator who typed the request for a caller
    (« Saisir une requête »), as triage keeps them in the submission's history line
    (``operator_id``, ``operator_login``, from request.submitted.v1 ``operator``); None for a
    line of another kind or channel, or a phone submission from before the event said who."""
    if not _phone_submission(h):
        return None
    details = h["details"]
    staff_id, login = details.get("operator_id") or "", details.get("operator_login") or ""
    return (str(staff_id), str(login)) if staff_id or login else None


async def _staff_names(request: web.Request, item: dict) -> dict[str, str]:
    """login (and, for the call centre's operator who typed it by phone, staff id) → name of
    the staff in the request's history: people by name, never by login."""
    logins = [item.get("decided_by") or "", *(h.get("actor_login") or "" for h in item["history"])]
    typed = [t for t in map(_typed_by, item["history"]) if t]
    async with request.app[POOL].acquire(timeout=10) as conn:
        names = await accounts.display_names(conn, [*logins, *(login for _, login in typed)])
        if typed:
            # By id first: the account the gateway signed for, whatever its login now.
            names |= await accounts.names_by_id(conn, [staff_id for staff_id, _ in typed])
        return names


def _actor(h: dict, names: dict[str, str]) -> str:
    """Who acted, in brackets after the line: the analyst by name; for a request typed by phone,
    the operator (« opérateur : … », as the body's history names the one who took a reply), or
    « par téléphone, via le centre d'appels » where the line does not say who (typed before
    request.submitted named the operator); else « l'usager », unless the line's label says it
    already (« … reformulée par l'usager »)."""
    login = h.get("actor_login")
    if login:
        return names.get(login, login)
    if h["kind"] not in _CITIZENS:
        return ""
    if _phone_submission(h):
        typed = _typed_by(h)
        if typed is None:
            return lifecycle.BY_PHONE
        staff_id, login = typed
        return lifecycle.taken_by(names.get(staff_id) or names.get(login) or login or staff_id)
    return "" if "l'usager" in h["label"] else "l'usager"


def _history(item: dict, names: dict[str, str] | None = None) -> list[dict]:
    names = names or {}
    lines = []
    for h in item.get("history", []):
        details = h.get("details") or {}
        extra = ""
        if h["kind"] == Event.REINDEXED.kind:
            before = details.get("previous_body_name", "")
            if details.get("previous_theme_label"):
                before += f" — {details['previous_theme_label']}"
            after = details.get("body_name", "")
            if details.get("theme_label"):
                after += f" — {details['theme_label']}"
            extra = f"De « {before} » à « {after} »"
        elif h["kind"] == Event.VALIDATED.kind:
            went = lifecycle.after_validation(bool(details.get("needs_treatment")))
            extra = lifecycle.ANALYST_OUTCOMES[went]
        lines.append(
            {
                "when": french.moment(h["at"]),
                "label": h["label"],
                "who": _actor(h, names),
                "message": h.get("message") or "",
                "extra": extra,
            }
        )
    return lines


async def render_request(
    request: web.Request,
    code: str,
    *,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    problem: str | None = None,
    open_form: str | None = None,
    status: int = 200,
    back: str | None = None,
) -> web.Response:
    """The page; ``back``: where « Retour à la liste » leads, the address's « retour » if not
    given (a decision refused keeps the one its form carried)."""
    try:
        found, item = await request.app[TRIAGE].item(code, identity=access.staff_identity(request))
    except ServiceUnavailable:
        return await unavailable(request, "La requête")
    if found == 404:
        return await shell.render(
            request,
            "backoffice/triage_not_found.html",
            {"title": "Requête introuvable", "code": code},
            status=404,
        )
    if found != 200:
        return await unavailable(request, "La requête")
    done = FORMS.get(request.query.get("fait", ""))
    forms = []
    if item["may_decide"]:
        forms = [FORMS[n] for n in ("valider", "reformuler", "rejeter", "reindexer")]
    if item["may_clarify"]:
        forms.append(FORMS["clarifier"])
    choices = await catalogue_choices(request) if item["may_decide"] else {}
    reasons = await reasons_offered(request) if item["may_decide"] else {}
    item["waiting"] = item["status"] == QueueStatus.WAITING
    # Where the request is now (triage follows the body's answer, reopening and closing), apart
    # from the analysts' decision: « Validée » stayed as the status of a request long closed.
    now = lifecycle.status_of_queue_item(
        item["status"],
        needs_treatment=Nature(item["nature"]).needs_treatment,
        body_status=item.get("body_status"),
    )
    item["deadline_text"] = deadline_of(item) if item["waiting"] else ""
    item.setdefault("history", [])
    names = await _staff_names(request, item)
    return await shell.render(
        request,
        "backoffice/triage_request.html",
        {
            "title": f"Requête n° {code}",
            "item": item,
            "status_now": lifecycle.staff_label(now, opinion=item.get("opinion")),
            "history": _history(item, names),
            "decided_by": names.get(item.get("decided_by") or "", item.get("decided_by")),
            # The emails and SMS the citizen was sent (notify's log), beside triage's history.
            "deliveries": await deliveries.of_request(request, item["request_id"]),
            "submitted": french.moment(item["submitted_at"]),
            "queued": french.moment(item["queued_at"]),
            "deadline": french.moment(item["admissibility_deadline"]),
            "decided": french.moment(item["decided_at"]),
            # « Données personnelles supprimées le … » where the message and contact were.
            "purged": french.day(item["purged_at"]) if item.get("purged_at") else None,
            "forms": forms,
            "consequences": consequences(item),
            "errors": errors or {},
            "values": values or {},
            "problem": problem,
            "open_form": open_form,
            "done": done.done if done and not errors and not problem else None,
            "validated": _validated_notice(request),
            "back": back or _back_url(request),
            "reasons": reasons,
            **choices,
        },
        status=status,
    )


def _validated_notice(request: web.Request) -> str | None:
    """After « Valider et passer à la suivante »: which request was validated, or that the
    queue is now empty."""
    previous = request.query.get("validee", "")
    if len(previous) == 10 and previous.isdigit():
        return f"La requête n° {previous} est validée. Voici la suivante dans la file."
    if request.query.get("suivante") == "aucune" and request.query.get("fait") == "valider":
        return "Aucune autre requête n'attend dans la file."
    return None


# The lists that open a request's page with « retour »: the queue (its filters and page in the
# query) and « Insatisfaits » (the clarification).
BACK_LISTS = (BASE, f"{BASE}/insatisfaits")


def safe_back(back: str) -> str:
    """Where « Retour à la liste » leads: ``back`` if it is one of :data:`BACK_LISTS` (its query
    kept, re-encoded), the queue otherwise — never another site nor another page of the back
    office (« /admin/traitements/../comptes »)."""
    parts = urlsplit(back)
    if parts.scheme or parts.netloc or parts.fragment or parts.path not in BACK_LISTS:
        return BASE
    query = urlencode(parse_qsl(parts.query))
    return f"{parts.path}?{query}" if query else parts.path


def with_back(url: str, back: str) -> str:
    """``url`` (a request's page, with its query) carrying ``back`` unless it is the queue."""
    if back == BASE:
        return url
    return f"{url}{'&' if '?' in url else '?'}{urlencode({'retour': back})}"


def _back_url(request: web.Request) -> str:
    return safe_back(request.query.get("retour", ""))


@routes.get(f"{BASE}/{CODE}", name="bo-traitement")
@access.staff_required(*STAFF)
async def request_page(request: web.Request) -> web.Response:
    # « ?ouvrir=clarifier »: from « Insatisfaits » or the body's page, the form already open.
    opened = request.query.get("ouvrir", "")
    return await render_request(
        request, request.match_info["code"], open_form=opened if opened in FORMS else None
    )
