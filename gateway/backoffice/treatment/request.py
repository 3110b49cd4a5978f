"""A request in the hands of its public body (« Traiter »): its content, attachments, contact,
dated history, the analyst's notes, the answers and the citizen's replies; then the focal
point's forms — the guide's « Formulaire De Traitement De Requête » (« Formulaire De Traitement
Relance » for a reopened request, « Répondre à l'usager » for an unsatisfied one) and the
agent's actions of Service-Public Local (« Prendre en compte » with its acknowledgement email,
« Mettre en attente », « Reprendre », « Réaffecter », « Baliser »).

Treatment says what the caller may do (``may``): only that is offered. Analysts and
administrators read; only a focal point acts, and only on its body's requests — another body's
request is the same 404 page as an unknown code (treatment answers 404 for both). Each action
is a POST (CSRF token, the page's version of the request): success leads back to the page with
what was done (303); a fault brings the page back with the message beside the field and what
was typed; a form older than the request (someone acted since) names who did.

The answer's form may carry a document: it is read here part by part (never more than 5 Mo),
sent to treatment — which inspects it as a citizen's file is (``shared.attachments.inspect``)
and says why it refuses one, shown beside the field — then named in the answer.
"""

from __future__ import annotations

import json
import logging
import uuid
from dataclasses import dataclass
from datetime import date
from typing import Any
from urllib.parse import urlencode

import aiohttp
import aiohttp_jinja2
from aiohttp import web
from multidict import MultiDict

from gateway.backoffice import access, shell
from gateway.clients.transport import ServiceUnavailable
from gateway.clients.treatment import TREATMENT
from gateway.staff import accounts, auth, signin
from gateway.web import csrf, downloads, form_parts, phones
from gateway.web.keys import GATEWAY_SETTINGS
from shared import attachments, french, lifecycle, reach
from shared.body_counts import UNSATISFIED
from shared.identity import Role
from shared.lifecycle import Event, Status
from shared.messages import Channel, Opinion
from shared.numbers import whole
from shared.service import POOL

log = logging.getLogger(__name__)
routes = web.RouteTableDef()

BASE = "/admin/requetes"
CODE = "{code:[0-9]{10}}"
READERS = (Role.FOCAL_POINT, Role.ANALYST, Role.ADMINISTRATOR)
# Who may send the analysts' clarification (their page's readers, triage's STAFF).
CLARIFIERS = (Role.ANALYST, Role.ADMINISTRATOR)
LISTS = "/admin/traitements/en-cours"  # « Quitter »: back to the body's list
CONSULTATIONS = "/admin/pf/consultations"
FIELD_MAX = 5000
SUBJECT_MAX = 200
# The form's text fields are small; a document is read apart, up to attachments.MAX_BYTES.
TEXT_PART_MAX = 64 * 1024


@dataclass(frozen=True)
class Action:
    """One of the focal point's forms: its name in the address, treatment's word, the notice."""

    name: str
    treatment: str
    done: str


ACTIONS = {
    a.name: a
    for a in (
        Action("prendre-en-compte", "take", "La requête est prise en compte."),
        Action("mettre-en-attente", "hold", "La requête est mise en attente."),
        Action("reprendre", "resume", "Le traitement de la requête reprend."),
        Action("reaffecter", "reassign", "La requête est réaffectée."),
        Action("baliser", "tag", "La balise est ajoutée à l'historique."),
        # The answers' notices say how the citizen is told (answer_words).
        Action("repondre", "answer", "La réponse est enregistrée."),
        Action("repondre-a-nouveau", "answer-again", "La réponse est enregistrée."),
    )
}
DONE = {
    **{a.name: a.done for a in ACTIONS.values()},
    "accuse": "La requête est prise en compte. L'accusé de réception est envoyé à l'usager.",
}
# Treatment's field names → the form's.
FIELDS = {
    "message": "message",
    "reason": "reason",
    "assignee_id": "assignee_id",
    "document": "document",
    "document_ids": "document",
    "acknowledgement": "acknowledgement",
    "acknowledgement_subject": "acknowledgement_subject",
    "acknowledgement_text": "acknowledgement_text",
}
REQUIRED = "Ce champ est obligatoire."
STALE_FORM = "Ce formulaire est incomplet ou ancien : la page est rechargée, recommencez."


