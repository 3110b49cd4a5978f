"""« Traitements » for the analysts (and administrators): the queue of requests to examine, a
request's page with its history and the decision forms, the exports, the attachments.

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

from __future__ import annotations

import asyncio
import contextlib
import logging
import tempfile
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import aiohttp
from aiohttp import web

from gateway.backoffice import access, deliveries, shell
from gateway.clients import catalogue
from gateway.clients.intake import INTAKE
from gateway.clients.transport import ServiceUnavailable
from gateway.clients.triage import TRIAGE, QueueQuery
from gateway.staff import accounts, auth
from gateway.web import downloads, xlsx
from gateway.web.listing import Listing, listing_of
from shared import french, lifecycle, purge
from shared.identity import Role
from shared.lifecycle import Event, QueueStatus, deadline_text
from shared.messages import NATURE_LABELS, Nature
from shared.service import POOL

log = logging.getLogger(__name__)
routes = web.RouteTableDef()

STAFF = (Role.ANALYST, Role.ADMINISTRATOR)
BASE = "/admin/traitements"
CODE = "{code:[0-9]{10}}"
PER_PAGE = 25

# The list's sort keys (in the address) → triage's (clients.triage.SORT_KEYS).
SORTS = {
    "depot": "queued",
    "echeance": "deadline",
    "code": "code",
    "nature": "nature",
    "organisme": "body",
    "theme": "theme",
    "canal": "channel",
    "statut": "status",
}
# The queue's filter: waiting (the default, no parameter), each decision, or every status.
STATUS_CHOICES = [
    ("", lifecycle.ANALYST_FILTERS[QueueStatus.WAITING]),
    *(
        (s.value, label)
        for s, label in lifecycle.ANALYST_FILTERS.items()
        if s != QueueStatus.WAITING
    ),
    ("all", "Tous les statuts"),
]
CHANNEL_CHOICES = [
    ("web", "Portail Miliê"),
    ("phone", "Téléphone (centre d'appels)"),
    ("api", "API"),
    ("broker", "Autre canal de l'État"),
    ("open311", "Open311"),
]
# The list's filters: address parameter → the query's field (clients.triage.FILTER_FIELDS).
FILTERS = {
    "organisme": "body_id",
    "nature": "nature",
    "theme": "theme_id",
    "canal": "channel",
    "lieu": "place_id",
    "statut": "status",
}


# --- on whose behalf ---------------------------------------------------------------------------


async def _unavailable(request: web.Request, what: str = "La file des requêtes") -> web.Response:
    return await shell.unavailable(request, what)


# --- the list ------------------------------------------------------------------------------------


def _listing(request: web.Request) -> Listing:
    listing = listing_of(request, SORTS, "depot")
    return Listing(
        path=listing.path,
        query=listing.query,
        words=listing.words,
        sort=listing.sort,
        descending=listing.descending,
        page=listing.page,
        per_page=PER_PAGE,
    )


def _query(request: web.Request, listing: Listing) -> QueueQuery:
    """What the address asks of triage's queue."""
    period = shell.period_of(request)
    filters = {field: request.query.get(ours, "").strip()[:100] for ours, field in FILTERS.items()}
    return QueueQuery(
        words=listing.words,
        sort=SORTS[listing.sort],
        descending=listing.descending,
        overdue=request.query.get("retard") == "1",
        # The period is a filter on the submission date only when chosen: a queue shows every
        # request still waiting, whenever it came.
        submitted_from=period.start if period.explicit else None,
        submitted_to=period.end if period.explicit else None,
        **filters,
    )


def _deadline(item: dict) -> str:
    """« 3 jours ouvrés restants », « Dernier jour », « En retard de 2 jours ouvrés » (waiting
    requests)."""
    return deadline_text(item["days_left"], item["overdue"])


def _contact_line(contact: dict) -> str:
    name = " ".join(p for p in (contact.get("first_names"), contact.get("last_name")) if p)
    return " / ".join(p for p in (name, contact.get("email"), contact.get("phone")) if p)


async def _choices(request: web.Request) -> dict[str, Any]:
    """Bodies, themes and places for the selects; empty lists when intake does not answer."""
    try:
        bodies = await catalogue.all_bodies(request)
        status, body = await request.app[INTAKE].themes()
        themes = catalogue.theme_groups(body["themes"]) if status == 200 else []
        regions = await catalogue.regions(request)
    except (ServiceUnavailable, KeyError):
        return {"bodies": [], "theme_groups": [], "regions": []}
    return {
        "bodies": sorted(((b["id"], b["name"]) for b in bodies), key=lambda b: b[1]),
        "theme_groups": themes,
        "regions": regions,
    }


