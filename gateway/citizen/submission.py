"""« Soumettre une requête », step by step as the citizen guide shows it, without JavaScript:
every step is a plain GET or POST rendered by the server.

1. ``GET /soumettre``: the nature (Réclamation, Suggestion, Observation, …).
2. ``GET /soumettre/organisme``: « Choix de l'organisme public », searchable (``q``), paged.
3. ``GET|POST /soumettre/formulaire``: « Exprimez votre préoccupation » — the place, the theme,
   the message, the attachments, « Vos coordonnées », the terms. The POST streams the form
   (``citizen.uploads``) into a draft of intake's; faults bring the form back with every typed
   value (and the files already kept).
4. ``GET|POST /soumettre/confirmer``: « Êtes-vous sûr de vouloir soumettre ces informations ? »
   — « Envoyer ma requête » stores it (one transaction in intake), « Modifier » goes back to
   the form. The summary shown is the one « Soumettre »'s answer carried, kept by this copy
   of the gateway for the redirect (shown once, within a minute; else asked of intake); the
   page posts the draft's version with « Envoyer ma requête », and intake refuses a draft
   changed since.
5. ``GET /soumettre/enregistree``: « Votre Réclamation a bien été enregistrée. Le numéro de la
   demande est … ». « Envoyer ma requête »'s answer (given once the request is stored) carries
   the code to it in a short-lived signed cookie (never in the URL), so this page need not ask
   intake again; without the cookie it asks intake, as before.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from typing import Any
from urllib.parse import urlencode

import aiohttp_jinja2
from aiohttp import hdrs, web

from gateway.citizen import uploads
from gateway.clients import catalogue
from gateway.clients.intake import INTAKE, told_by
from gateway.clients.transport import ServiceUnavailable
from gateway.web import compression, csrf, form_parts, forms
from gateway.web.errors import unavailable
from shared import attachments as files
from shared.messages import NATURE_LABELS, Nature
from shared.numbers import whole

routes = web.RouteTableDef()

NATURE_HINTS = {
    Nature.RECLAMATION: "Vous avez rencontré un problème avec un service de l'Administration "
    "publique.",
    Nature.SUGGESTION: "Vous proposez une idée pour améliorer un service public.",
    Nature.OBSERVATION: "Vous signalez ce que vous avez constaté dans un service public.",
    Nature.MOTION: "Vous saluez la qualité d'un service ou d'un agent.",
    Nature.DEMANDE_INFORMATION: "Vous souhaitez un renseignement sur une démarche ou un service.",
}
STEPS = 4
INTERRUPTED = (
    "L'envoi du formulaire s'est interrompu : votre connexion a été coupée ou n'a plus rien "
    "transmis. Envoyez-le à nouveau."
)


def _nature(value: str) -> Nature | None:
    try:
        return Nature(value)
    except ValueError:
        return None


def _see_other(path: str, **query: str) -> web.HTTPSeeOther:
    query = {k: v for k, v in query.items() if v}
    return web.HTTPSeeOther(path + (f"?{urlencode(query)}" if query else ""))


def _render(request: web.Request, template: str, context: dict, status: int = 200):
    response = aiohttp_jinja2.render_template(
        template, request, {"steps": STEPS, **context}, status=status
    )
    # The citizen's name, telephone and message: not for a shared phone's cache or history.
    response.headers["Cache-Control"] = "no-store"
    return response


# -- 1. the nature ---------------------------------------------------------------------------


@routes.get("/soumettre")
async def choose_nature(request: web.Request) -> web.Response:
    # Coming from « Organismes », the body is known already: the nature leads to the form.
    body_id = request.query.get("organisme", "")
    body_id = body_id if catalogue.CATALOGUE_ID.match(body_id) else ""
    natures = [
        {
            "value": n.value,
            "label": n.label,
            "hint": NATURE_HINTS[n],
            "href": (
                f"/soumettre/formulaire?{urlencode({'nature': n.value, 'organisme': body_id})}"
                if body_id
                else f"/soumettre/organisme?{urlencode({'nature': n.value})}"
            ),
        }
        for n in Nature
    ]
    return _render(request, "submit_nature.html", {"natures": natures, "step": 1})


# -- 2. the body -----------------------------------------------------------------------------


@routes.get("/soumettre/organisme")
async def choose_body(request: web.Request) -> web.Response:
    nature = _nature(request.query.get("nature", ""))
    if nature is None:
        raise _see_other("/soumettre")
    q = catalogue.search_text(request)
    try:
        page = await catalogue.search_bodies(request, q, catalogue.page_number(request))
    except ServiceUnavailable:
        return unavailable(request)
    return _render(
        request,
        "submit_body.html",
        {
            "step": 2,
            "nature": nature,
            "q": q,
            "page": page,
            "page_query": {"nature": nature.value, "q": q},
        },
    )


# -- 3. the form -----------------------------------------------------------------------------


async def _form(
    request: web.Request,
    values: dict[str, str],
    errors: dict[str, str],
    *,
    draft: dict | None = None,
    notice: str | None = None,
    status: int = 200,
) -> web.Response:
    try:
        chosen = await catalogue.body_with_themes(request, values.get("body_id", ""))
        if chosen is None:
            raise _see_other("/soumettre/organisme", nature=values.get("nature", ""))
        places = await catalogue.places(request)
    except ServiceUnavailable:
        return unavailable(request)
    blank = not errors and draft is None and notice is None and status == 200
    if blank and values == _blank_values(values.get("nature", ""), values.get("body_id", "")):
        return _blank_form(request, values, chosen, places)
    return _render_form(request, values, errors, chosen, places, draft, notice, status)


def _render_form(
    request: web.Request,
    values: dict[str, str],
    errors: dict[str, str],
    chosen: dict,
    places: catalogue.Places,
    draft: dict | None,
    notice: str | None,
    status: int,
    csrf_token: str | None = None,
) -> web.Response:
    return _render(
        request,
        "submit.html",
        {
            "step": 3,
            "body": chosen["body"],
            "theme_groups": chosen["theme_groups"],
            "place_options": places.options,
            "natures": [(n.value, NATURE_LABELS[n]) for n in Nature],
            "country_options": forms.COUNTRY_OPTIONS,
            "labels": forms.FIELD_LABELS,
            "values": values,
            "errors": errors,
            "draft_id": draft["draft_id"] if draft else "",
            "attached": draft["files"] if draft else [],
            "notice": notice,
            "max_files": files.MAX_FILES,
            "csrf_token": csrf_token or csrf.token_for(request),
        },
        status=status,
    )


def _blank_values(nature: str, body_id: str) -> dict[str, str]:
    """What a form opened from « Choix de l'organisme public » holds: nothing typed yet."""
    return {"nature": nature, "body_id": body_id, "country": "CI"}


