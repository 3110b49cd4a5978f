"""The audit log every service keeps that takes staff decisions (triage, treatment): who did what,
when, from where — one ``audit_log`` table in the service's own schema, written here.

A decision or action writes its line in its own transaction (:func:`write`);
:func:`record_refusals` adds every call refused for want of a valid signature or identity (401)
or of the right role (403). The gateway says where the staff member is in the signed call
(``shared.signing``); a call that did not come signed through it is recorded with its peer
address.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import asyncpg
from aiohttp import web

from shared.db import run_in_transaction
from shared.identity import identity_of
from shared.service import transaction
from shared.signing import CALL

log = logging.getLogger(__name__)

# Routes anyone may ask (operations): never staff business, never audited.
_OPEN = ("/metrics", "/health/")


async def write(
    conn: asyncpg.Connection,
    *,
    action: str,
    outcome: str,
    address: str = "",
    actor_id: str | None = None,
    actor_login: str | None = None,
    actor_role: str | None = None,
    request_code: str | None = None,
    detail: str = "",
) -> None:
    """One line of the audit log, in ``conn``'s transaction."""
    await conn.execute(
        """INSERT INTO audit_log (actor_id, actor_login, actor_role, action, outcome,
                                  request_code, address, detail)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8)""",
        actor_id,
        actor_login,
        actor_role,
        action,
        outcome,
        request_code,
        address[:100],
        detail[:500],
    )


async def write_alone(pool: asyncpg.Pool, **line: str | None) -> None:
    """One line of the audit log in a transaction of its own (a refusal, an export)."""
    await run_in_transaction(pool, lambda conn: write(conn, **line))


def address_of(request: web.Request) -> str:
    """Where the staff member is: the address the gateway signed, and the peer it came from."""
    call = request.get(CALL)
    given = ((call.client_address if call else None) or "").strip()
    peer = request.remote or "inconnue"
    return f"{given[:60]} (via {peer})" if given else peer


@web.middleware
async def record_refusals(request: web.Request, handler: Callable) -> web.StreamResponse:
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if exc.status in (401, 403) and not request.path.startswith(_OPEN):
            await _record(request, exc.status)
        raise


async def _record(request: web.Request, status: int) -> None:
    who = identity_of(request)
    code = request.match_info.get("code")

    async def work(conn: asyncpg.Connection) -> None:
        await write(
            conn,
            action=f"{request.method} {request.path}"[:200],
            outcome="refused",
            address=address_of(request),
            actor_id=who.staff_id if who else None,
            actor_login=(who.login or who.staff_id) if who else None,
            actor_role=who.role.value if who else None,
            request_code=code if code and code.isdigit() else None,
            detail="identité signée absente ou invalide" if status == 401 else "rôle non autorisé",
        )

    try:
        await transaction(request, work)
    except Exception:
        # The refusal stands even when it cannot be written down; say so in the logs.
        log.exception("could not write a refused call to the audit log")
