"""The audit log every service keeps that takes staff decisions (triage, treatment): who did what,
when, from where — one ``audit_log`` table in the service's own schema, written here, and read by
administrators through each service's ``GET /audit`` (:func:`listing`), which the back office's
« Journal d'audit » merges with the gateway's own log.

Reading a citizen's personal data (a request's page with the contact, an export with contacts)
is a line too (:func:`personal_data_read`, action :data:`PERSONAL_DATA_READ`), one per request.

A decision or action writes its line in its own transaction (:func:`write`);
:func:`record_refusals` adds every call refused for want of a valid signature or identity (401)
or of the right role (403). The gateway says where the staff member is in the signed call
(``shared.signing``); a call that did not come signed through it is recorded with its peer
address.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, timedelta

import asyncpg
from aiohttp import web

from shared.db import run_in_transaction
from shared.identity import Identity, identity_of
from shared.messages import Actor
from shared.numbers import whole
from shared.service import POOL, connection, transaction
from shared.signing import CALL
from shared.web import json_error

log = logging.getLogger(__name__)

# Routes anyone may ask (operations): never staff business, never audited.
_OPEN = ("/metrics", "/health/")
# « Consultation des données personnelles »: a staff member read a citizen's contact.
PERSONAL_DATA_READ = "personal_data_read"
PERSONAL_DATA_READ_LABEL = "Consultation des données personnelles"


def exported(count: int, kind: str = "CSV", list_name: str | None = None) -> str:
    """An export's line in the journal: « 1 ligne exportée (CSV) », « 12 lignes exportées
    (Excel (.xlsx), liste « En cours ») »."""
    plural = "s" if count > 1 else ""
    where = f", liste « {list_name} »" if list_name else ""
    return f"{count} ligne{plural} exportée{plural} ({kind}{where})"


# The most lines one ``GET /audit`` gives (a journal export merges up to this many per service).
LISTING_MAX = 100_000


@dataclass(frozen=True)
class Who:
    """The staff member acting, from the signed identity, and where the gateway says they are."""

    identity: Identity
    address: str = ""

    @property
    def name(self) -> str:
        return self.identity.login or self.identity.staff_id

    @property
    def actor(self) -> Actor:
        i = self.identity
        return Actor(staff_id=i.staff_id, role=i.role.value, body_id=i.body_id)

    def signature(self) -> dict[str, str]:
        """Who signs a line of the audit log or of a request's history."""
        i = self.identity
        return {"actor_id": i.staff_id, "actor_login": self.name, "actor_role": i.role.value}


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


async def write_alone_by(
    pool: asyncpg.Pool, who: Who, code: str | None, action: str, outcome: str, detail: str
) -> None:
    """An agent's line in a transaction of its own: an action refused (conflict), an export."""
    await write_alone(
        pool,
        action=action,
        outcome=outcome,
        address=who.address,
        request_code=code,
        detail=detail,
        **who.signature(),
    )


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


async def personal_data_read(
    request: web.Request, codes: Iterable[str], how: str = PERSONAL_DATA_READ_LABEL
) -> None:
    """One line per request whose citizen's contact the caller is shown (a request's page: one
    code; an export: every exported row's), in one statement and a transaction of its own —
    after the data left, so that a failure to write is logged, never a page refused."""
    who = identity_of(request)
    rows = [
        (
            who.staff_id if who else None,
            (who.login or who.staff_id) if who else None,
            who.role.value if who else None,
            PERSONAL_DATA_READ,
            "done",
            code,
            address_of(request)[:100],
            how[:500],
        )
        for code in dict.fromkeys(codes)
    ]
    if not rows:
        return

    async def work(conn: asyncpg.Connection) -> None:
        await conn.executemany(
            """INSERT INTO audit_log (actor_id, actor_login, actor_role, action, outcome,
                                      request_code, address, detail)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8)""",
            rows,
        )

    try:
        await run_in_transaction(request.app[POOL], work)
    except Exception:
        log.exception("could not write a reading of personal data to the audit log")