# The blank form of a body and a nature, rendered once per copy of the catalogue kept (the
# body's and the places' objects, compared by identity: a fresh copy renders again), with a
# stand-in for the CSRF token, the one thing that differs from one browser to the next. Every
# citizen opens one (rendering it was a tenth of the gateway's CPU per code).
BLANK_FORMS = web.AppKey("blank_forms", dict)
BLANK_FORMS_KEPT = 500
_STAND_IN = "\x00csrf-token\x00"


def _blank_form(
    request: web.Request, values: dict[str, str], chosen: dict, places: catalogue.Places
) -> web.Response:
    kept = request.app[BLANK_FORMS]
    key = (values["nature"], values["body_id"])
    entry = kept.get(key)
    if entry is None or entry[0] is not chosen or entry[1] is not places:
        page = _render_form(
            request, values, {}, chosen, places, None, None, 200, csrf_token=_STAND_IN
        )
        if len(kept) >= BLANK_FORMS_KEPT:
            kept.clear()
        # Gzipped once too, around the token (compressing the 20 KB page for each citizen was
        # a tenth of the gateway's CPU per code).
        pieces = [piece.encode() for piece in page.text.split(_STAND_IN)]
        entry = kept[key] = (chosen, places, compression.GzippedAround(pieces))
    token = csrf.token_for(request).encode()  # also gives the browser its cookie if it has none
    page = entry[2]
    response = web.Response(content_type="text/html", charset="utf-8")
    if compression.accepts_gzip(request):
        response.body = page.gzip(token)
        response.headers[hdrs.CONTENT_ENCODING] = "gzip"
    else:
        response.body = page.plain(token)
    response.headers[hdrs.VARY] = "Accept-Encoding"
    response.headers["Cache-Control"] = "no-store"
    return response


