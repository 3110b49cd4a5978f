"""« Mes alertes »: a focal point chooses how the new requests of their body are announced to
them by email — « Immédiatement » or « Un résumé par jour ». Kept on the account and pushed to
notify's staff directory (``staff_recipients.alerts``) by the account use case."""

from __future__ import annotations

from aiohttp import web

from gateway.backoffice import shell
from gateway.backoffice.access import staff_required
from gateway.staff import account_actions, accounts, notify_outbox
from gateway.staff.auth import current_staff
from gateway.web.client_address import client_address
from shared.db import run_in_transaction
from shared.identity import Role
from shared.service import POOL

routes = web.RouteTableDef()


async def _page(
    request: web.Request,
    account: accounts.Account,
    *,
    errors: dict[str, str] | None = None,
    done: bool = False,
    status: int = 200,
) -> web.Response:
    return await shell.render(
        request,
        "backoffice/my_alerts.html",
        {
            "title": "Mes alertes",
            "account": account,
            "choices": list(accounts.ALERTS.items()),
            "errors": errors or {},
            "done": done,
        },
        status=status,
    )


async def _own_account(request: web.Request) -> accounts.Account:
    staff = current_staff(request)
    assert staff is not None
    async with request.app[POOL].acquire(timeout=10) as conn:
        account = await accounts.by_id(conn, staff.account_id)
    assert account is not None
    return account


@routes.get("/admin/mes-alertes", name="bo-mes-alertes")
@staff_required(Role.FOCAL_POINT)
async def my_alerts(request: web.Request) -> web.Response:
    return await _page(request, await _own_account(request), done="fait" in request.query)


@routes.post("/admin/mes-alertes")
@staff_required(Role.FOCAL_POINT)
async def save_alerts(request: web.Request) -> web.Response:
    account = await _own_account(request)
    form = await request.post()
    # Whole, as posted: set_alerts takes one of the choices or refuses beside the field; a cut
    # made first would check, and could take, a part of what was posted.
    choice = str(form.get("alerts", ""))
    staff = current_staff(request)
    assert staff is not None
    actor = account_actions.Actor(staff.login, client_address(request), staff.account_id)

    async def work(conn):
        return await account_actions.set_alerts(conn, actor, account, choice)

    try:
        await run_in_transaction(request.app[POOL], work)
    except accounts.AccountRefused as exc:
        return await _page(request, account, errors=exc.errors, status=422)
    notify_outbox.wake(request.app)
    raise web.HTTPSeeOther("/admin/mes-alertes?fait=1")
