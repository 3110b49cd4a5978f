"""« Suivre une requête »: the citizen's tracking pages.

- ``/suivre``: code + email or mobile number (one field, « Adresse e-mail ou numéro de
  mobile »: a citizen who gave no email, such as a call-centre caller, tracks with the number;
  see :data:`CONTACT_LABEL`), then (303, so that reloading never asks to resubmit)
  ``/suivre/requete``: the banner (where it stands, the date due, the action), the request's
  table, its history and the steps;
- ``/suivre/modifier``: the rewritten message of a request sent back for reformulation;
- ``/suivre/avis`` and ``/suivre/relancer``: « DONNER NOTRE AVIS DE FIN OU RELANCER LA REQUETE
  SVP ! », the citizen's opinion of the body's answer or its reopening;
- ``/suivre/document``: a document of the body's answers, downloaded by whoever gives the right
  code and email (checked with intake, throttled like a look-up), the bytes from treatment;
- ``/suivre/piece-jointe``: one of the citizen's own attachments, the same way (the bytes from
  intake), until the personal data is purged;
- ``/suivre/code-oublie``: « Code requête oublié ? », the codes emailed to the address, or sent
  by SMS to the mobile number.

The form field keeps the name ``email`` (the pages' hidden fields, the forms open in browsers),
whatever it holds; intake is sent an ``email`` or a ``phone`` (``clients.intake.contact_fields``).

Intake does the work (look-up, throttling, rewrite, reminder); the gateway says who is asking
(the client address, from ``X-Forwarded-For`` only behind a trusted proxy) and renders. Every
page works without JavaScript; a result page showing personal data is never cached.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
import time
from collections.abc import Callable
from typing import Any

import aiohttp
import aiohttp_jinja2
from aiohttp import web

from gateway.citizen import uploads
from gateway.clients.intake import INTAKE
from gateway.clients.transport import ServiceUnavailable
from gateway.clients.treatment import TREATMENT
from gateway.web import csrf, downloads, form_parts, forms, lookup
from gateway.web.lookup import retry_after as _retry_after
from gateway.web.lookup import retry_message
from shared import attachments as files
from shared import lifecycle
from shared.codes import normalize

routes = web.RouteTableDef()

# « Comprendre les étapes de traitement », in the citizen guide's words.
STEPS = lifecycle.STEPS
REWRITTEN = (
    "Votre message a bien été modifié. Votre requête attend de nouveau l'examen de l'analyste."
)
# One field rather than two: a citizen on a small phone types the one thing they gave, with no
# « fill one of the two » rule to understand, and the refusal stays the same sentence whichever
# it was; the page says which the request knows (« Adresse électronique », « Numéro de mobile »).
CONTACT_LABEL = "Adresse e-mail ou numéro de mobile"
TRACK_LABELS = {"code": "Code Requête", "email": CONTACT_LABEL}
# « Satisfait », « Partiellement satisfait », « Non satisfait »: the radio buttons of the form.
OPINIONS = [(str(value), label) for value, label in lifecycle.OPINION_LABELS.items()]
DOCUMENT_MISSING = (
    "Ce document n'est pas joint aux réponses de votre requête, ou n'est plus disponible."
)
ATTACHMENT_MISSING = (
    "Cette pièce jointe n'est pas l'une de celles de votre requête, ou n'est plus disponible."
)


def _private(response: web.StreamResponse) -> web.StreamResponse:
    # The page shows the citizen's request: no shared cache, no back-button copy after leaving.
    response.headers["Cache-Control"] = "no-store"
    return response


def _unavailable(request: web.Request) -> web.Response:
    return aiohttp_jinja2.render_template(
        "unavailable.html", request, {"csrf_token": csrf.token_for(request)}, status=503
    )


def _track_form(
    request: web.Request, values: dict[str, str], status: int = 200, **context: Any
) -> web.Response:
    context.setdefault("errors", {})
    context.update(values=forms.cut(values), csrf_token=csrf.token_for(request))
    response = aiohttp_jinja2.render_template("track.html", request, context, status=status)
    return _private(response)


def _throttled_form(request: web.Request, values: dict[str, str], body: Any) -> web.Response:
    seconds = _retry_after(body)
    response = _track_form(request, values, 429, throttled=retry_message(seconds))
    response.headers["Retry-After"] = str(seconds)
    return response


async def _tracking_page(
    request: web.Request, view: dict, email: str, status: int = 200, **context: Any
) -> web.Response:
    context.update(
        request_view=view,
        # Wherever the page invites the opinion, until when (asked of treatment only then).
        opinion_until=await request.app[TREATMENT].opinion_until_day(view),
        email=email,
        steps=STEPS,
        csrf_token=csrf.token_for(request),
    )
    context.setdefault("rewrite_value", None)
    context.setdefault("reply_errors", {})
    context.setdefault("reply_values", {})
    context.setdefault("opinions", OPINIONS)
    context.setdefault("rewrite_files", [])
    context.setdefault("max_files", files.MAX_FILES)
    response = aiohttp_jinja2.render_template("tracking.html", request, context, status=status)
    return _private(response)


# -- Post/Redirect/Get: the code and email in a short-lived signed cookie ---------------------
#
# The POST of the form answers 303 to /suivre/requete, which looks the request up from a cookie:
# reloading the page or going back never asks to resubmit. The email is never in a URL (nor in
# the history, the logs or a Referer), and /suivre/requete alone (or with a code) shows nothing.
# A signed cookie rather than a server-side token: the gateway keeps no state and may run as
# several instances; the cookie holds only what the citizen typed in this very browser,
# HttpOnly (no script reads it), SameSite=Strict, scoped to /suivre, for LOOKUP_TTL seconds;
# its HMAC (the forms' secret, its own prefix) refuses a forged or edited one. Each GET is a
# look-up of intake's, throttled as the form's.

LOOKUP_COOKIE = "milie_suivi"
LOOKUP_PATH = "/suivre/requete"
LOOKUP_TTL = 15 * 60


def _lookup_mac(secret: bytes, payload: str) -> str:
    return hmac.new(secret, b"suivi:" + payload.encode(), hashlib.sha256).hexdigest()


def _lookup_cookie(request: web.Request, code: str, email: str, notice: str = "") -> str:
    data = {"c": code, "e": email, "x": int(time.time()) + LOOKUP_TTL}
    if notice:
        data["n"] = notice
    text = json.dumps(data)
    payload = base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")
    return f"{payload}.{_lookup_mac(request.app[csrf.SECRET], payload)}"


def _looked_up(request: web.Request) -> tuple[str, str, str] | None:
    """(code, email, notice) of the cookie when it is ours, unaltered and not expired; the
    notice is the confirmation an action's redirect carries, to be shown once."""
    payload, _, mac = request.cookies.get(LOOKUP_COOKIE, "").partition(".")
    if not payload or not mac:
        return None
    expected = _lookup_mac(request.app[csrf.SECRET], payload)
    if not hmac.compare_digest(mac.encode(), expected.encode()):
        return None
    try:
        data = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        code, email, expires = str(data["c"]), str(data["e"]), int(data["x"])
        notice = str(data.get("n", ""))
    except (ValueError, KeyError, TypeError, AttributeError):
        return None
    return (code, email, notice) if expires > time.time() else None