async def _draft(request: web.Request, draft_id: str) -> dict | None:
    """The browser's draft as intake shows it; None when it is gone. Raises ServiceUnavailable."""
    owner = uploads.draft_owner(request)
    if owner is None or uploads.as_uuid(draft_id) is None:
        return None
    status, body = await request.app[INTAKE].drafts(owner).get(draft_id)
    if status == 404:
        return None
    if status != 200:
        raise ServiceUnavailable("intake")
    return body


def _expired(request: web.Request) -> web.Response:
    return _render(request, "submit_expired.html", {}, status=410)


@routes.get("/soumettre/formulaire")
async def show_form(request: web.Request) -> web.Response:
    draft_id = request.query.get("brouillon", "")
    if draft_id:  # « Modifier » on the confirmation page: the form again, as it was filled
        try:
            draft = await _draft(request, draft_id)
        except ServiceUnavailable:
            return unavailable(request)
        if draft is None or draft["submitted"]:
            return _expired(request)
        return await _form(request, forms.values_from_fields(draft["fields"]), {}, draft=draft)
    nature = _nature(request.query.get("nature", ""))
    values = {
        "nature": nature.value if nature else "",
        "body_id": request.query.get("organisme", ""),
        "country": "CI",
    }
    return await _form(request, values, {})


def _refused(request: web.Request, status: int, title: str, text: str) -> web.Response:
    response = _render(request, "submit_refused.html", {"title": title, "text": text}, status)
    # The browser may still be sending: do not keep a connection whose body we stopped reading.
    response.force_close()
    return response


async def _interrupted(request: web.Request, exc: uploads.Interrupted) -> web.Response:
    """The form again after the citizen's connection stalled or broke: the values read before,
    the files the draft kept, and why beside the file field (not « Service indisponible »: the
    service is fine, and a retry on a better connection goes through)."""
    upload = exc.upload
    values = forms.cut({name: upload.fields.get(name, "") for name in forms.FORM_TO_API})
    values["country"] = values["country"] or "CI"
    if not values["body_id"]:  # cut before the form's first fields were read
        return _refused(request, 400, "Envoi interrompu", INTERRUPTED)
    errors, notice = {}, None
    if exc.name is not None:
        why = [*upload.file_errors, files.problem(files.INTERRUPTED, exc.name)]
        errors["attachments"] = " ".join(why)
    else:
        notice = INTERRUPTED
    try:
        draft = await _draft(request, upload.draft_id) if upload.draft_id else None
    except ServiceUnavailable:
        draft = None
    response = await _form(request, values, errors, draft=draft, notice=notice, status=422)
    # The rest of the body will not be read: do not keep the connection.
    response.force_close()
    return response