def _exact_code(words: str) -> str | None:
    """The search is one request's code (« 5030529490 », « 503 052 9490 »): that code."""
    digits = "".join(words.split())
    return digits if len(digits) == 10 and digits.isdigit() and digits.isascii() else None


@routes.get(BASE, name="bo-traitements")
@access.staff_required(*STAFF)
async def queue_page(request: web.Request) -> web.Response:
    listing = _listing(request)
    if code := _exact_code(listing.words):
        # Searching an exact code opens that request, whatever its status and the filters.
        try:
            found, _ = await request.app[TRIAGE].item(
                code, identity=access.staff_identity(request), contact=False
            )
        except ServiceUnavailable:
            return await _unavailable(request)
        if found == 200:
            back = listing.url(q="", page="")
            raise web.HTTPSeeOther(f"{BASE}/{code}?{urlencode({'retour': back})}")
    try:
        status, found = await request.app[TRIAGE].queue(
            _query(request, listing),
            identity=access.staff_identity(request),
            limit=PER_PAGE,
            offset=listing.offset,
        )
    except ServiceUnavailable:
        return await _unavailable(request)
    errors: dict[str, str] = {}
    if status == 400:
        # A hand-edited address: say which criterion is wrong, show the unfiltered first page.
        names = {v: k for k, v in FILTERS.items()}
        for e in found.get("errors", []):
            errors[names.get(e["field"], e["field"])] = (
                "Valeur inconnue : choisissez dans la liste."
            )
        try:
            status, found = await request.app[TRIAGE].queue(
                None, identity=access.staff_identity(request), limit=PER_PAGE
            )
        except ServiceUnavailable:
            return await _unavailable(request)
    if status != 200:
        return await _unavailable(request)
    items = found["items"]
    for item in items:
        item["waiting"] = item["status"] == QueueStatus.WAITING
        item["deadline_text"] = _deadline(item)
        item["contact_line"] = _contact_line(item["contact"])
        if item.get("purged_at"):  # the milestones stay; the message says when it went
            item["message"] = purge.purged_on(item["purged_at"])
        item["submitted_day"] = french.day(item["submitted_at"])
    period = shell.period_of(request)
    return await shell.render(
        request,
        "backoffice/triage_queue.html",
        {
            "title": "Requêtes à examiner",
            "listing": listing,
            "items": items,
            "total": found["total"],
            "filters": {k: request.query.get(k, "") for k in (*FILTERS, "retard")},
            "errors": errors,
            "natures": [(n.value, NATURE_LABELS[n]) for n in Nature],
            "statuses": STATUS_CHOICES,
            "channels": CHANNEL_CHOICES,
            "period_applies": period.explicit,
            **(await _choices(request)),
        },
    )


def _triage_csv(
    request: web.Request,
) -> contextlib.AbstractAsyncContextManager[aiohttp.ClientResponse | None]:
    """Triage's CSV of what the address asks, open for reading; None when triage refused.
    Raises ServiceUnavailable."""
    query = _query(request, _listing(request))
    return request.app[TRIAGE].export_csv(query, identity=access.staff_identity(request))


async def _refused(request: web.Request) -> web.StreamResponse:
    """Triage gave no export: a filter it refuses (a hand-edited ``statut=tous``) leads back to
    the queue with the same address, where the message stands beside that filter; otherwise
    « Service indisponible »."""
    listing = _listing(request)
    try:
        status, _ = await request.app[TRIAGE].queue(
            _query(request, listing), identity=access.staff_identity(request), limit=1
        )
    except ServiceUnavailable:
        return await _unavailable(request)
    if status == 400:
        raise web.HTTPSeeOther(listing.url(BASE, page=""))
    return await _unavailable(request)


CSV_FILE = "requetes-milie.csv"


@routes.get(f"{BASE}/export.csv", name="bo-traitements-csv")
@access.staff_required(*STAFF)
async def export_csv(request: web.Request) -> web.StreamResponse:
    """The list, every page, as CSV: streamed from triage as it comes."""
    try:
        async with _triage_csv(request) as resp:
            if resp is None:
                return await _refused(request)
            return await downloads.relay(request, resp, downloads.csv_headers(CSV_FILE))
    except ServiceUnavailable:
        return await _unavailable(request)