def _remember(
    request: web.Request, response: web.StreamResponse, code: str, email: str, notice: str = ""
) -> None:
    response.set_cookie(
        LOOKUP_COOKIE,
        _lookup_cookie(request, code, email, notice),
        max_age=LOOKUP_TTL,
        path="/suivre",
        httponly=True,
        samesite="Strict",
        secure=request.app[csrf.SECURE],
    )


def _done(request: web.Request, values: dict[str, str], notice: str) -> web.Response:
    """Post/Redirect/Get after a rewrite, an opinion or a reopening that intake recorded: 303 to
    the request's page, which says ``notice`` once (the cookie carries it, signed, and the page
    takes it out); reloading that page looks the request up again and never resubmits."""
    response = _see_other(LOOKUP_PATH)
    _remember(request, response, normalize(values["code"]), values["email"], notice)
    return response


def _see_other(location: str) -> web.Response:
    return web.Response(status=303, headers={"Location": location, "Cache-Control": "no-store"})


@routes.get("/suivre")
async def track_form(request: web.Request) -> web.Response:
    code = request.query.get("code", "")[: forms.MAX_LENGTHS["code"]]  # « Suivre ma … »'s link
    return _track_form(request, {"code": code, "email": ""})


@routes.post("/suivre")
async def track(request: web.Request) -> web.Response:
    form = await request.post()
    values = lookup.typed(form, "code", "email")
    errors = lookup.check_code_and_contact(values)
    if errors:
        return _track_form(request, values, 422, errors=errors)
    response = _see_other(LOOKUP_PATH)
    _remember(request, response, normalize(values["code"]), values["email"])
    return response


