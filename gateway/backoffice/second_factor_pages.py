"""« Double authentification »: after the password, a code from the agent's authenticator
application; at the first sign-in, its enrolment with a QR code and the ten recovery codes.

Reached only with a session that gave the password (``auth.pending_staff``); the rules are in
``gateway.staff.second_factor``.
"""

from __future__ import annotations

from dataclasses import dataclass

import aiohttp_jinja2
from aiohttp import web

from gateway.staff import audit, auth, second_factor, sessions
from gateway.web import csrf
from gateway.web.client_address import client_address
from shared.db import run_in_transaction
from shared.service import POOL

routes = web.RouteTableDef()


@dataclass(frozen=True)
class Checked:
    """What a code given on the page led to."""

    wrong: bool = False
    session_ended: bool = False  # too many wrong codes: back to the password
    enrol_secret: str | None = None  # still enrolling: the key to show again
    recovery_codes: list[str] | None = None  # just enrolled: shown once


WRONG_CODE = (
    "Code incorrect ou déjà utilisé. Saisissez le code affiché maintenant par votre application."
)


def _render(request, staff, *, enrol_secret=None, error=None, codes=None, next_="", status=200):
    context = {
        "login": staff.login,
        "display_name": staff.display_name,
        "next": auth.safe_next(next_),
        "csrf_token": csrf.token_for(request),
        "error": error,
        "recovery_codes": codes,
        "enrol": enrol_secret is not None,
        "qr_svg": second_factor.qr_svg(second_factor.provisioning_uri(enrol_secret, staff.login))
        if enrol_secret
        else "",
        "secret": second_factor.grouped_secret(enrol_secret) if enrol_secret else "",
    }
    response = aiohttp_jinja2.render_template(
        "backoffice/second_factor.html", request, context, status=status
    )
    response.headers["Cache-Control"] = "no-store"  # a secret or recovery codes may be on it
    return response


def _pending_or_redirect(request: web.Request):
    staff = auth.pending_staff(request)
    if staff is not None:
        return staff
    target = auth.safe_next(request.query.get("next"))
    if auth.current_staff(request) is not None:
        raise web.HTTPSeeOther(target)
    raise web.HTTPSeeOther(auth.SIGN_IN_PATH)


@routes.get(auth.SECOND_FACTOR_PATH, name="bo-double-authentification")
async def second_factor_form(request: web.Request) -> web.Response:
    staff = _pending_or_redirect(request)
    pool = request.app[POOL]
    async with pool.acquire() as conn:
        factor = await second_factor.factor_of(conn, staff.account_id)
        secret = None
        if factor is None or not factor.enrolled:
            secret = await second_factor.pending_secret(conn, staff.account_id)
    return _render(request, staff, enrol_secret=secret, next_=request.query.get("next", ""))


@routes.post(auth.SECOND_FACTOR_PATH)
async def second_factor_check(request: web.Request) -> web.Response:
    staff = _pending_or_redirect(request)
    form = await request.post()
    code = str(form.get("code", ""))[:64].strip()
    target = auth.safe_next(str(form.get("next", "")))
    address = client_address(request)

    def audited(conn, action: str, detail: str = ""):
        return audit.record(
            conn,
            action,
            actor_login=staff.login,
            actor_id=staff.account_id,
            address=address,
            detail=detail,
        )

    async def check(conn) -> Checked:
        factor = await second_factor.factor_of(conn, staff.account_id)
        enrolling = factor is None or not factor.enrolled
        if not enrolling and second_factor.looks_like_recovery_code(code):
            if not await second_factor.use_recovery_code(conn, staff.account_id, code):
                return await refused(conn, enrolling)
            await audited(conn, "second_factor_recovery_used")
        elif not await second_factor.accept_code(conn, staff.account_id, code):
            return await refused(conn, enrolling)
        await sessions.mark_second_factor(conn, staff.session_hash)
        if not enrolling:
            return Checked()
        await audited(conn, "second_factor_enrolled")
        codes = second_factor.new_recovery_codes()
        await second_factor.store_recovery_codes(conn, staff.account_id, codes)
        return Checked(recovery_codes=codes)

    async def refused(conn, enrolling: bool) -> Checked:
        failures = await sessions.second_factor_failed(conn, staff.session_hash)
        await audited(conn, "second_factor_failed", f"{failures} dans cette session")
        if failures >= second_factor.MAX_FAILURES:
            await sessions.close_by_hash(conn, staff.session_hash)
            return Checked(wrong=True, session_ended=True)
        secret = await second_factor.pending_secret(conn, staff.account_id) if enrolling else None
        return Checked(wrong=True, enrol_secret=secret)

    checked = await run_in_transaction(request.app[POOL], check)
    if checked.session_ended:
        response = web.HTTPSeeOther(f"{auth.SIGN_IN_PATH}?fin=1")
        auth.clear_session_cookie(request, response)
        raise response
    if checked.wrong:
        return _render(
            request,
            staff,
            enrol_secret=checked.enrol_secret,
            error=WRONG_CODE,
            next_=target,
            status=422,
        )
    if checked.recovery_codes:
        return _render(request, staff, codes=checked.recovery_codes, next_=target)
    raise web.HTTPSeeOther(target)