# --- on whose behalf ---------------------------------------------------------------------------


async def _unavailable(request: web.Request, what: str = "La requête") -> web.Response:
    return await shell.unavailable(request, what)


async def _not_found(request: web.Request, code: str | None) -> web.Response:
    return await shell.render(
        request,
        "backoffice/treatment_not_found.html",
        {"title": "Requête introuvable", "code": code},
        status=404,
    )


async def _agents(request: web.Request, body_id: str | None) -> list[accounts.Account]:
    if not body_id:
        return []
    async with request.app[POOL].acquire(timeout=10) as conn:
        return await accounts.focal_points_of(conn, body_id)


async def _operator_names(request: web.Request, item: dict) -> dict[str, str]:
    """login → name of the call centre's operators who took the citizen's replies by phone
    (they are no agents of the body): people by name, as the agents are."""
    logins = [lifecycle.phone_operator(h.get("details") or {}) for h in item.get("history", [])]
    if not any(logins):
        return {}
    async with request.app[POOL].acquire(timeout=10) as conn:
        return await accounts.display_names(conn, [x for x in logins if x])


# --- what the page shows -----------------------------------------------------------------------


def _name(contact: dict) -> str:
    return " ".join(p for p in (contact.get("first_names"), contact.get("last_name")) if p)


ANSWERS = ("repondre", "repondre-a-nouveau")


def answer_words(contact: dict, sms_enabled: bool) -> tuple[str, str]:
    """The answer's button and, once it is recorded, its notice: what is really done — the
    answer recorded, the citizen told by email, by SMS, or not at all (shared.reach: the rule
    notify sends by)."""
    email, phone = contact.get("email"), contact.get("phone")
    ways = reach.media(email, phone, sms_enabled=sms_enabled)
    shown = phones.telephone(phone) if phone else ""  # « 05 05 12 34 56 », as the page shows it
    told = [f"par email à {email}" if way == reach.EMAIL else f"par SMS au {shown}" for way in ways]
    if told:
        button = "Répondre avec envoi de mail" if email else "Répondre avec envoi de SMS"
        return button, f"La réponse est enregistrée. L'usager en est prévenu {' et '.join(told)}."
    call = f" au {shown}" if phone else ""
    return "Enregistrer la réponse", (
        "La réponse est enregistrée. L'usager n'a ni email ni SMS possible : il ne sera pas "
        f"prévenu ; rappelez-le{call}."
    )


def acknowledgement_text(item: dict) -> tuple[str, str]:
    """The acknowledgement email as it is first offered to the agent (they may edit both)."""
    code, body = item["code"], item["body_name"]
    nature = item["nature_label"]
    subject = f"Miliê — votre {nature.lower()} n° {code} est prise en compte"
    text = (
        f"Votre {nature.lower()} n° {code} est prise en compte par {body}, qui en assure "
        "désormais le traitement.\n\n"
        "Vous recevrez la réponse de l'organisme par courriel ; vous pourrez alors donner votre "
        "avis ou demander un nouveau traitement."
    )
    return subject, text


# Who acted when no agent is named, and the word by which a line's label may name them already.
_UNNAMED = {"system": ("la plateforme", "plateforme"), None: ("l'usager", "l'usager")}
_ANALYST = ("un analyste", "l'analyste")


def _operator(details: dict, names: dict[str, str]) -> str:
    """« opérateur : … » for a citizen's reply the call centre took by phone, by the operator's
    name as an agent is named (his login without one); '' for any other line."""
    login = lifecycle.phone_operator(details)
    return lifecycle.taken_by(names.get(login, login)) if login else ""