def _refused_look_up(
    request: web.Request, values: dict[str, str], status: int, body: Any
) -> web.Response:
    """The code and email found nothing (404), were refused (422) or asked too often (429): the
    tracking form again with what was typed; anything else, « service indisponible »."""
    if status == 404:
        return _track_form(request, values, 404, not_found=True)
    if status == 422:
        return _track_form(request, values, 422, errors=lookup.errors_of(body))
    if status == 429:
        return _throttled_form(request, values, body)
    return _unavailable(request)


@routes.get(LOOKUP_PATH)
async def tracked(request: web.Request) -> web.StreamResponse:
    """The request of the code and email the form just posted (see :func:`track`)."""
    looked_up = _looked_up(request)
    if looked_up is None:  # expired, another browser, or typed by hand: the form again
        return _see_other("/suivre")
    values = {"code": looked_up[0], "email": looked_up[1]}
    notice = looked_up[2]
    try:
        status, body = await request.app[INTAKE].track(normalize(values["code"]), values["email"])
    except ServiceUnavailable:
        return _unavailable(request)
    if status != 200:
        return _refused_look_up(request, values, status, body)
    response = await _tracking_page(
        request,
        body,
        values["email"],
        notice=notice or None,
    )
    if notice:  # said once: the cookie again without it
        _remember(request, response, values["code"], values["email"])
    return response


async def _rewrite_form(
    request: web.Request,
) -> tuple[Any, str | None, list[str], Any, set[str]]:
    """The rewrite form's fields, the draft holding its documents (None: none added), why some
    documents were refused, the drafts' client (None without a form cookie), and the fields cut
    on reading (``uploads.Upload.cut``).

    The form is ``multipart/form-data`` (its documents streamed into an intake draft as the
    submission form's are, with the same checks); a plain urlencoded one (no document) is read
    as such, its CSRF token checked by the middleware. Raises what ``uploads.read_form`` raises."""
    owner = uploads.draft_owner(request)
    drafts = request.app[INTAKE].drafts(owner) if owner else None
    if not form_parts.is_form_data(request):
        form = await request.post()
        return form, uploads.as_uuid(str(form.get("draft_id", ""))), [], drafts, set()
    if drafts is None:
        raise uploads.Forbidden()
    upload = await uploads.read_form(request, drafts)
    return upload.fields, upload.draft_id, upload.file_errors, drafts, upload.cut


def _upload_refused(request: web.Request, status: int, title: str, text: str) -> web.Response:
    response = aiohttp_jinja2.render_template(
        "submit_refused.html",
        request,
        {"status": status, "title": title, "text": text, "back": "/suivre"},
        status=status,
    )
    response.force_close()  # the rest of the body will not be read
    return response


async def _kept_files(drafts: Any, draft_id: str | None) -> list[dict[str, Any]]:
    """The documents the draft holds (listed with the form shown again), none when it is gone."""
    if drafts is None or draft_id is None:
        return []
    status, body = await drafts.get(draft_id)
    return body.get("files", []) if status == 200 else []


