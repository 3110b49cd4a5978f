"""« Double authentification »: after the password, a code from the agent's authenticator
application; at the first sign-in, its enrolment with a QR code and the ten recovery codes.

Reached only with a session that gave the password (``auth.pending_staff``); the rules are in
``gateway.staff.second_factor``.
"""

from __future__ import annotations

import aiohttp_jinja2
from aiohttp import web

from gateway.staff import audit, auth, second_factor, sessions
from gateway.web import csrf
from gateway.web.client_address import client_address
from shared.db import run_in_transaction
from shared.service import POOL

routes = web.RouteTableDef()
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

    async def check(conn):
        factor = await second_factor.factor_of(conn, staff.account_id)
        enrolling = factor is None or not factor.enrolled
        action = None
        if not enrolling and second_factor.looks_like_recovery_code(code):
            ok = await second_factor.use_recovery_code(conn, staff.account_id, code)
            action = "second_factor_recovery_used" if ok else None
        else:
            ok = await second_factor.accept_code(conn, staff.account_id, code)
            action = "second_factor_enrolled" if ok and enrolling else None
        if not ok:
            failures = await sessions.second_factor_failed(conn, staff.session_hash)
            await audit.record(
                conn,
                "second_factor_failed",
                actor_login=staff.login,
                actor_id=staff.account_id,
                address=address,
                detail=f"{failures} dans cette session",
            )
            if failures >= second_factor.MAX_FAILURES:
                await sessions.close_by_hash(conn, staff.session_hash)
            return ok, enrolling, failures, None
        await sessions.mark_second_factor(conn, staff.session_hash)
        if action:
            await audit.record(
                conn, action, actor_login=staff.login, actor_id=staff.account_id, address=address
            )
        codes = None
        if enrolling:
            codes = second_factor.new_recovery_codes()
            await second_factor.store_recovery_codes(conn, staff.account_id, codes)
        return ok, enrolling, 0, codes

    ok, enrolling, failures, codes = await run_in_transaction(request.app[POOL], check)
    if ok and codes:
        return _render(request, staff, codes=codes, next_=target)
    if ok:
        raise web.HTTPSeeOther(target)
    if failures >= second_factor.MAX_FAILURES:
        response = web.HTTPSeeOther(f"{auth.SIGN_IN_PATH}?fin=1")
        auth.clear_session_cookie(request, response)
        raise response
    secret = None
    if enrolling:
        async with request.app[POOL].acquire() as conn:
            secret = await second_factor.pending_secret(conn, staff.account_id)
    return _render(request, staff, enrol_secret=secret, error=WRONG_CODE, next_=target, status=422)
