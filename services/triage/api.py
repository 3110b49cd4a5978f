"""HTTP views of triage (internal for now): the queue, oldest first, and one item by code."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import asyncpg
from aiohttp import web

from services.triage import domain, repository
from shared import codes
from shared.service import POOL, SETTINGS
from shared.web import json_error

DEFAULT_LIMIT = 50
MAX_LIMIT = 200


def _item(row: asyncpg.Record, now: datetime) -> dict:
    deadline = row["admissibility_deadline"]
    return {
        "request_id": str(row["request_id"]),
        "code": row["code"],
        "nature": row["nature"],
        "body_id": row["body_id"],
        "body_name": row["body_name"],
        "theme_id": row["theme_id"],
        "theme_label": row["theme_label"],
        "place_id": row["place_id"],
        "place_label": row["place_label"],
        "channel": row["channel"],
        "message": row["message"],
        "contact": json.loads(row["contact"]),
        "attachments": json.loads(row["attachments"]),
        "submitted_at": row["submitted_at"].isoformat(),
        "received_at": row["received_at"].isoformat(),
        "status": row["status"],
        "admissibility_deadline": deadline.isoformat(),
        "days_left": domain.days_left(deadline, now),
        "overdue": domain.is_overdue(deadline, now),
    }


def _int_param(request: web.Request, name: str, default: int, low: int, high: int) -> int:
    raw = request.query.get(name, "")
    if raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"{name} must be a whole number, got {raw!r}") from None
    if not low <= value <= high:
        raise ValueError(f"{name} must be between {low} and {high}")
    return value


async def queue(request: web.Request) -> web.Response:
    """``{"total", "limit", "offset", "items": [...]}``: the waiting requests, oldest first."""
    try:
        limit = _int_param(request, "limit", DEFAULT_LIMIT, 1, MAX_LIMIT)
        offset = _int_param(request, "offset", 0, 0, 10_000_000)
    except ValueError as exc:
        return json_error(400, "invalid_query", str(exc))
    timeout = request.app[SETTINGS].db_acquire_timeout
    async with request.app[POOL].acquire(timeout=timeout) as conn:
        total, rows = await repository.waiting(conn, limit=limit, offset=offset)
    now = datetime.now(UTC)
    return web.json_response(
        {
            "total": total,
            "limit": limit,
            "offset": offset,
            "items": [_item(row, now) for row in rows],
        }
    )


async def item(request: web.Request) -> web.Response:
    """One request of the queue by its code (any status), or 404."""
    code = codes.normalize(request.match_info["code"])
    if not codes.is_well_formed(code):
        # Caught before any look-up; still a 404: no request can have this code.
        return json_error(404, "not_found", "a code is 10 digits with a right check digit")
    timeout = request.app[SETTINGS].db_acquire_timeout
    async with request.app[POOL].acquire(timeout=timeout) as conn:
        row = await repository.by_code(conn, code)
    if row is None:
        return json_error(404, "not_found", f"no request with code {code} in the queue")
    return web.json_response(_item(row, datetime.now(UTC)))
