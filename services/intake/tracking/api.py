"""Intake's HTTP API for following a request (internal: the gateway calls it).

- ``POST /tracking`` ``{code, email}``: the tracking view (200); a mistyped code
  is refused before any look-up or count (422); a wrong code and a wrong email get one identical
  answer (404); too many failures for one code, or for one email, from one client address, or
  too many attempts from one client address, get 429 with ``retry_after`` (seconds) in the body
  and the ``Retry-After`` header. Only failures count toward a code's and an email's limit, and
  only from the address that made them: a stranger who knows a code and guesses emails locks
  out himself, never the owner, who still gets in with the right email.
- ``POST /tracking/rewrite`` ``{code, email, message}``: the citizen's new
  message after a reformulation request (200 with the view; 409 when the request does not wait
  for one; 422 for the message, with the view), counted like a look-up.
- ``POST /tracking/opinion`` ``{code, email, opinion, comment?}`` (opinion: satisfied,
  partly_satisfied, not_satisfied) and ``POST /tracking/reopen`` ``{code, email, message}``: the
  citizen's reply to the body's answer, counted like a look-up. 202 ``{message, view}``: recorded
  and forwarded to treatment through the outbox (citizen.opinion_recorded,
  citizen.reopening_recorded); 409 ``{error, message, view}`` when the request's state does not
  allow it (``not_answered``, ``already_given``, ``already_reopened``, ``closed``); 422
  ``validation_failed`` for the fields (with the view); 404 and 429 as the look-up.
- ``POST /tracking/codes-reminder`` ``{email}``: « Code requête oublié ? »; 202
  with the same message whether the address is known or not; throttled per email and address.

The client's address is the one the gateway resolved (peer, or ``X-Forwarded-For`` from a
trusted proxy) and signed into the call (``shared.signing``); a body that carries a
``client_address`` is refused (422).
"""

from __future__ import annotations

import math
from typing import Annotated

from aiohttp import web
from email_validator import EmailNotValidError
from pydantic import BaseModel, ConfigDict, StringConstraints

from services.intake import throttle
from services.intake.domain import normalize_email
from services.intake.settings import SETTINGS
from services.intake.throttle import Rule
from services.intake.tracking import reminders
from services.intake.tracking import store as tracking
from shared.codes import is_well_formed, normalize
from shared.service import connection, transaction
from shared.signing import call_of
from shared.web import FieldErrors, field_error, json_error, read_model

routes = web.RouteTableDef()

NOT_FOUND = {
    "error": "not_found",
    "message": "Aucune requête ne correspond à ce code et à cette adresse électronique.",
}
REMINDER_SENT = (
    "Si cette adresse a servi à soumettre des requêtes, vous allez recevoir leurs codes par email."
)

Text40 = Annotated[str, StringConstraints(max_length=40)]
Email = Annotated[str, StringConstraints(max_length=254)]


class LookupIn(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True, extra="forbid")
    code: Text40
    email: Email


class RewriteIn(LookupIn):
    # Checked for its length after the code and email matched (see tracking.check_message);
    # this bound only keeps a huge body from being parsed.
    message: Annotated[str, StringConstraints(max_length=20_000)]


class OpinionIn(LookupIn):
    # Judged after the code and email matched (tracking.check_opinion), in the citizen's words.
    opinion: Annotated[str, StringConstraints(max_length=40)] = ""
    comment: Annotated[str, StringConstraints(max_length=20_000)] | None = None


class ReopenIn(LookupIn):
    message: Annotated[str, StringConstraints(max_length=20_000)] = ""


OPINION_RECORDED = (
    "Votre avis a été enregistré. Merci : il sera transmis à l'organisme et comptera dans ses "
    "statistiques."
)
REOPENING_RECORDED = (
    "Votre requête a été relancée : votre message a été enregistré et la requête sera traitée "
    "de nouveau par l'organisme."
)


class ReminderIn(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True, extra="forbid")
    email: Email


def _not_found() -> web.Response:
    # Always the same bytes (no correlation id): a wrong code and a wrong email look alike.
    return web.json_response(NOT_FOUND, status=404)


def retry_message(seconds: int) -> str:
    minutes = max(1, math.ceil(seconds / 60))
    return f"Trop de tentatives. Réessayez dans {minutes} minute{'s' if minutes > 1 else ''}."


def _throttled(seconds: int) -> web.Response:
    response = json_error(429, "throttled", retry_message(seconds), retry_after=seconds)
    response.headers["Retry-After"] = str(seconds)
    return response


def _checked_email(email: str) -> str | None:
    try:
        return normalize_email(email)
    except EmailNotValidError:
        return None


def _code_and_email(query: LookupIn) -> tuple[str, str]:
    """The code and email to look up; :class:`FieldErrors` says what is wrong with them. Said
    before any look-up and not counted: a mistyped code cannot match a request."""
    code = normalize(query.code)
    email = _checked_email(query.email) if query.email else None
    errors = []
    if not code:
        errors.append(field_error("code", "Saisissez le code de votre requête.", "missing"))
    elif not is_well_formed(code):
        errors.append(
            field_error(
                "code",
                "Ce code est mal saisi : il compte 10 chiffres, vérifiez-les.",
                "code_mistyped",
            )
        )
    if not query.email:
        errors.append(field_error("email", "Saisissez l'adresse électronique utilisée.", "missing"))
    elif email is None:
        errors.append(field_error("email", "Cette adresse électronique n'est pas valide."))
    if errors:
        raise FieldErrors(errors)
    assert email is not None
    return code, email