@routes.post("/suivre/modifier")
@csrf.reads_own_body
async def rewrite(request: web.Request) -> web.Response:
    """« Modifier »: the rewritten message, with documents added if the citizen chose some."""
    try:
        form, draft_id, file_errors, drafts, cut = await _rewrite_form(request)
    except uploads.Forbidden:
        return _upload_refused(
            request, 403, "Formulaire expiré ou invalide", "Rechargez la page et recommencez."
        )
    except uploads.TooLarge:
        return _upload_refused(
            request,
            413,
            "Envoi trop volumineux",
            f"Vous pouvez joindre {files.MAX_FILES} documents au plus, de 5 Mo chacun au plus.",
        )
    except uploads.Malformed:
        return _upload_refused(request, 400, "Formulaire illisible", "Recommencez.")
    except uploads.Interrupted as exc:
        upload = exc.upload
        form, draft_id, drafts, cut = upload.fields, upload.draft_id, None, upload.cut
        name = exc.name or ""
        file_errors = [*upload.file_errors, files.problem(files.INTERRUPTED, name)]
        if owner := uploads.draft_owner(request):
            drafts = request.app[INTAKE].drafts(owner)
    except ServiceUnavailable:
        return _unavailable(request)
    values = lookup.typed(form, "code", "email")
    message = str(form.get("message", ""))
    errors = lookup.check_code_and_contact(values)
    if errors:
        return _track_form(request, values, 422, errors=errors)
    code, email = normalize(values["code"]), values["email"]
    too_long = forms.too_long({"message": message}, cut=cut)
    message = forms.cut({"message": message})["message"]
    # « Retirer » ticked beside a document kept from a refused « Modifier »: out of the draft
    # first, whatever happens next (the list shown again, or the rewrite without it).
    ticked = form.getall("remove_file", [])[: files.MAX_FILES]
    removed = [i for i in (uploads.as_uuid(str(v)) for v in ticked) if i]
    try:
        if removed and drafts is not None and draft_id is not None:
            status, _ = await drafts.save(draft_id, {}, removed)
            if status == 404:  # gone: its documents with it
                draft_id = None
            elif status not in (200, 422):  # 422: a rewrite's draft holds no form fields
                return _unavailable(request)
        if file_errors or too_long:  # nothing rewritten: the page again, the refusals said
            status, body = await request.app[INTAKE].track(code, email)
            if status != 200:
                return _refused_look_up(request, values, status, body)
            view, problems = body, dict(too_long)
            if file_errors:
                problems["attachments"] = " ".join(file_errors)
        else:
            if drafts is not None:
                status, body = await drafts.rewrite(code, email, message, draft_id)
            else:
                status, body = await request.app[INTAKE].rewrite(code, email, message)
            if status == 200:
                return _done(request, values, REWRITTEN)
            if status == 409 and body.get("view"):
                return await _tracking_page(
                    request, body["view"], email, 409, problem=body.get("message")
                )
            if status != 422 or not body.get("view"):
                return _refused_look_up(request, values, status, body)
            view, problems = body["view"], forms.errors_by_field(body.get("errors", []))
            if "attachments" in problems:  # the draft expired: its documents are gone
                draft_id = None
        kept = await _kept_files(drafts, draft_id)
    except ServiceUnavailable:
        return _unavailable(request)
    return await _tracking_page(
        request,
        view,
        email,
        422,
        rewrite_errors=problems,
        rewrite_value=message,
        rewrite_draft=draft_id if kept else None,
        rewrite_files=kept,
    )


# -- the citizen's reply to the answer: « Donner notre avis » or « Relancer » ------------------


async def _replied(
    request: web.Request,
    values: dict[str, str],
    status: int,
    body: Any,
    *,
    form: str,
    typed: dict[str, str],
) -> web.Response:
    """The tracking page after intake's answer to an opinion or a reopening: the confirmation,
    the refusal, or the form again with the error beside the field and what was typed."""
    email = values["email"]

    async def look_up() -> tuple[int, Any]:
        return await request.app[INTAKE].track(normalize(values["code"]), email)

    try:
        answer = await lookup.reply_answer(status, body, typed, look_up)
    except ServiceUnavailable:
        return _unavailable(request)
    if answer.kind == "recorded":
        return _done(request, values, answer.message)
    if answer.kind == "conflict":
        return await _tracking_page(request, answer.view, email, 409, problem=answer.message)
    if answer.kind == "field_errors":
        return await _tracking_page(
            request,
            answer.view,
            email,
            422,
            reply_form=form,
            reply_errors=answer.problems,
            reply_values=typed,
        )
    return _refused_look_up(request, values, answer.status, answer.body)


@routes.post("/suivre/avis")
async def give_opinion(request: web.Request) -> web.Response:
    form = await request.post()
    values = lookup.typed(form, "code", "email")
    typed = {"opinion": str(form.get("opinion", "")), "comment": str(form.get("comment", ""))}
    errors = lookup.check_code_and_contact(values)
    if errors:
        return _track_form(request, values, 422, errors=errors)
    if refused := lookup.too_long(typed):
        return await _replied(request, values, 422, refused, form="avis", typed=forms.cut(typed))
    try:
        status, body = await request.app[INTAKE].give_opinion(
            normalize(values["code"]),
            values["email"],
            typed["opinion"],
            typed["comment"].strip() or None,
        )
    except ServiceUnavailable:
        return _unavailable(request)
    return await _replied(request, values, status, body, form="avis", typed=typed)


@routes.post("/suivre/relancer")
async def reopen(request: web.Request) -> web.Response:
    form = await request.post()
    values = lookup.typed(form, "code", "email")
    typed = {"message": str(form.get("message", ""))}
    errors = lookup.check_code_and_contact(values)
    if errors:
        return _track_form(request, values, 422, errors=errors)
    if refused := lookup.too_long(typed):
        return await _replied(request, values, 422, refused, form="relance", typed=forms.cut(typed))
    try:
        status, body = await request.app[INTAKE].reopen(
            normalize(values["code"]), values["email"], typed["message"]
        )
    except ServiceUnavailable:
        return _unavailable(request)
    return await _replied(request, values, status, body, form="relance", typed=typed)


