"""« Suivi d'un appel »: a caller with no internet (a basic phone: they get SMS) phones back; the
operator looks their request up with its code and the caller's mobile number or email, reads out
where it stands, its history and the body's answer, and — when the answer awaits the caller's
opinion — records « Satisfait », « Partiellement satisfait » or « Non satisfait » (with a
comment), or « Relancer » (with a message), on the caller's behalf.

The look-up and the replies are the citizen's (``gateway.citizen.tracking``): the same intake
routes through the same client, with the same checks (``web.lookup``) and the same refusals; the
operator's identity is signed into each call with the channel ``phone``, so that intake counts its
limits per operator and records a reply as given by telephone, then forwards it to treatment
through its outbox as it does the citizen's. Each page that shows a request, and each reply, is a
line of the gateway's audit log naming the operator; the history names the operator who took
each reply by phone (intake says which, to an operator's call only).

The code and the caller's contact travel in the page's forms (hidden fields, POST only): never in
an address, a log or the browser's history. Every page is private (``no-store``).
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from gateway.backoffice import access, shell
from gateway.clients.intake import INTAKE
from gateway.clients.transport import ServiceUnavailable
from gateway.clients.treatment import TREATMENT
from gateway.staff import accounts, audit
from gateway.web import forms, lookup
from shared import lifecycle
from shared.codes import normalize
from shared.identity import Role
from shared.service import POOL

routes = web.RouteTableDef()
PATH = "/admin/appel/suivi"
LABELS = {"code": "Code Requête", "email": "Numéro de mobile ou adresse e-mail de l'appelant"}
REPLY_LABELS = {"opinion": "Avis de l'appelant", "comment": "Commentaire", "message": "Relance"}
OPINIONS = [(str(value), label) for value, label in lifecycle.OPINION_LABELS.items()]
# The guide's steps by number: « Etape 3 : Avis du citoyen ».
STEP_TITLES = {number: title for number, title, _ in lifecycle.STEPS}
DONE_TITLES = {"avis": "Avis enregistré", "relance": "Relance enregistrée"}
REPLY_FIELDS = {"avis": ("opinion", "comment"), "relance": ("message",)}


def _private(response: web.Response) -> web.Response:
    # The page shows a citizen's request: no shared cache, no back-button copy after leaving.
    response.headers["Cache-Control"] = "no-store"
    return response


async def _form(
    request: web.Request, values: dict[str, str], status: int = 200, **context: Any
) -> web.Response:
    context.setdefault("errors", {})
    page = await shell.render(
        request,
        "backoffice/operator_followup_form.html",
        {"title": "Suivi d'un appel", "values": values, "labels": LABELS, **context},
        status=status,
    )
    return _private(page)


async def _unavailable(request: web.Request) -> web.Response:
    return await shell.unavailable(
        request, "Le suivi des requêtes", back=(PATH, "Revenir au suivi d'un appel")
    )


async def _refused(
    request: web.Request, values: dict[str, str], status: int, body: Any
) -> web.Response:
    """The look-up refused by intake: the form again, what was typed kept — the citizen page's
    answers (one sentence for a wrong code and a wrong contact alike, the limits' wait)."""
    if status == 404:
        return await _form(request, values, 404, not_found=True)
    if status == 422:
        return await _form(request, values, 422, errors=lookup.errors_of(body))
    if status == 429:
        seconds = lookup.retry_after(body)
        page = await _form(request, values, 429, throttled=lookup.retry_message(seconds))
        page.headers["Retry-After"] = str(seconds)
        return page
    return await _unavailable(request)


async def _name_operators(request: web.Request, view: dict) -> None:
    """Each history line of a reply taken by phone (intake's ``operator_id``, given to an
    operator's call only) says who took it, as the body's history does (« opérateur : … »); so
    does a reply taken by phone that waits for treatment (« par téléphone, via le centre
    d'appels (opérateur : …) »: nothing else on the page says the channel yet)."""
    pending = view.get("pending_reply") or {}
    lines = view.get("history", [])
    ids = [x.get("operator_id") for x in (pending, *lines) if x.get("operator_id")]
    if not ids:
        return
    async with request.app[POOL].acquire(timeout=10) as conn:
        names = await accounts.names_by_id(conn, ids)
    for line in lines:
        if name := names.get(line.get("operator_id") or ""):
            line["taken_by"] = lifecycle.taken_by(name)
    if name := names.get(pending.get("operator_id") or ""):
        pending["taken_by"] = lifecycle.by_phone(name)


async def _request_page(
    request: web.Request, view: dict, contact: str, status: int = 200, **context: Any
) -> web.Response:
    await _name_operators(request, view)
    context.setdefault("reply_errors", {})
    context.setdefault("reply_values", {})
    page = await shell.render(
        request,
        "backoffice/operator_followup.html",
        {
            "title": "Suivi d'un appel",
            "r": view,
            "contact": contact,
            "step_title": STEP_TITLES.get(view.get("step")),
            "opinion_until": await request.app[TREATMENT].opinion_until_day(view),
            "opinions": OPINIONS,
            "reply_labels": REPLY_LABELS,
            **context,
        },
        status=status,
    )
    return _private(page)


async def _audit(request: web.Request, action: str, code: str, detail: str) -> None:
    await access.record_action(request, action, audit.REQUEST_TARGET.format(code=code), detail)


@routes.get(PATH, name="bo-appel-suivi")
@access.staff_required(Role.OPERATOR)
async def form_page(request: web.Request) -> web.Response:
    return await _form(request, {"code": "", "email": ""})


@routes.post(PATH, name="bo-appel-suivi-chercher")
@access.staff_required(Role.OPERATOR)
async def look_up(request: web.Request) -> web.Response:
    values = lookup.typed(await request.post(), "code", "email")
    if errors := lookup.check_code_and_contact(values):
        return await _form(request, values, 422, errors=errors)
    code = normalize(values["code"])
    operator = access.staff_identity(request)
    try:
        status, body = await request.app[INTAKE].track(code, values["email"], operator=operator)
    except ServiceUnavailable:
        return await _unavailable(request)
    if status != 200:
        return await _refused(request, values, status, body)
    await _audit(request, "caller_request_read", code, "Suivi d'un appel : requête consultée")
    return await _request_page(request, body, values["email"])


async def _replied(
    request: web.Request,
    values: dict[str, str],
    status: int,
    body: Any,
    *,
    form: str,
    typed: dict[str, str],
) -> web.Response:
    """Intake's answer to the caller's reply: the confirmation (and the audit line), the
    request's page with the refusal or the errors beside the fields, or the look-up form."""
    code, contact = normalize(values["code"]), values["email"]

    async def look_up() -> tuple[int, Any]:
        return await request.app[INTAKE].track(
            code, contact, operator=access.staff_identity(request)
        )

    try:
        answer = await lookup.reply_answer(status, body, typed, look_up)
    except ServiceUnavailable:
        return await _unavailable(request)
    if answer.kind == "recorded":
        if form == "avis":
            said = lifecycle.opinion_label(typed["opinion"]) or typed["opinion"]
            action, detail = "caller_opinion_recorded", f"Avis de l'appelant : {said}"
        else:
            action, detail = "caller_reopening_recorded", "Relance de l'appelant"
        await _audit(request, action, code, detail)
        page = await shell.render(
            request,
            "backoffice/operator_followup_done.html",
            {"title": DONE_TITLES[form], "r": answer.view, "told": answer.message},
        )
        return _private(page)
    if answer.kind == "conflict":
        return await _request_page(request, answer.view, contact, 409, problem=answer.message)
    if answer.kind == "field_errors":
        return await _request_page(
            request,
            answer.view,
            contact,
            422,
            reply_form=form,
            reply_errors=answer.problems,
            reply_values=typed,
        )
    return await _refused(request, values, answer.status, answer.body)


async def _reply(request: web.Request, form_kind: str) -> web.Response:
    """The caller's opinion (``avis``) or reopening (``relance``), sent to intake as the
    citizen's page sends it, on the caller's behalf."""
    form = await request.post()
    values = lookup.typed(form, "code", "email")
    typed = {name: str(form.get(name, "")) for name in REPLY_FIELDS[form_kind]}
    if errors := lookup.check_code_and_contact(values):
        return await _form(request, values, 422, errors=errors)
    if refused := lookup.too_long(typed):
        return await _replied(request, values, 422, refused, form=form_kind, typed=forms.cut(typed))
    code, contact = normalize(values["code"]), values["email"]
    operator = access.staff_identity(request)
    intake = request.app[INTAKE]
    try:
        if form_kind == "avis":
            comment = typed["comment"].strip() or None
            said = intake.give_opinion(code, contact, typed["opinion"], comment, operator=operator)
        else:
            said = intake.reopen(code, contact, typed["message"], operator=operator)
        status, body = await said
    except ServiceUnavailable:
        return await _unavailable(request)
    return await _replied(request, values, status, body, form=form_kind, typed=typed)


@routes.post(PATH + "/avis", name="bo-appel-suivi-avis")
@access.staff_required(Role.OPERATOR)
async def give_opinion(request: web.Request) -> web.Response:
    return await _reply(request, "avis")


@routes.post(PATH + "/relancer", name="bo-appel-suivi-relancer")
@access.staff_required(Role.OPERATOR)
async def reopen(request: web.Request) -> web.Response:
    return await _reply(request, "relance")
