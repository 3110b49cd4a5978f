"""The back office's door: « Connectez-vous » (GET/POST /admin/connexion) and sign-out (POST)."""

from __future__ import annotations

from urllib.parse import quote

import aiohttp_jinja2
from aiohttp import web

from gateway.staff import auth
from gateway.web import csrf
from gateway.web.keys import GATEWAY_SETTINGS

routes = web.RouteTableDef()


def _see_other(location: str) -> web.Response:
    return web.Response(status=303, headers={"Location": location})


ENDED = "Votre session a pris fin. Connectez-vous à nouveau pour continuer."


def _form(
    request: web.Request,
    *,
    login: str = "",
    errors: dict[str, str] | None = None,
    notice: str | None = None,
    next_: str | None = None,
    kept: list[str] | None = None,
    status: int = 200,
) -> web.Response:
    context = {
        "kept": kept or [],
        "login": login,
        "errors": errors or {},
        "notice": notice,
        "next": auth.safe_next(next_ if next_ is not None else request.query.get("next")),
        "csrf_token": csrf.token_for(request),
    }
    return aiohttp_jinja2.render_template(
        "backoffice/sign_in.html", request, context, status=status
    )


def session_ended_form(request: web.Request, *, next_: str, kept: list[str]) -> web.Response:
    """The answer to a form posted after its session ended: the sign-in form, saying so, with
    the texts typed in that form given back to be copied (nothing was done with them), then
    back to ``next_``."""
    return _form(request, notice=ENDED, next_=next_, kept=kept, status=401)


@routes.get(auth.SIGN_IN_PATH, name="bo-connexion")
async def sign_in_form(request: web.Request) -> web.Response:
    if auth.current_staff(request) is not None:
        raise web.HTTPSeeOther(auth.safe_next(request.query.get("next")))
    notice = None
    if request.query.get("fin") or request.get(auth.SESSION_ENDED):
        notice = ENDED
    elif request.query.get("sortie"):
        notice = "Vous êtes déconnecté."
    return _form(request, notice=notice)


@routes.post(auth.SIGN_IN_PATH)
async def sign_in(request: web.Request) -> web.Response:
    form = await request.post()
    login = str(form.get("login", ""))[:200].strip()
    target = auth.safe_next(str(form.get("next", "")))
    password = str(form.get("password", ""))[:1000]
    errors: dict[str, str] = {}
    if not login:
        errors["login"] = "Saisissez votre login."
    elif "\x00" in login:  # no login holds one (PostgreSQL stores none): said, not a 500
        errors["login"] = "Ce login contient un caractère nul : aucun compte ne porte ce login."
    if not password:
        errors["password"] = "Saisissez votre mot de passe."  # noqa: S105 - a message
    if errors:
        return _form(request, login=login, errors=errors, next_=target, status=422)
    result = await auth.sign_in(request, login, password)
    if result.token is None:
        # One message for the whole form: it must not say which of the two was wrong.
        return _form(
            request,
            login=login,
            errors={"form": result.error or ""},
            next_=target,
            status=429 if result.throttled else 401,
        )
    if request.app[GATEWAY_SETTINGS].second_factor_required:
        # The password opened a pending session: the code comes next, then the page asked for.
        target = f"{auth.SECOND_FACTOR_PATH}?next={quote(target, safe='/')}"
    response = _see_other(target)
    auth.set_session_cookie(request, response, result.token)
    return response


@routes.post("/admin/deconnexion", name="bo-deconnexion")
async def sign_out(request: web.Request) -> web.Response:
    await auth.sign_out(request)
    response = _see_other(f"{auth.SIGN_IN_PATH}?sortie=1")
    auth.clear_session_cookie(request, response)
    return response