def lookup_rules(request: web.Request) -> tuple[Rule, Rule, Rule]:
    """Failures per (code, client address), failures per (email, client address), and every
    attempt per client address."""
    s = request.app[SETTINGS]
    window = s.tracking_window_seconds
    return (
        Rule("lookup:code-failures", s.tracking_per_code, window),
        Rule("lookup:email-failures", s.tracking_per_email, window),
        Rule("lookup:client", s.tracking_per_client, window),
    )


def reminder_rules(request: web.Request) -> tuple[Rule, Rule]:
    s = request.app[SETTINGS]
    window = s.reminder_window_seconds
    return (
        Rule("reminder:email", s.reminder_per_email, window),
        Rule("reminder:client", s.reminder_per_client, window),
    )


class Counted:
    """A look-up counted as a failure until it succeeds (:meth:`succeeded` takes it back)."""

    def __init__(self, request: web.Request, code: str, email: str) -> None:
        by_code, by_email, by_client = lookup_rules(request)
        client = throttle.client_key(call_of(request).client_address)
        self.request = request
        self.failures = [
            (by_code, f"{code}\x00{client}"),
            (by_email, f"{email.lower()}\x00{client}"),
        ]
        self.attempts = [*self.failures, (by_client, client)]

    async def wait(self) -> int | None:
        async with connection(self.request) as conn:
            return await throttle.hit(conn, self.attempts)

    async def succeeded(self) -> None:
        async with connection(self.request) as conn:
            await throttle.refund(conn, self.failures)


async def _count_lookup(request: web.Request, code: str, email: str) -> tuple[int | None, Counted]:
    """Count the look-up as a failure beforehand (so parallel guesses cannot all pass); the
    seconds to wait when a limit is passed."""
    counted = Counted(request, code, email)
    return await counted.wait(), counted


@routes.post("/tracking")
async def track(request: web.Request) -> web.Response:
    query = await read_model(request, LookupIn)
    code, email = _code_and_email(query)
    wait, counted = await _count_lookup(request, code, email)
    if wait is not None:
        return _throttled(wait)
    async with connection(request) as conn:
        view = await tracking.find(conn, code, email)
    if view is None:
        return _not_found()
    await counted.succeeded()
    return web.json_response(view)


@routes.post("/tracking/rewrite")
async def rewrite(request: web.Request) -> web.Response:
    query = await read_model(request, RewriteIn)
    code, email = _code_and_email(query)
    wait, counted = await _count_lookup(request, code, email)
    if wait is not None:
        return _throttled(wait)
    outcome = await transaction(
        request, lambda conn: tracking.rewrite(conn, code, email, query.message)
    )
    if outcome.kind == "not_found":
        return _not_found()
    await counted.succeeded()
    if outcome.kind == "not_allowed":
        return json_error(
            409,
            "not_awaiting_reformulation",
            "Cette requête n'attend pas de reformulation : son message ne peut plus être modifié.",
            view=outcome.view,
        )
    if outcome.kind == "invalid":
        raise FieldErrors(outcome.errors, view=outcome.view)
    return web.json_response(outcome.view)


async def _reply(request: web.Request, query: LookupIn, told: str, **said: str | None):
    code, email = _code_and_email(query)
    wait, counted = await _count_lookup(request, code, email)
    if wait is not None:
        return _throttled(wait)
    outcome = await transaction(request, lambda conn: tracking.reply(conn, code, email, **said))
    if outcome.kind == "not_found":
        return _not_found()
    await counted.succeeded()
    if outcome.kind == "refused":
        return json_error(409, outcome.error, outcome.message, view=outcome.view)
    if outcome.kind == "invalid":
        raise FieldErrors(outcome.errors, view=outcome.view)
    return web.json_response({"message": told, "view": outcome.view}, status=202)


@routes.post("/tracking/opinion")
async def opinion(request: web.Request) -> web.Response:
    query = await read_model(request, OpinionIn)
    return await _reply(
        request, query, OPINION_RECORDED, opinion=query.opinion, comment=query.comment
    )


@routes.post("/tracking/reopen")
async def reopen(request: web.Request) -> web.Response:
    query = await read_model(request, ReopenIn)
    return await _reply(request, query, REOPENING_RECORDED, message=query.message)


@routes.post("/tracking/codes-reminder")
async def codes_reminder(request: web.Request) -> web.Response:
    query = await read_model(request, ReminderIn)
    if not query.email:
        raise FieldErrors(
            [field_error("email", "Saisissez votre adresse électronique.", "missing")]
        )
    email = _checked_email(query.email)
    if email is None:
        raise FieldErrors([field_error("email", "Cette adresse électronique n'est pas valide.")])
    by_email, by_client = reminder_rules(request)
    client = throttle.client_key(call_of(request).client_address)
    attempts = [(by_email, email.lower()), (by_client, client)]
    async with connection(request) as conn:
        wait = await throttle.hit(conn, attempts)
    if wait is not None:
        return _throttled(wait)
    await transaction(request, lambda conn: reminders.request_reminder(conn, email))
    return web.json_response({"message": REMINDER_SENT}, status=202)