async def search(
    conn: asyncpg.Connection,
    *,
    person: str = "",
    action: str = "",
    code: str = "",
    start: date | None = None,
    end: date | None = None,
    ascending: bool = False,
    limit: int = 50,
    offset: int = 0,
    words: str = "",
) -> tuple[int, list[asyncpg.Record]]:
    """(total, one page) of the log, newest first (``ascending``: oldest first). ``person``:
    part of the login, or the staff id; ``code``: the request's; ``end`` counts its whole day;
    ``words``: part of the login, address, detail or code."""
    pattern, text = _like(person), _like(words)
    where = """($1 = '' OR coalesce(actor_login, '') ILIKE '%' || $1 || '%'
                OR coalesce(actor_id, '') = $2)
               AND ($3 = '' OR action = $3)
               AND ($4 = '' OR request_code = $4)
               AND ($5::date IS NULL OR at >= $5::date)
               AND ($6::date IS NULL OR at < $6::date)
               AND ($7 = '' OR coalesce(actor_login, '') ILIKE '%' || $7 || '%'
                    OR address ILIKE '%' || $7 || '%' OR detail ILIKE '%' || $7 || '%'
                    OR coalesce(request_code, '') LIKE '%' || $7 || '%')"""
    end_at = end + timedelta(days=1) if end else None
    args = (pattern, person, action, code, start, end_at, text)
    direction = "ASC" if ascending else "DESC"
    total = await conn.fetchval(f"SELECT count(*) FROM audit_log WHERE {where}", *args)  # noqa: S608
    rows = await conn.fetch(
        f"""SELECT id, at, actor_id, actor_login, actor_role, action, outcome, request_code,
                   address, detail
            FROM audit_log WHERE {where}
            ORDER BY at {direction}, id {direction} LIMIT $8 OFFSET $9""",  # noqa: S608
        *args,
        limit,
        offset,
    )
    return total, rows


def _like(text: str) -> str:
    """``text`` as a literal inside an ILIKE pattern."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _number(raw: str, name: str, default: int, high: int, errors: list[str]) -> int:
    if raw == "":
        return default
    value = whole(raw, 0, high)
    if value is None:
        errors.append(f"{name} must be a whole number between 0 and {high}")
        return default
    return value


def _day(raw: str, name: str, errors: list[str]) -> date | None:
    if raw == "":
        return None
    try:
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", raw):
            raise ValueError
        return date.fromisoformat(raw)
    except ValueError:
        errors.append(f"{name} must be a day, YYYY-MM-DD")
        return None


async def listing(request: web.Request) -> web.Response:
    """``GET /audit`` (a service routes it for administrators only): ``{"total", "items"}``,
    newest first; filters ``person`` (part of a login, or a staff id), ``action``, ``code``, ``q``
    (words of the login, address, detail or code),
    ``from``/``to`` (days, ``to`` included); ``order=asc``; ``limit`` (≤ :data:`LISTING_MAX`),
    ``offset``. A faulty parameter: 400 naming it."""
    query = request.query
    errors: list[str] = []
    limit = _number(query.get("limit", ""), "limit", 50, LISTING_MAX, errors) or 1
    offset = _number(query.get("offset", ""), "offset", 0, 10_000_000, errors)
    start = _day(query.get("from", ""), "from", errors)
    end = _day(query.get("to", ""), "to", errors)
    order = query.get("order", "desc")
    if order not in ("asc", "desc"):
        errors.append("order must be asc or desc")
    if errors:
        return json_error(400, "invalid_query", "; ".join(errors))
    async with connection(request) as conn:
        total, rows = await search(
            conn,
            person=query.get("person", "").strip()[:100],
            action=query.get("action", "").strip()[:200],
            code=query.get("code", "").strip()[:20],
            words=query.get("q", "").strip()[:200],
            start=start,
            end=end,
            ascending=order == "asc",
            limit=limit,
            offset=offset,
        )
    return web.json_response(
        {
            "total": total,
            "items": [{**dict(r), "at": r["at"].isoformat()} for r in rows],
        }
    )