@routes.post("/soumettre/formulaire")
@csrf.reads_own_body
async def post_form(request: web.Request) -> web.Response:
    owner = uploads.draft_owner(request)
    if owner is None or not form_parts.is_form_data(request):
        return _refused(
            request,
            403 if owner is None else 415,
            "Formulaire expiré ou invalide",
            "Rechargez la page du formulaire et recommencez.",
        )
    drafts = request.app[INTAKE].drafts(owner)
    try:
        upload = await uploads.read_form(request, drafts)
    except uploads.Forbidden:
        return _refused(
            request,
            403,
            "Formulaire expiré ou invalide",
            "Rechargez la page du formulaire et recommencez.",
        )
    except uploads.TooLarge:
        return _refused(
            request,
            413,
            "Envoi trop volumineux",
            f"Vous pouvez joindre {files.MAX_FILES} fichiers au plus, de 5 Mo chacun au plus. "
            "Revenez au formulaire et joignez des fichiers plus légers.",
        )
    except uploads.TooManyParts:
        return _refused(
            request,
            413,
            "Formulaire trop long",
            f"Le formulaire envoyé compte trop de parties : {uploads.MAX_FILE_PARTS} fichiers et "
            f"{uploads.MAX_PARTS} parties au plus (vous pouvez joindre {files.MAX_FILES} "
            "fichiers). Revenez au formulaire et recommencez.",
        )
    except uploads.Malformed:
        return _refused(
            request, 400, "Formulaire illisible", "Revenez au formulaire et recommencez."
        )
    except uploads.Interrupted as exc:
        return await _interrupted(request, exc)
    except ServiceUnavailable:
        return unavailable(request)

    values = {name: upload.fields.get(name, "") for name in forms.FORM_TO_API}
    if values["country"] == "":
        values["country"] = "CI"
    fields = forms.draft_fields(upload.fields)
    ticked = upload.fields.getall("remove_file", [])[:20]
    removed = [i for i in (uploads.as_uuid(v) for v in ticked) if i]
    try:
        if upload.draft_id is None:
            status, body = await drafts.create(fields)
        else:
            status, body = await drafts.save(upload.draft_id, fields, removed)
            if status == 404:  # expired (or sent already): its files are gone, start afresh
                upload.draft_lost = True
                status, body = await drafts.create(fields)
        if status not in (200, 201, 422):
            return unavailable(request)
    except ServiceUnavailable:
        return unavailable(request)

    errors = forms.errors_by_field(body.get("errors", []))
    # A text past its field's length: how long it is and what it takes, and only that much of
    # it in the page (intake's « trop long » says neither, and the page sent back 32 Kio).
    errors.update(forms.too_long(values, cut=upload.cut))
    values = forms.cut(values)
    if upload.file_errors:
        errors["attachments"] = " ".join(
            [*upload.file_errors, *([errors["attachments"]] if "attachments" in errors else [])]
        )
    if not errors and body.get("ready"):
        keep_shown(request.app[SHOWN_NEXT], owner, body, time.monotonic())
        raise _see_other("/soumettre/confirmer", brouillon=body["draft_id"])
    try:
        draft = await _draft(request, body["draft_id"])  # the files it holds, to list them
    except ServiceUnavailable:
        return unavailable(request)
    if draft is None:
        return _expired(request)
    notice = (
        "Votre saisie précédente avait expiré : les fichiers joints avant n'ont pas été gardés."
        if upload.draft_lost
        else None
    )
    return await _form(request, values, errors, draft=draft, notice=notice, status=422)


# -- 4. the confirmation ---------------------------------------------------------------------


# « Soumettre »'s answer (the summary intake computed, the files, the version), kept by this
# copy of the gateway for the confirmation page the browser asks for next: that page then needs
# no call to intake. A draft changed since (another tab, another copy) is caught at « OK » by
# its version. Kept a minute at most (the citizen's name and message: not longer than the
# redirect needs), for the owner that sent it; a miss asks intake.
SHOWN_NEXT = web.AppKey("shown_next", dict)
SHOWN_SECONDS = 60.0
SHOWN_KEPT = 5000


def keep_shown(kept: dict, owner: str, body: dict, now: float) -> None:
    """Keep « Soumettre »'s answer ``body`` in ``kept`` (oldest first: what went past its minute
    leaves at each new one, and the oldest when ``SHOWN_KEPT`` are kept)."""
    while kept:
        oldest = next(iter(kept))
        if kept[oldest][1] > now and len(kept) < SHOWN_KEPT:
            break
        del kept[oldest]
    if not isinstance(body.get("summary"), dict) or not isinstance(body.get("version"), int):
        return  # an intake that does not answer them: the page will ask
    kept.pop(body["draft_id"], None)  # at the end again: the order stays the order of expiry
    kept[body["draft_id"]] = (
        owner,
        now + SHOWN_SECONDS,
        {
            "draft_id": body["draft_id"],
            "ready": True,
            "submitted": None,
            "summary": body["summary"],
            "files": body.get("files") or [],
            "version": body["version"],
        },
    )