def _who(line: dict, names: dict[str, str]) -> str:
    """The agent's name; the call centre's operator who took a citizen's reply by phone; else
    who acted, unless the label says it already (« Avis de l'usager », « Transmise par
    l'analyste »: not followed by « (l'usager) », « (un analyste) »)."""
    login = line.get("actor_login")
    if login:
        return names.get(login, login)
    if line["kind"] != Event.CITIZEN_REPLY_REFUSED.kind and (
        operator := _operator(line.get("details") or {}, names)
    ):
        return operator
    # treatment's clock and a citizen's reply refused are the system's; the citizen's have no role
    who, word = _UNNAMED.get(line.get("actor_role"), _ANALYST)
    return "" if word in line["label"].lower() else who


def _history(item: dict, names: dict[str, str]) -> list[dict]:
    """Every dated line, the agents' tags (« Baliser ») among them, oldest first."""
    lines = []
    for h in item.get("history", []):
        details = h.get("details") or {}
        extra = ""
        if h["kind"] == Event.ASSIGNED.kind and details.get("acknowledgement"):
            extra = f"Accusé de réception envoyé : « {details['acknowledgement']['subject']} »"
        elif h["kind"] == Event.REASSIGNED.kind:
            to = details.get("assignee_id")
            extra = f"À {names.get(to, 'un autre agent')}" if to else ""
        elif h["kind"] == Event.OPINION_GIVEN.kind:
            extra = lifecycle.opinion_label(details.get("opinion")) or ""
        elif h["kind"] == Event.CITIZEN_REPLY_REFUSED.kind:
            # The platform refused it (the line's actor); who took it by phone is said here.
            taken = _operator(details, names)
            taken = f"Recueillie {lifecycle.BY_PHONE} ({taken})" if taken else ""
            extra = " — ".join(x for x in (details.get("reason"), taken) if x)
        elif h["kind"] in (Event.TREATED.kind, Event.CITIZEN_ANSWERED.kind):
            joined = [d["filename"] for d in details.get("documents", [])]
            extra = f"Document joint : {', '.join(joined)}" if joined else ""
        lines.append(
            {
                "when": french.moment(h["at"]),
                "label": h["label"],
                "kind": h["kind"],
                "tag": h["kind"] == "tagged",
                "who": _who(h, names),
                "message": h.get("message") or "",
                "extra": extra,
            }
        )
    return lines


def _replies(item: dict, names: dict[str, str]) -> list[dict]:
    """The citizen's opinions (with their comment) and reopening messages, oldest first; one
    the call centre took on the telephone says so, and which operator took it."""
    out = []
    for h in item.get("history", []):
        details = h.get("details") or {}
        if h["kind"] == Event.OPINION_GIVEN.kind:
            opinion = lifecycle.opinion_label(details.get("opinion"))
            what = f"Avis : {opinion}" if opinion else "Avis"
        elif h["kind"] == Event.REOPENED.kind:
            what = "Demande de nouveau traitement (relance)"
        else:
            continue
        if details.get("channel") == Channel.PHONE:
            what = f"{what}, {lifecycle.BY_PHONE}"
            if operator := _operator(details, names):
                what = f"{what} ({operator})"
        out.append(
            {"when": french.moment(h["at"]), "what": what, "message": h.get("message") or ""}
        )
    return out


