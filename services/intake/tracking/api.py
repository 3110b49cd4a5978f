"""Intake's HTTP API for following a request (internal: the gateway calls it).

Every route below takes the citizen's ``email`` *or* their mobile ``phone`` (a citizen who gave
no email, such as a call-centre caller, tracks with code + mobile number): the number is compared
in E.164 (read with Côte d'Ivoire's plan unless it starts with ``+``), throttled as an email is
(its own counter per number, the same limits), and refused with the same messages.

- ``POST /tracking`` ``{code, email | phone}``: the tracking view (200); a mistyped code
  is refused before any look-up or count (422); a wrong code and a wrong email or number get one
  identical answer (404); too many failures for one code, or for one email or number, from one
  client address, or too many attempts from one client address, get 429 with ``retry_after``
  (seconds) in the body and the ``Retry-After`` header. Only failures count toward a code's and
  an email's limit, and only from the address that made them: a stranger who knows a code and
  guesses emails locks out himself, never the owner, who still gets in with the right email.
- ``POST /tracking/rewrite`` ``{code, email | phone, message, draft_id?}``: the citizen's new
  message after a reformulation request, with the documents kept in the draft ``draft_id`` (its
  owner in the signed ``X-Draft-Owner``) (200 with the view; 409 when the request does not wait
  for one; 422 for the message or a draft gone, with the view), counted like a look-up.
- ``POST /tracking/opinion`` ``{code, email, opinion, comment?}`` (opinion: satisfied,
  partly_satisfied, not_satisfied) and ``POST /tracking/reopen`` ``{code, email, message}``: the
  citizen's reply to the body's answer, counted like a look-up. 202 ``{message, view}``: recorded
  and forwarded to treatment through the outbox (citizen.opinion_recorded,
  citizen.reopening_recorded); 409 ``{error, message, view}`` when the request's state does not
  allow it (``not_answered``, ``already_given``, ``already_reopened``, ``closed``); 422
  ``validation_failed`` for the fields (with the view); 404 and 429 as the look-up.
- ``POST /tracking/codes-reminder`` ``{email | phone}``: « Code requête oublié ? »; 202
  with the same message whether the address or number is known or not (the codes go by email,
  or by SMS to the number); throttled per email or number and per client address.

The client's address is the one the gateway resolved (peer, or ``X-Forwarded-For`` from a
trusted proxy) and signed into the call (``shared.signing``); a body that carries a
``client_address`` is refused (422).

The call centre (« Suivi d'un appel ») uses ``/tracking``, ``/tracking/opinion`` and
``/tracking/reopen`` for a caller with no internet: such a call says the channel ``phone`` and
must carry an operator's signed identity (401/403 otherwise). Its limits are counted per
operator rather than per client address (the operators of a call centre share one address:
one operator's mistypings must not lock the others out), with the same numbers; a reply records
the channel and the operator. The view such a call gets (200, 409, 422) names, on the history
line of each reply taken by phone, the operator who took it (``operator_id``), linked to the
reply by its id (``reply_id``, there and back through treatment), and on a reply waiting for
treatment (``pending_reply.operator_id``; null for the citizen's own): for the staff only, never
in the citizen's own view nor in the 202 of a reply (the citizens' API's answer). Its sentences
(banner, history, a reply waiting) speak of the caller, in the third person, for the operator
to read (``tracking.view``, ``for_operator``); the citizen's view keeps « vous ».
"""

from __future__ import annotations

import math
import uuid
from typing import Annotated

from aiohttp import web
from email_validator import EmailNotValidError
from pydantic import BaseModel, ConfigDict, StringConstraints

from services.intake import throttle
from services.intake.answers import Recorded, ReminderSent
from services.intake.domain import normalize_email, normalize_phone
from services.intake.drafts import api as drafts_api
from services.intake.keys import PURGE_KEY
from services.intake.settings import SETTINGS
from services.intake.throttle import Rule
from services.intake.tracking import reminders
from services.intake.tracking import store as tracking
from services.intake.tracking.store import Who
from shared.answers import answer
from shared.codes import is_well_formed, normalize
from shared.identity import Identity, Role, check
from shared.messages import Channel
from shared.service import connection, transaction
from shared.signing import call_of
from shared.web import FieldErrors, field_error, json_error, read_model

routes = web.RouteTableDef()