def _shown(request: web.Request, draft_id: str) -> dict | None:
    """The kept answer for this browser's draft, once: it has served (a reload asks intake)."""
    kept = request.app[SHOWN_NEXT]
    entry = kept.get(draft_id)
    if entry is None or entry[0] != uploads.draft_owner(request):
        return None
    del kept[draft_id]
    return entry[2] if entry[1] > time.monotonic() else None


@routes.get("/soumettre/confirmer")
async def confirm_page(request: web.Request) -> web.Response:
    draft_id = request.query.get("brouillon", "")
    kept = _shown(request, draft_id)
    if kept is not None:
        return _confirm_page(request, kept)
    try:
        draft = await _draft(request, draft_id)
    except ServiceUnavailable:
        return unavailable(request)
    if draft is None:
        return _expired(request)
    if draft["submitted"]:
        raise _see_other("/soumettre/enregistree", brouillon=draft["draft_id"])
    if not draft["ready"] or draft["summary"] is None:
        raise _see_other("/soumettre/formulaire", brouillon=draft["draft_id"])
    return _confirm_page(request, draft)


def _confirm_page(
    request: web.Request,
    draft: dict,
    proof: dict | None = None,
    status: int = 200,
    changed: bool = False,
) -> web.Response:
    """The summary with « Modifier » and « Envoyer ma requête »; ``proof``: the proof of work
    asked (intake's 428), solved by ``static/proof.js`` or, without JavaScript, by waiting;
    ``changed``: « OK » was pressed on a page showing an older version of the draft."""
    summary = draft["summary"]
    return _render(
        request,
        "submit_confirm.html",
        {
            "step": 4,
            "draft": draft,
            "s": summary,
            "csrf_token": csrf.token_for(request),
            "proof": proof,
            "changed": changed,
        },
        status,
    )


@routes.post("/soumettre/confirmer")
async def confirm(request: web.Request) -> web.Response:
    form = await request.post()
    draft_id = uploads.as_uuid(str(form.get("draft_id", "")))
    owner = uploads.draft_owner(request)
    if draft_id is None or owner is None:
        return _expired(request)
    drafts = request.app[INTAKE].drafts(owner)
    challenge = str(form.get("proof_challenge", "")) or None
    nonce = str(form.get("proof_nonce", "")) or None
    shown = str(form.get("version", ""))
    version = whole(shown, 0, 999_999_999)
    try:
        status, body = await drafts.submit(draft_id, challenge, nonce, version)
        if status == 409 and body.get("error") == "draft_changed":
            # Changed since the page was shown (another tab): the summary as it is now, to
            # read again before « Envoyer ma requête ».
            request.app[SHOWN_NEXT].pop(str(draft_id), None)
            draft = await _draft(request, draft_id)
            if draft is None:
                return _expired(request)
            if draft["submitted"]:
                raise _see_other(DONE_PATH, brouillon=str(draft_id))
            if not draft["ready"] or draft["summary"] is None:
                raise _see_other("/soumettre/formulaire", brouillon=str(draft_id))
            return _confirm_page(request, draft, status=409, changed=True)
        if status == 428:  # many submissions from this address: a proof of work first
            draft = await _draft(request, draft_id)
            if draft is None:
                return _expired(request)
            if draft["summary"] is None:
                raise _see_other("/soumettre/formulaire", brouillon=draft_id)
            proof = {
                "challenge": body["challenge"],
                "bits": body["difficulty_bits"],
                "wait_seconds": body["wait_seconds"],
                "reason": body["reason"],
            }
            return _confirm_page(request, draft, proof)
        if status == 422:  # the catalogue changed since: the form again, with the reasons
            draft = await _draft(request, draft_id)
            if draft is None:
                return _expired(request)
            values = forms.values_from_fields(draft["fields"])
            errors = forms.errors_by_field(body.get("errors", []))
            return await _form(request, values, errors, draft=draft, status=422)
    except ServiceUnavailable:
        return unavailable(request)
    if status == 404:
        return _expired(request)
    if status == 429:  # a limit passed: nothing stored, nothing sent
        refused = _refused(request, 429, "Trop de requêtes", body.get("message", ""))
        refused.headers["Retry-After"] = str(body.get("retry_after", 60))
        return refused
    if status not in (200, 201):
        return unavailable(request)
    # The request is stored (intake answered after its commit): its code goes to the next page.
    request.app[SHOWN_NEXT].pop(str(draft_id), None)
    done = _see_other(DONE_PATH, brouillon=str(draft_id))
    nature = _nature(str(body.get("nature", "")))
    if nature is not None and str(body.get("code", "")).isdigit():
        told = told_by(body.get("told_by"))
        done.set_cookie(
            RECEIPT_COOKIE,
            _receipt(request, owner, str(draft_id), body["code"], nature, told),
            max_age=RECEIPT_SECONDS,
            path=DONE_PATH,
            httponly=True,
            samesite="Strict",
            secure=request.app[csrf.SECURE],
        )
    raise done