# Columns of triage's CSV that the workbook holds as dates (« 17/01/2019 14:32 ») and as numbers;
# the others stay text (a code or a phone number is not a number).
_DATE_COLUMNS = frozenset({"Soumise le", "Entrée dans la file le", "Échéance"})
_NUMBER_COLUMNS = frozenset({"Jours restants"})


@routes.get(f"{BASE}/export.xlsx", name="bo-traitements-xlsx")
@access.staff_required(*STAFF)
async def export_xlsx(request: web.Request) -> web.StreamResponse:
    """The same rows as a spreadsheet file (built from triage's CSV, on disk past 8 Mo)."""
    with (
        tempfile.SpooledTemporaryFile(max_size=8 * 1024**2) as source,
        tempfile.SpooledTemporaryFile(max_size=8 * 1024**2) as target,
    ):
        try:
            async with _triage_csv(request) as resp:
                if resp is None:
                    return await _refused(request)
                await downloads.spool(resp, source)
        except ServiceUnavailable:
            return await _unavailable(request)
        await asyncio.to_thread(
            xlsx.from_csv, source, target, dates=_DATE_COLUMNS, numbers=_NUMBER_COLUMNS
        )
        return await xlsx.stream(request, "requetes-milie.xlsx", target)


# --- one request ---------------------------------------------------------------------------------


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


async def _reasons(request: web.Request) -> dict[str, list[dict]]:
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


async def _staff_names(request: web.Request, item: dict) -> dict[str, str]:
    """login → name of the analysts in the request's history: people by name, never by login."""
    logins = [item.get("decided_by") or "", *(h.get("actor_login") or "" for h in item["history"])]
    async with request.app[POOL].acquire(timeout=10) as conn:
        return await accounts.display_names(conn, logins)


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
                "who": names.get(h.get("actor_login") or "", h.get("actor_login"))
                or ("l'usager" if h["kind"] in _CITIZENS else ""),
                "message": h.get("message") or "",
                "extra": extra,
            }
        )
    return lines