def _answers(item: dict, names: dict[str, str]) -> list[dict]:
    return [
        {
            "when": french.moment(a["at"]),
            "again": a["kind"] == Event.CITIZEN_ANSWERED.kind,
            "who": names.get(a.get("actor_login") or "", a.get("actor_login") or ""),
            "message": a["message"],
            "documents": [
                {**d, "kilo": max(1, -(-int(d.get("size", 0)) // 1024))}
                for d in a.get("documents", [])
            ],
        }
        for a in item.get("answers", [])
    ]


def _list_of(item: dict) -> tuple[str, str]:
    """The body's list that holds the request now, (address, the menu's words): where
    « Quitter », « Retour à la liste » and the breadcrumb lead. « Répondre à l'usager » is
    opened from « Insatisfaits », « Traiter à nouveau » from « Retraitement »: both led back to
    « En cours », where the request is not."""
    status, opinion = item["status"], item.get("opinion")
    if status == Status.REOPENED:
        return "/admin/traitements/retraitement", "Traitements / Retraitement"
    if status == Status.CLOSED and opinion in UNSATISFIED:
        return "/admin/traitements/insatisfaits", "Traitements / Insatisfaits"
    if status == Status.CLOSED:
        slug = "satisfaits" if opinion == Opinion.SATISFIED else "sans-retour"
        label = "Satisfaits" if opinion == Opinion.SATISFIED else "Sans retour"
        if opinion not in (None, Opinion.SATISFIED):  # partly satisfied, where no list says it
            slug, label = "avis-exprimes", "Avis exprimés"
        return f"{CONSULTATIONS}?liste={slug}", f"Consultations / {label}"
    if status == Status.TREATED:
        return f"{CONSULTATIONS}?liste=avis-attendus", "Consultations / Avis attendus"
    if status == Status.ACKNOWLEDGED:
        return CONSULTATIONS, "Consultations"
    return LISTS, "Traitements / En cours"


def clarify_url(item: dict, role: str) -> str | None:
    """Where an analyst sends the « Message d'éclaircissement à l'usager » of a request closed
    « Non satisfait » or « Partiellement satisfait » (the analysts' page of the request, its
    form open), for those who may send it; None otherwise. The body's page is read-only for
    them: without this, « Insatisfaits » led an analyst to a page with no way to it."""
    if role not in CLARIFIERS or item.get("purged_at"):
        return None
    if not lifecycle.may_clarify(item["status"], item.get("opinion")):
        return None
    back = urlencode({"ouvrir": "clarifier", "retour": "/admin/traitements/insatisfaits"})
    return f"/admin/traitements/{item['code']}?{back}"


# The fields of the page's forms, as their labels say them (the summary of a refused form).
FIELD_LABELS = {
    "repondre-message": "Message de fin traitement",
    "repondre-a-nouveau-message": "Message à l'usager",
    "baliser-message": "Commentaire",
    "mettre-en-attente-reason": "Motif de la mise en attente",
    "reaffecter-assignee_id": "Agent de votre organisme",
    "prendre-en-compte-acknowledgement": "Courriel d'accusé de réception",
    "prendre-en-compte-acknowledgement_subject": "Objet du courriel",
    "prendre-en-compte-acknowledgement_text": "Texte du courriel",
}
# A field whose control has another id than f-<form>-<field>.
FIELD_IDS = {"prendre-en-compte-acknowledgement": "f-prendre-en-compte-send"}


def _error_links(errors: dict[str, str]) -> list[dict[str, str]]:
    """Each refused field, by its label, linked to its control: at 360 px the form may be a
    screen or more below the summary."""
    return [
        {
            "href": "#" + FIELD_IDS.get(key, f"f-{key}"),
            "label": FIELD_LABELS.get(key)
            or ("Joindre un document" if key.endswith("-document") else key),
            "message": message,
        }
        for key, message in errors.items()
    ]


def _status_line(item: dict, names: dict[str, str]) -> str:
    status = item["status"]
    label = item["status_label"]
    if status == Status.ON_HOLD and item.get("on_hold_since"):
        label = f"Mise en attente depuis le {french.moment(item['on_hold_since'])}"
    elif status == Status.TREATED and item.get("treated_at"):
        label = f"Traité le {french.day(item['treated_at'])} — avis attendu"
    elif status == Status.CLOSED and item.get("opinion_label"):
        label = f"Clôturée — {item['opinion_label']}"
    return label


async def _request_page(
    request: web.Request,
    code: str,
    *,
    errors: dict[str, str] | None = None,
    values: dict[str, Any] | None = None,
    problem: str | None = None,
    open_form: str | None = None,
    preview: bool = False,
    status: int = 200,
) -> web.Response:
    identity = access.staff_identity(request)
    try:
        found, item = await request.app[TREATMENT].item(code, identity=identity)
    except ServiceUnavailable:
        return await _unavailable(request)
    if found == 404:
        return await _not_found(request, code)
    if found != 200:
        return await _unavailable(request)
    may = item["may"]
    agents = await _agents(request, item["body_id"])
    names = {a.login: a.display_name or a.login for a in agents}
    by_id = {str(a.id): a.display_name or a.login for a in agents}
    names.update(by_id)
    names.update(await _operator_names(request, item))
    assignee = None
    if item.get("assignee_id"):
        assignee = by_id.get(item["assignee_id"]) or item.get("assignee_login")
    contact = item.get("contact") or {}
    subject, text = acknowledgement_text(item)
    answers = _answers(item, names)
    values = values or {}
    done = DONE.get(request.query.get("fait", ""))
    answer_button, answered = answer_words(contact, request.app[GATEWAY_SETTINGS].sms_enabled)
    if request.query.get("fait") in ANSWERS:
        done = answered
    return await shell.render(
        request,
        "backoffice/treatment_request.html",
        {
            "title": f"Requête n° {code}",
            "item": item,
            "may": may,
            "acts": any(may.values()),
            "reopened": item["status"] == Status.REOPENED,
            "status_line": _status_line(item, names),
            "assignee": assignee,
            "contact": contact,
            "contact_name": _name(contact),
            "history": _history(item, names),
            "replies": _replies(item, names),
            "answers": answers,
            "last_answer": next((a for a in reversed(answers) if not a["again"]), None),
            "submitted": french.moment(item["submitted_at"]),
            "validated": french.moment(item["validated_at"]),
            # « Données personnelles supprimées le … » where the message and contact were.
            "purged": french.day(item["purged_at"]) if item.get("purged_at") else None,
            # « Échéance de la réponse » while the answer is awaited (working days).
            "due": (
                {
                    "day": french.day(date.fromisoformat(item["answer_due"])),
                    "text": lifecycle.deadline_text(
                        item["days_left"], item["late"], paused=item["status"] == Status.ON_HOLD
                    ),
                    "late": item["late"],
                    "paused": item["status"] == Status.ON_HOLD,
                }
                if item.get("answer_due")
                else None
            ),
            # « Avis attendu jusqu'au »: then closed « sans retour » (treatment's clock).
            "opinion_until": french.until(item.get("opinion_until")),
            "colleagues": [
                (str(a.id), a.display_name or a.login)
                for a in agents
                if str(a.id) != item.get("assignee_id")
            ],
            "ack_subject": values.get("acknowledgement_subject", subject),
            "ack_text": values.get("acknowledgement_text", text),
            "errors": errors or {},
            "error_links": _error_links(errors or {}),
            "values": values,
            "problem": problem,
            "open_form": open_form,
            "preview": preview,
            "done": done if done and not errors and not problem else None,
            "clarify_url": clarify_url(item, identity.role),
            "quit": _list_of(item)[0],
            "list_name": _list_of(item)[1],
            "max_mo": attachments.MAX_BYTES // (1024 * 1024),
            "answer_button": answer_button,
        },
        status=status,
    )


@routes.get(f"{BASE}/{CODE}", name="bo-pf-requete")
@access.staff_required(*READERS)
async def request_page(request: web.Request) -> web.Response:
    return await _request_page(request, request.match_info["code"])


# --- reading a form ----------------------------------------------------------------------------


@dataclass
class Posted:
    """A form as posted: its text fields, and the document joined to an answer if any."""

    fields: MultiDict[str]
    filename: str = ""
    data: bytes = b""
    too_large: bool = False


class Unreadable(Exception):
    """A body that is no form (or a text field far too long)."""


class Forged(Exception):
    """A multipart form without its valid CSRF token (the middleware checks the others)."""


async def _read_multipart(request: web.Request) -> Posted:
    """The answer's form, part by part: text fields bounded, the document up to 5 Mo (one byte
    more tells it is too large; the rest is not read)."""
    reader = await request.multipart()
    posted = Posted(MultiDict())
    while (part := await reader.next()) is not None:
        if not isinstance(part, aiohttp.BodyPartReader) or part.name is None:
            raise Unreadable
        if part.filename is not None:
            if part.name != "document" or posted.filename:
                raise Unreadable
            posted.filename = part.filename
            chunks, size = [], 0
            while size <= attachments.MAX_BYTES:
                chunk = await part.read_chunk(min(256 * 1024, attachments.MAX_BYTES + 1 - size))
                if not chunk:
                    break
                chunks.append(chunk)
                size += len(chunk)
            if size > attachments.MAX_BYTES:
                posted.too_large = True
                return posted  # the rest is left unread (the connection is closed)
            posted.data = b"".join(chunks)
            continue
        raw = bytearray()
        while chunk := await part.read_chunk(8192):
            raw += chunk
            if len(raw) > TEXT_PART_MAX:
                raise Unreadable
        posted.fields.add(part.name, raw.decode("utf-8", errors="replace"))
    return posted


async def _read(request: web.Request, session: str | None = None) -> Posted:
    """The form posted; ``session``: the one its token must be bound to, when not the live one
    (csrf.verify)."""
    if form_parts.is_form_data(request):
        posted = await _read_multipart(request)
        if not csrf.verify(request, posted.fields.get(csrf.FIELD, ""), session):
            raise Forged
        return posted
    form = await request.post()  # checked by the CSRF middleware already
    return Posted(MultiDict((k, str(v)) for k, v in form.items() if isinstance(v, str)))


def _version(posted: Posted) -> int | None:
    return whole(posted.fields.get("version", "").strip(), 1, 2**31 - 1)


def _text(posted: Posted, name: str) -> str:
    return posted.fields.get(name, "").replace("\r\n", "\n").strip()


# --- the actions -------------------------------------------------------------------------------


def _checked(
    action: Action, posted: Posted
) -> tuple[dict[str, Any], dict[str, str], dict[str, Any]]:
    """(treatment's fields, errors by form field, what was typed) of an action's form."""
    name = action.name
    values: dict[str, Any] = {}
    errors: dict[str, str] = {}
    fields: dict[str, Any] = {}

    def need(field: str, said: str = REQUIRED) -> str:
        text = _text(posted, field)
        values[field] = text
        if not text:
            errors[f"{name}-{field}"] = said
        elif len(text) > FIELD_MAX:
            errors[f"{name}-{field}"] = f"{FIELD_MAX} caractères au plus."
        return text

    if name == "prendre-en-compte":
        send = posted.fields.get("send_acknowledgement") == "oui"
        values["send_acknowledgement"] = send
        values["acknowledgement_subject"] = _text(posted, "acknowledgement_subject")
        values["acknowledgement_text"] = _text(posted, "acknowledgement_text")
        if send:
            subject = need("acknowledgement_subject", "Écrivez l'objet du courriel.")
            if len(subject) > SUBJECT_MAX:
                errors[f"{name}-acknowledgement_subject"] = f"{SUBJECT_MAX} caractères au plus."
            text = need("acknowledgement_text", "Écrivez le texte du courriel.")
            fields["acknowledgement"] = {"subject": subject, "text": text}
    elif name == "mettre-en-attente":
        fields["reason"] = need("reason", "Écrivez le motif de la mise en attente.")
    elif name == "reaffecter":
        fields["assignee_id"] = need("assignee_id", "Choisissez l'agent.")
    elif name == "baliser":
        fields["message"] = need("message", "Écrivez le commentaire.")
    elif name in ("repondre", "repondre-a-nouveau"):
        fields["message"] = need("message", "Écrivez le message de fin de traitement.")
        kept = [v for v in posted.fields.getall("document_id", []) if _uuid(v)]
        values["document_id"] = kept[: attachments.MAX_FILES]
        values["kept_documents"] = [
            json.loads(v)
            for v in posted.fields.getall("kept_document", [])[: attachments.MAX_FILES]
            if _json(v)
        ]
        fields["document_ids"] = values["document_id"]
        values["had_document"] = bool(posted.filename)
        if posted.too_large:
            errors[f"{name}-document"] = attachments.problem(attachments.TOO_LARGE, posted.filename)
    return fields, errors, values


def _uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def _json(value: str) -> bool:
    try:
        kept = json.loads(value)
    except ValueError:
        return False
    return isinstance(kept, dict) and {"document_id", "filename"} <= set(kept)


async def _named(request: web.Request, body_id: str | None, refusal: dict) -> str:
    """Treatment's refusal, the agent it names (by login: treatment knows no accounts) by
    their name."""
    said = str(refusal.get("message", ""))
    login = refusal.get("by") or refusal.get("assignee")
    if login:
        names = {a.login: a.display_name for a in await _agents(request, body_id)}
        if names.get(login):
            said = said.replace(f"par {login}", f"par {names[login]}")
    return said


async def _session_ended(request: web.Request) -> web.Response:
    """An answer, a hold's reason or a tag posted after the session ended (30 minutes without
    a page, as a long answer may take): nothing is done; the sign-in form says so, gives back
    the text typed, to be copied, and leads back to the request. Their forms are multipart for
    this: a form the CSRF middleware reads is refused there, its token bound to the session
    that ended."""
    try:
        posted = await _read(request, auth.ended_session_binding(request))
    except (Unreadable, Forged):
        raise web.HTTPSeeOther(auth.sign_in_url(request)) from None
    kept = [text for text in (_text(posted, f) for f in ("message", "reason")) if text]
    page = signin.session_ended_form(
        request, next_=f"{BASE}/{request.match_info['code']}", kept=kept
    )
    if posted.too_large:
        page.force_close()  # the rest of the body was not read
    return page


def _handler(action: Action):
    name = action.name

    @access.staff_required(Role.FOCAL_POINT, ended=_session_ended)
    async def handler(request: web.Request) -> web.Response:
        code = request.match_info["code"]
        try:
            posted = await _read(request)
        except Unreadable:
            raise web.HTTPBadRequest(text="Formulaire illisible : rechargez la page.") from None
        except Forged:
            csrf.token_for(request)  # a fresh token with the page, as the middleware does
            refused = aiohttp_jinja2.render_template(
                "form_refused.html", request, {"back": f"{BASE}/{code}"}, status=403
            )
            refused.force_close()
            return refused
        staff = auth.current_staff(request)
        assert staff is not None
        fields, errors, values = _checked(action, posted)
        version = _version(posted)

        async def again(
            status: int, problem: str | None = None, preview: bool = False
        ) -> web.Response:
            page = await _request_page(
                request,
                code,
                errors=errors,
                values=values,
                problem=problem,
                open_form=name,
                preview=preview,
                status=status,
            )
            if posted.too_large:
                page.force_close()  # the rest of the body was not read
            return page

        if version is None:
            return await again(422, STALE_FORM)
        answering = name in ("repondre", "repondre-a-nouveau")
        # A document chosen with a faulty message is joined all the same, so that the page
        # brought back keeps it (« Déjà joint ») and the agent need not look for it again.
        if errors and not (answering and posted.filename and not posted.too_large):
            return await again(422)
        identity = staff.identity
        treatment = request.app[TREATMENT]
        try:
            if name == "reaffecter":
                try:
                    async with request.app[POOL].acquire(timeout=10) as conn:
                        agent = await accounts.assignable(
                            conn, staff.body_id, account_id=fields["assignee_id"]
                        )
                except accounts.NotAssignable:
                    # The form offers only the body's active focal points: whatever the reason,
                    # the choice is one the list no longer holds.
                    errors[f"{name}-assignee_id"] = "Choisissez un agent de votre organisme."
                    return await again(422)
                fields["assignee_login"] = agent.login
            if answering and posted.filename and posted.data:
                status, kept = await treatment.upload_document(
                    code, posted.filename, posted.data, identity=identity
                )
                if status == 404:
                    return await _not_found(request, code)
                if status == 422:
                    errors[f"{name}-document"] = " ".join(
                        e["message"] for e in kept.get("errors", [])
                    )
                    return await again(422)
                if status != 201:
                    return await _unavailable(request, "Le document n'a pas été joint : le service")
                values["document_id"] = [*values["document_id"], kept["document_id"]]
                values["kept_documents"] = [
                    *values["kept_documents"],
                    {"document_id": kept["document_id"], "filename": kept["filename"]},
                ]
                fields["document_ids"] = values["document_id"]
            elif answering and posted.filename:
                errors[f"{name}-document"] = attachments.problem(attachments.EMPTY, posted.filename)
                return await again(422)
            if errors:
                return await again(422)
            if posted.fields.get("bouton") == "editer":
                # « Editer »: the message as the citizen will read it, nothing sent yet.
                return await again(200, preview=True)
            if action.treatment == "tag":
                fields.pop("version", None)
            else:
                fields["version"] = version
            status, answer = await treatment.act(code, action.treatment, fields, identity=identity)
        except ServiceUnavailable:
            return await _unavailable(request, "L'action n'a pas été enregistrée : le service")
        if status == 200:
            done = "accuse" if fields.get("acknowledgement") else name
            raise web.HTTPSeeOther(f"{BASE}/{code}?{urlencode({'fait': done})}#resultat")
        if status == 404:
            return await _not_found(request, code)
        if status == 409:
            return await again(409, await _named(request, staff.body_id, answer))
        if status == 422:
            for e in answer.get("errors", []):
                field = FIELDS.get(e.get("field", ""), "message")
                errors[f"{name}-{field}"] = e["message"]
                if e.get("field") == "document_ids":  # gone: to be joined again
                    values["document_id"], values["kept_documents"] = [], []
            return await again(422)
        return await _unavailable(request, "L'action n'a pas été enregistrée : le service")

    handler.__name__ = f"act_{name.replace('-', '_')}"
    return csrf.reads_own_body(handler)


for _action in ACTIONS.values():
    routes.post(f"{BASE}/{CODE}/{_action.name}", name=f"bo-pf-requete-{_action.name}")(
        _handler(_action)
    )


# --- the answers' documents ----------------------------------------------------------------------


@routes.get("/admin/documents/{document_id:[0-9a-fA-F-]{36}}", name="bo-pf-document")
@access.staff_required(*READERS)
async def document(request: web.Request) -> web.StreamResponse:
    """A document joined to an answer, from treatment (which checks the role and the body:
    another body's is not found), streamed through."""
    try:
        async with request.app[TREATMENT].document(
            request.match_info["document_id"], identity=access.staff_identity(request)
        ) as resp:
            if resp.status == 404:
                return await shell.render(
                    request,
                    "backoffice/treatment_not_found.html",
                    {"title": "Document introuvable", "code": None},
                    status=404,
                )
            if resp.status != 200:
                return await _unavailable(request, "Le document")
            return await downloads.relay(request, resp, downloads.passed_on(resp))
    except (aiohttp.ClientError, TimeoutError):
        return await _unavailable(request, "Le document")