# -- 5. the code -----------------------------------------------------------------------------

DONE_PATH = "/soumettre/enregistree"
RECEIPT_COOKIE = "milie_enregistree"
RECEIPT_SECONDS = 600


def _receipt_mac(request: web.Request, owner: str, rest: str) -> str:
    message = f"receipt:{owner}:{rest}".encode()
    return hmac.new(request.app[csrf.SECRET], message, hashlib.sha256).hexdigest()[:32]


def _receipt(
    request: web.Request, owner: str, draft_id: str, code: str, nature: Nature, told: list[str]
) -> str:
    """``draft.code.nature.told.expiry.mac`` (``told``: "email-sms", "sms"…), bound to this
    browser's draft owner."""
    media = "-".join(told)
    rest = f"{draft_id}.{code}.{nature.value}.{media}.{int(time.time()) + RECEIPT_SECONDS}"
    return f"{rest}.{_receipt_mac(request, owner, rest)}"


def _from_receipt(request: web.Request, draft_id: str) -> dict[str, Any] | None:
    """The code, nature label and media « OK » left for this draft, if the cookie is ours and
    fresh."""
    owner = uploads.draft_owner(request)
    rest, _, mac = request.cookies.get(RECEIPT_COOKIE, "").rpartition(".")
    parts = rest.split(".")
    if owner is None or len(parts) != 5 or not draft_id:
        return None
    # As bytes: compare_digest refuses a str with other than ASCII in it (a forged cookie).
    if not hmac.compare_digest(mac.encode(), _receipt_mac(request, owner, rest).encode()):
        return None
    kept_for, code, nature_value, media, expiry = parts
    nature = _nature(nature_value)
    if kept_for != draft_id or nature is None or not expiry.isdigit():
        return None
    if int(expiry) < time.time():
        return None
    return {"code": code, "nature_label": nature.label, "told_by": told_by(media.split("-"))}


@routes.get(DONE_PATH)
async def submitted(request: web.Request) -> web.Response:
    draft_id = uploads.as_uuid(request.query.get("brouillon", "")) or ""
    done = _from_receipt(request, draft_id)
    if done is None:  # no cookie (another tab, cookies refused, expired): intake knows the code
        try:
            draft = await _draft(request, draft_id)
        except ServiceUnavailable:
            return unavailable(request)
        if draft is None or not draft["submitted"]:
            return _expired(request)
        done = draft["submitted"]
    return _render(
        request,
        "submitted.html",
        {
            "code": done["code"],
            "nature_label": done["nature_label"],
            "told_by": told_by(done.get("told_by")),
        },
    )