# -- a document of the body's answers -----------------------------------------------------------

_PASSED_ON = ("Content-Type", "Content-Length", "X-Content-Type-Options")  # of the document


@routes.post("/suivre/document")
async def document(request: web.Request) -> web.StreamResponse:
    """The code and email checked with intake (the look-up, throttled), the document one of the
    request's answers' documents, then its bytes from treatment, streamed as a download."""
    return await _download(
        request,
        "document_id",
        "documents",
        lambda wanted, code: request.app[TREATMENT].citizen_document(wanted, code),
        DOCUMENT_MISSING,
    )


@routes.post("/suivre/piece-jointe")
async def attachment(request: web.Request) -> web.StreamResponse:
    """The citizen's own attachment, as the answer's documents: the code and email checked with
    intake (the look-up, throttled), the file one the view lists (none once purged), then its
    bytes from intake, streamed as a download."""
    return await _download(
        request,
        "attachment_id",
        "attachments",
        lambda wanted, code: request.app[INTAKE].citizen_attachment(wanted, code),
        ATTACHMENT_MISSING,
    )


async def _download(
    request: web.Request,
    field: str,
    listed_in: str,
    open_file: Callable[[str, str], contextlib.AbstractAsyncContextManager[Any]],
    missing: str,
) -> web.StreamResponse:
    """A file the tracking view lists under ``listed_in`` by its ``field`` id, for whoever gives
    the request's code and email: the look-up first, then ``open_file(id, code)`` streamed."""
    form = await request.post()
    values = lookup.typed(form, "code", "email", field)
    errors = lookup.check_code_and_contact(values)
    if errors:
        return _track_form(request, values, 422, errors=errors)
    code = normalize(values["code"])
    try:
        status, view = await request.app[INTAKE].track(code, values["email"])
    except ServiceUnavailable:
        return _unavailable(request)
    if status == 404:
        return _track_form(request, values, 404, not_found=True)
    if status == 429:
        return _throttled_form(request, values, view)
    if status != 200:
        return _track_form(request, values, 422, errors=lookup.errors_of(view))
    wanted = values[field]
    if wanted not in {d[field] for d in view.get(listed_in, [])}:
        return await _tracking_page(request, view, values["email"], 404, problem=missing)
    try:
        async with open_file(wanted, code) as resp:
            if resp.status == 404:
                return await _tracking_page(request, view, values["email"], 404, problem=missing)
            if resp.status != 200:
                return _unavailable(request)
            # Always a download, never shown in the page's origin; never kept by a cache.
            headers = downloads.passed_on(resp, _PASSED_ON) | {
                "Content-Disposition": resp.headers.get("Content-Disposition", "attachment"),
                "Cache-Control": "no-store",
            }
            return await downloads.relay(request, resp, headers)
    except (aiohttp.ClientError, TimeoutError):
        return _unavailable(request)


def _forgot_form(
    request: web.Request, values: dict[str, str], status: int = 200, **context: Any
) -> web.Response:
    context.setdefault("errors", {})
    context.update(
        values=forms.cut(values),
        csrf_token=csrf.token_for(request),
        # The advice on junk mail is for an address, not a mobile number.
        by_email="@" in values.get("email", ""),
    )
    return aiohttp_jinja2.render_template("forgot_code.html", request, context, status=status)


@routes.get("/suivre/code-oublie")
async def forgot_form(request: web.Request) -> web.Response:
    return _forgot_form(request, {"email": ""})


@routes.post("/suivre/code-oublie")
async def forgot(request: web.Request) -> web.Response:
    form = await request.post()
    values = lookup.typed(form, "email")
    if not values["email"]:
        return _forgot_form(
            request,
            values,
            422,
            errors={"email": "Saisissez votre adresse e-mail ou votre numéro de mobile."},
        )
    if errors := forms.too_long(values):
        return _forgot_form(request, values, 422, errors=errors)
    if problem := lookup.contact_problem(values["email"]):
        return _forgot_form(request, values, 422, errors={"email": problem})
    try:
        status, body = await request.app[INTAKE].remind_codes(values["email"])
    except ServiceUnavailable:
        return _unavailable(request)
    if status == 202:
        return _forgot_form(request, values, sent=body.get("message"))
    if status == 422:
        return _forgot_form(request, values, 422, errors=lookup.errors_of(body))
    if status == 429:
        seconds = _retry_after(body)
        response = _forgot_form(request, values, 429, throttled=retry_message(seconds))
        response.headers["Retry-After"] = str(seconds)
        return response
    return _unavailable(request)
