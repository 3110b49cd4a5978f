"""« Première connexion »: the page of the link a new agent receives by email
(``/admin/premiere-connexion/<token>``), where they choose their password and are signed in.

Works without being signed in and without JavaScript (a form with its CSRF token). The password
follows the rules of ``staff.passwords``; the link is valid 48 h and once
(``staff.sign_in_links``). An expired, used or unknown link says so in French and tells the agent
to ask an administrator for a new one (« Envoyer un nouveau lien de connexion »).
"""

from __future__ import annotations

import aiohttp_jinja2
from aiohttp import web

from gateway.staff import account_actions, accounts, auth, passwords, sign_in_links
from gateway.web import csrf
from gateway.web.client_address import client_address
from shared.db import run_in_transaction
from shared.service import POOL

routes = web.RouteTableDef()
PATH = sign_in_links.PATH + "{token}"
# The address holds the token: no cache keeps the page, no other site learns the address.
PRIVATE = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}
State = sign_in_links.State
REFUSALS = {
    State.EXPIRED: (
        410,
        "Ce lien a expiré",
        "Un lien de première connexion n'est valable que 48 heures.",
    ),
    State.USED: (
        410,
        "Ce lien a déjà servi",
        "Un lien de première connexion ne sert qu'une fois (ou un lien plus récent l'a "
        "remplacé). Si vous avez déjà choisi votre mot de passe, connectez-vous.",
    ),
    State.UNKNOWN: (
        404,
        "Ce lien n'est pas valable",
        "Vérifiez que l'adresse est complète : copiez-la telle qu'elle figure dans l'email.",
    ),
}


def _refused(request: web.Request, state: State) -> web.Response:
    status, title, why = REFUSALS[state]
    response = aiohttp_jinja2.render_template(
        "backoffice/first_sign_in.html",
        request,
        {"refused": True, "title": title, "why": why},
        status=status,
    )
    response.headers.update(PRIVATE)
    return response


def _form(
    request: web.Request, account: accounts.Account, errors: dict[str, str], status: int = 200
) -> web.Response:
    response = aiohttp_jinja2.render_template(
        "backoffice/first_sign_in.html",
        request,
        {
            "refused": False,
            "title": "Choisissez votre mot de passe",
            "account": account,
            "errors": errors,
            "action": request.path,
            "csrf_token": csrf.token_for(request),
            "min_length": passwords.MIN_LENGTH,
        },
        status=status,
    )
    response.headers.update(PRIVATE)
    return response


async def _valid_account(
    request: web.Request,
) -> tuple[sign_in_links.Look, accounts.Account | None]:
    token = request.match_info["token"]
    async with request.app[POOL].acquire(timeout=10) as conn:
        look = await sign_in_links.look(conn, token)
        account = (
            await accounts.by_id(conn, look.account_id)
            if look.state is State.VALID and look.account_id
            else None
        )
    if account is not None and not account.active:
        return sign_in_links.Look(State.UNKNOWN), None
    return look, account


@routes.get(PATH, name="bo-premiere-connexion")
async def first_sign_in_form(request: web.Request) -> web.Response:
    look, account = await _valid_account(request)
    if account is None:
        return _refused(request, look.state if look.state is not State.VALID else State.UNKNOWN)
    return _form(request, account, {})


@routes.post(PATH)
async def choose_password(request: web.Request) -> web.Response:
    look, account = await _valid_account(request)
    if account is None:
        return _refused(request, look.state if look.state is not State.VALID else State.UNKNOWN)
    form = await request.post()
    password = str(form.get("password", ""))[:1000]
    confirmation = str(form.get("password_confirmation", ""))[:1000]
    errors = accounts.problems(password=password, confirmation=confirmation)
    if not errors and (problem := passwords.problem(password, account.login)):
        errors["password"] = problem
    if errors:
        return _form(request, account, errors, 422)
    # Hashing is slow on purpose: outside the transaction.
    password_hash = await passwords.hash_password(password)
    token = request.match_info["token"]

    async def work(conn):
        return await account_actions.choose_password(
            conn, token, password_hash, client_address(request)
        )

    used = await run_in_transaction(request.app[POOL], work)
    if used.state is not State.VALID:
        # Used or expired between the page and the form (a second tab): said as such.
        return _refused(request, used.state)
    # Signed in at once, through the ordinary sign-in (throttle, audit, a fresh session).
    result = await auth.sign_in(request, account.login, password)
    if result.token is None:
        raise web.HTTPSeeOther(auth.SIGN_IN_PATH)
    response = web.Response(status=303, headers={"Location": auth.HOME_PATH})
    auth.set_session_cookie(request, response, result.token)
    return response