NOT_FOUND = {
    "error": "not_found",
    "message": (
        "Aucune requête ne correspond à ce code et à cette adresse électronique ou ce numéro "
        "de mobile."
    ),
}
REMINDER_SENT = (
    "Si cette adresse a servi à soumettre des requêtes, vous allez recevoir leurs codes par email."
)
REMINDER_SENT_BY_SMS = (
    "Si ce numéro a servi à soumettre des requêtes, vous allez recevoir leurs codes par SMS."
)
# A mobile number while the platform sends no SMS (MILIE_SMS_ENABLED off): nothing is sent, and
# the citizen is told so rather than to wait for an SMS.
REMINDER_NO_SMS = (
    "Le portail n'envoie pas de SMS pour l'instant : vos codes ne peuvent pas vous être envoyés "
    "à ce numéro. Si vous avez donné une adresse e-mail pour vos requêtes, saisissez-la à la "
    "place."
)
CONTACT_MISSING = "Saisissez l'adresse électronique ou le numéro de mobile utilisé."
BOTH_GIVEN = "Saisissez l'adresse électronique ou le numéro de mobile, pas les deux."
BAD_EMAIL = "Cette adresse électronique n'est pas valide."
BAD_PHONE = "Ce numéro de mobile n'est pas valide."

Text40 = Annotated[str, StringConstraints(max_length=40)]
Email = Annotated[str, StringConstraints(max_length=254)]
Phone = Annotated[str, StringConstraints(max_length=40)]


class LookupIn(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True, extra="forbid")
    code: Text40
    email: Email = ""
    phone: Phone = ""


class RewriteIn(LookupIn):
    # Checked for its length after the code and email matched (see tracking.check_message);
    # this bound only keeps a huge body from being parsed.
    message: Annotated[str, StringConstraints(max_length=20_000)]
    # The draft holding the documents added with the rewrite (the submission form's checks:
    # ``POST /drafts/{id}/files``), owned by the signed ``X-Draft-Owner``.
    draft_id: uuid.UUID | None = None


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
    email: Email = ""
    phone: Phone = ""


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


def _checked_phone(phone: str) -> str | None:
    try:
        # A number without "+" is read as Ivorian (10 digits since 2021: 07 07 12 34 56).
        return normalize_phone(phone, "CI")
    except ValueError:
        return None


def _who_errors(email: str, phone: str) -> tuple[Who | None, list]:
    """The citizen's email or mobile number, or what is wrong with them."""
    if email and phone:
        return None, [field_error("phone", BOTH_GIVEN)]
    if not email and not phone:
        return None, [field_error("email", CONTACT_MISSING, "missing")]
    if email:
        checked = _checked_email(email)
        if checked is None:
            return None, [field_error("email", BAD_EMAIL)]
        return Who.by_email(checked), []
    e164 = _checked_phone(phone)
    if e164 is None:
        return None, [field_error("phone", BAD_PHONE)]
    return Who.by_phone(e164), []


def _code_and_who(query: LookupIn) -> tuple[str, Who]:
    """The code and the email or number to look up; :class:`FieldErrors` says what is wrong with
    them. Said before any look-up and not counted: a mistyped code cannot match a request."""
    code = normalize(query.code)
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
    who, contact_errors = _who_errors(query.email, query.phone)
    errors += contact_errors
    if errors:
        raise FieldErrors(errors)
    assert who is not None
    return code, who


def lookup_rules(request: web.Request, kind: str = "email") -> tuple[Rule, Rule, Rule]:
    """Failures per (code, client address), failures per (email or mobile number, client
    address) (``kind``: a counter of its own, the same limit), and every attempt per client
    address."""
    s = request.app[SETTINGS]
    window = s.tracking_window_seconds
    return (
        Rule("lookup:code-failures", s.tracking_per_code, window),
        Rule(f"lookup:{kind}-failures", s.tracking_per_email, window),
        Rule("lookup:client", s.tracking_per_client, window),
    )


def reminder_rules(request: web.Request, kind: str = "email") -> tuple[Rule, Rule]:
    s = request.app[SETTINGS]
    window = s.reminder_window_seconds
    return (
        Rule(f"reminder:{kind}", s.reminder_per_email, window),
        Rule("reminder:client", s.reminder_per_client, window),
    )