async def _request_page(
    request: web.Request,
    code: str,
    *,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    problem: str | None = None,
    open_form: str | None = None,
    status: int = 200,
) -> web.Response:
    try:
        found, item = await request.app[TRIAGE].item(code, identity=access.staff_identity(request))
    except ServiceUnavailable:
        return await _unavailable(request, "La requête")
    if found == 404:
        return await shell.render(
            request,
            "backoffice/triage_not_found.html",
            {"title": "Requête introuvable", "code": code},
            status=404,
        )
    if found != 200:
        return await _unavailable(request, "La requête")
    done = FORMS.get(request.query.get("fait", ""))
    forms = []
    if item["may_decide"]:
        forms = [FORMS[n] for n in ("valider", "reformuler", "rejeter", "reindexer")]
    if item["may_clarify"]:
        forms.append(FORMS["clarifier"])
    choices = await _choices(request) if item["may_decide"] else {}
    reasons = await _reasons(request) if item["may_decide"] else {}
    item["waiting"] = item["status"] == QueueStatus.WAITING
    item["deadline_text"] = _deadline(item) if item["waiting"] else ""
    item.setdefault("history", [])
    names = await _staff_names(request, item)
    return await shell.render(
        request,
        "backoffice/triage_request.html",
        {
            "title": f"Requête n° {code}",
            "item": item,
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
            "back": _back_url(request),
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


def _back_url(request: web.Request) -> str:
    back = request.query.get("retour", "")
    return back if back.startswith(BASE) and "//" not in back else BASE


@routes.get(f"{BASE}/{CODE}", name="bo-traitement")
@access.staff_required(*STAFF)
async def request_page(request: web.Request) -> web.Response:
    return await _request_page(request, request.match_info["code"])


async def _next_after(request: web.Request, validated: str) -> str:
    """« Valider et passer à la suivante »: the page of the request that now heads the queue
    (waiting, oldest first, as the queue lists them), saying the previous one is validated; the
    validated request's own page when nothing else waits (or triage does not answer)."""
    done = f"{BASE}/{validated}?{urlencode({'fait': 'valider', 'suivante': 'aucune'})}"
    try:
        status, found = await request.app[TRIAGE].queue(
            None, identity=access.staff_identity(request), limit=2
        )
    except ServiceUnavailable:
        return done
    if status != 200:
        return done
    for item in found.get("items", []):
        if item["code"] != validated:
            return f"{BASE}/{item['code']}?{urlencode({'validee': validated})}"
    return done


def _decision(name: str):
    form = FORMS[name]

    @access.staff_required(*STAFF)
    async def handler(request: web.Request) -> web.Response:
        code = request.match_info["code"]
        posted = await request.post()
        values = {
            k: str(posted.get(k, "")).strip()
            for k in ("message", "body_id", "theme_id", "version", "confirm", "reason")
        }
        errors: dict[str, str] = {}
        message = values["message"]
        if form.reasons and values["reason"]:
            offered = (await _reasons(request)).get(form.reasons, [])
            chosen = next((r for r in offered if str(r["id"]) == values["reason"]), None)
            if chosen is None:
                errors[f"{name}-reason"] = REASON_GONE
            else:
                message = with_reason(chosen["text"], message)
        elif form.message_required and not message:
            errors[f"{name}-message"] = (
                "Choisissez un motif ou écrivez le message."
                if form.reasons
                else "Ce champ est obligatoire."
            )
        if len(message) > 5000:
            errors[f"{name}-message"] = "5000 caractères au plus."
        if name == "reindexer" and not values["body_id"]:
            errors[f"{name}-body_id"] = "Choisissez l'organisme public."
        if form.confirm and values["confirm"] != "oui":
            errors[f"{name}-confirm"] = CONFIRM
        version = None
        if values["version"].isdigit() and 0 < int(values["version"]) < 2**31:
            version = int(values["version"])
        if version is None and not errors:
            # Every form sends the version the analyst saw: without it, no decision.
            return await _request_page(request, code, problem=STALE, values=values, status=422)
        if errors:
            return await _request_page(
                request, code, errors=errors, values=values, open_form=name, status=422
            )
        reindex_to = None
        if name == "reindexer":
            reindex_to = (values["body_id"], values["theme_id"] or None)
        try:
            status, answer = await request.app[TRIAGE].decide(
                code,
                form.action,
                message,
                identity=access.staff_identity(request),
                version=version,
                reindex_to=reindex_to,
            )
        except ServiceUnavailable:
            return await _unavailable(request, "La décision n'a pas été enregistrée : le service")
        if status == 200:
            if name == "valider" and posted.get("suivante") == "1":
                raise web.HTTPSeeOther(await _next_after(request, code))
            raise web.HTTPSeeOther(f"{BASE}/{code}?{urlencode({'fait': name})}")
        if status == 409:
            problem = answer.get("message") or ""
            if who := answer.get("decided_by") or answer.get("modified_by"):
                # « … déjà traitée par <login> » : the analyst by name.
                async with request.app[POOL].acquire(timeout=10) as conn:
                    shown = (await accounts.display_names(conn, [who])).get(who)
                if shown:
                    problem = problem.replace(f"par {who}", f"par {shown}")
            return await _request_page(request, code, problem=problem, values=values, status=409)
        if status == 422:
            for e in answer.get("errors", []):
                errors[f"{name}-{e['field']}"] = e["message"]
            return await _request_page(
                request, code, errors=errors, values=values, open_form=name, status=422
            )
        if status == 404:
            return await _request_page(request, code)
        if status == 503:
            return await _request_page(
                request, code, problem=answer.get("message"), values=values, status=503
            )
        return await _unavailable(request, "La décision n'a pas été enregistrée : le service")

    handler.__name__ = f"decide_{name}"
    return handler


for _name in FORMS:
    routes.post(f"{BASE}/{CODE}/{_name}", name=f"bo-traitement-{_name}")(_decision(_name))


# --- attachments -----------------------------------------------------------------------------


@routes.get("/admin/pieces-jointes/{attachment_id:[0-9a-fA-F-]{36}}", name="bo-piece-jointe")
# A focal point opens the files of its body's requests (« Traiter »); intake refuses the others.
@access.staff_required(*STAFF, Role.FOCAL_POINT)
async def attachment(request: web.Request) -> web.StreamResponse:
    """A request's file, from intake (which checks the role and the body), streamed through."""
    intake = request.app[INTAKE]
    try:
        async with intake.attachment(
            request.match_info["attachment_id"], identity=access.staff_identity(request)
        ) as resp:
            if resp.status == 404:
                return await shell.render(
                    request,
                    "backoffice/triage_not_found.html",
                    {"title": "Pièce jointe introuvable", "code": None},
                    status=404,
                )
            if resp.status == 403:
                staff = auth.current_staff(request)
                assert staff is not None
                return await access.refuse(request, staff, "pièce jointe d'un autre organisme")
            if resp.status != 200:
                return await _unavailable(request, "La pièce jointe")
            return await downloads.relay(request, resp, downloads.passed_on(resp))
    except (aiohttp.ClientError, TimeoutError):
        return await _unavailable(request, "La pièce jointe")