def on_behalf(request: web.Request) -> Identity | None:
    """The operator who calls for a caller (channel ``phone``: an operator's signed identity
    required, else 401/403), or None for the citizen's own call."""
    if call_of(request).channel != Channel.PHONE.value:
        return None
    return check(request, Role.OPERATOR)


def asker_key(request: web.Request) -> str:
    """Who the limits count a look-up against: the operator calling for a caller, else the
    client's address."""
    operator = on_behalf(request)
    if operator is not None:
        return f"operateur:{operator.staff_id}"
    return throttle.client_key(call_of(request).client_address)


class Counted:
    """A look-up counted as a failure until it succeeds (:meth:`succeeded` takes it back)."""

    def __init__(self, request: web.Request, code: str, who: Who) -> None:
        by_code, by_contact, by_client = lookup_rules(request, who.kind)
        client = asker_key(request)
        self.request = request
        self.failures = [
            (by_code, f"{code}\x00{client}"),
            (by_contact, f"{who.key}\x00{client}"),
        ]
        self.attempts = [*self.failures, (by_client, client)]

    async def wait(self) -> int | None:
        async with connection(self.request) as conn:
            return await throttle.hit(conn, self.attempts)

    async def succeeded(self) -> None:
        async with connection(self.request) as conn:
            await throttle.refund(conn, self.failures)


async def _count_lookup(request: web.Request, code: str, who: Who) -> tuple[int | None, Counted]:
    """Count the look-up as a failure beforehand (so parallel guesses cannot all pass); the
    seconds to wait when a limit is passed."""
    counted = Counted(request, code, who)
    return await counted.wait(), counted


@routes.post("/tracking")
async def track(request: web.Request) -> web.Response:
    query = await read_model(request, LookupIn)
    code, who = _code_and_who(query)
    wait, counted = await _count_lookup(request, code, who)
    if wait is not None:
        return _throttled(wait)
    for_operator = on_behalf(request) is not None
    async with connection(request) as conn:
        view = await tracking.find(
            conn, code, who, purge_key=request.app[PURGE_KEY], for_operator=for_operator
        )
    if view is None:
        return _not_found()
    await counted.succeeded()
    return web.json_response(view)


@routes.post("/tracking/rewrite")
async def rewrite(request: web.Request) -> web.Response:
    query = await read_model(request, RewriteIn)
    code, who = _code_and_who(query)
    wait, counted = await _count_lookup(request, code, who)
    if wait is not None:
        return _throttled(wait)
    draft = (query.draft_id, drafts_api.owner_of(request)) if query.draft_id else None
    outcome = await transaction(
        request, lambda conn: tracking.rewrite(conn, code, who, query.message, draft)
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
    code, who = _code_and_who(query)
    wait, counted = await _count_lookup(request, code, who)
    if wait is not None:
        return _throttled(wait)
    operator = on_behalf(request)
    by = tracking.ReplyBy(
        channel=call_of(request).channel or Channel.WEB.value,
        staff_id=operator.staff_id if operator else None,
        login=operator.login if operator else None,
    )
    outcome = await transaction(
        request, lambda conn: tracking.reply(conn, code, who, by=by, **said)
    )
    if outcome.kind == "not_found":
        return _not_found()
    await counted.succeeded()
    if outcome.kind == "refused":
        return json_error(409, outcome.error, outcome.message, view=outcome.view)
    if outcome.kind == "invalid":
        raise FieldErrors(outcome.errors, view=outcome.view)
    return web.json_response(answer(Recorded, message=told, view=outcome.view), status=202)


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
    who, errors = _who_errors(query.email, query.phone)
    if errors:
        raise FieldErrors(errors)
    assert who is not None
    by_contact, by_client = reminder_rules(request, who.kind)
    client = throttle.client_key(call_of(request).client_address)
    attempts = [(by_contact, who.key), (by_client, client)]
    async with connection(request) as conn:
        wait = await throttle.hit(conn, attempts)
    if wait is not None:
        return _throttled(wait)
    if who.kind != "email" and not request.app[SETTINGS].sms_enabled:
        return web.json_response(answer(ReminderSent, message=REMINDER_NO_SMS), status=202)
    await transaction(request, lambda conn: reminders.request_reminder(conn, who))
    told = REMINDER_SENT if who.kind == "email" else REMINDER_SENT_BY_SMS
    return web.json_response(answer(ReminderSent, message=told), status=202)
