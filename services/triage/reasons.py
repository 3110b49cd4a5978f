"""Ready-made reasons for rejection and reformulation (issue 12), kept by the administrators.

- ``GET /reasons`` (analysts, administrators): ``{"items": [{id, kind, label, text, position,
  active, edited_at, edited_by}]}`` ordered by kind, position; ``?kind=reject|reformulate`` and
  ``?active=1`` narrow it.
- ``POST /reasons`` (administrators) ``{kind, label, text, position?}``: 201 with the new row.
- ``PUT /reasons/{id}`` (administrators) ``{label, text, position?, active?}``: 200 with the row
  and, under ``before``, the row as the edit found it (what it really changed; nothing when it
  is the same), 404, 422 field by field. The gateway writes the audit line (its « Journal
  d'audit ») from ``before``.
"""

from __future__ import annotations

from typing import Annotated, Literal

import asyncpg
from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from shared.identity import Role, identity_of, requires
from shared.service import connection, transaction
from shared.web import FieldErrors, field_error, json_error, read_model

routes = web.RouteTableDef()
KINDS = ("reject", "reformulate")

Label = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120)]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]


class ReasonEdit(BaseModel):
    model_config = ConfigDict(extra="forbid")

    label: Label
    text: Text
    position: int = Field(0, ge=0, le=1000)
    active: bool = True


class ReasonNew(ReasonEdit):
    kind: Literal["reject", "reformulate"]


def _out(row: asyncpg.Record) -> dict:
    return {**dict(row), "edited_at": row["edited_at"].isoformat()}


# Two reasons of one use with one label (« Hors sujet », « hors sujet ») leave the analyst two
# lines to choose between in the decision's list. The database refuses the second (a unique
# index, migration 0170): a check before the write let two administrators saving at the same
# moment both pass it.
ONE_LABEL = "reasons_one_label"
TWIN = "Un motif de même usage porte déjà cet intitulé."


async def _saved(conn: asyncpg.Connection, sql: str, *args: object) -> asyncpg.Record | None:
    """``sql``'s row (an INSERT or UPDATE … RETURNING); a twin's label refused (422, on
    ``label``)."""
    try:
        return await conn.fetchrow(sql, *args)
    except asyncpg.UniqueViolationError as exc:
        if exc.constraint_name != ONE_LABEL:
            raise
        raise FieldErrors([field_error("label", TWIN, "duplicate")]) from None


def _who(request: web.Request) -> str:
    identity = identity_of(request)
    return (identity.login or identity.staff_id) if identity else ""


@routes.get("/reasons")
@requires(Role.ANALYST, Role.ADMINISTRATOR)
async def list_reasons(request: web.Request) -> web.Response:
    kind = request.query.get("kind", "")
    if kind and kind not in KINDS:
        return json_error(400, "invalid_query", "kind : reject ou reformulate.")
    only_active = request.query.get("active") == "1"
    async with connection(request) as conn:
        rows = await conn.fetch(
            """SELECT * FROM reasons
               WHERE ($1 = '' OR kind = $1) AND (NOT $2 OR active)
               ORDER BY kind, position, id""",
            kind,
            only_active,
        )
    return web.json_response({"items": [_out(r) for r in rows]})


@routes.post("/reasons")
@requires(Role.ADMINISTRATOR)
async def create_reason(request: web.Request) -> web.Response:
    new = await read_model(request, ReasonNew)
    who = _who(request)

    async def work(conn: asyncpg.Connection) -> asyncpg.Record | None:
        return await _saved(
            conn,
            """INSERT INTO reasons (kind, label, text, position, active, edited_by)
               VALUES ($1, $2, $3, $4, $5, $6) RETURNING *""",
            new.kind,
            new.label,
            new.text,
            new.position,
            new.active,
            who,
        )

    row = await transaction(request, work)
    return web.json_response(_out(row), status=201)


@routes.put(r"/reasons/{reason_id:\d{1,9}}")
@requires(Role.ADMINISTRATOR)
async def edit_reason(request: web.Request) -> web.Response:
    edit = await read_model(request, ReasonEdit)
    who = _who(request)
    reason_id = int(request.match_info["reason_id"])

    async def work(conn: asyncpg.Connection) -> tuple[asyncpg.Record, asyncpg.Record] | None:
        # Locked: the reason as this edit replaces it, which the page it came from may predate.
        before = await conn.fetchrow("SELECT * FROM reasons WHERE id = $1 FOR UPDATE", reason_id)
        if before is None:
            return None
        # The same values already there (another administrator's same edit): nothing written,
        # not « edited by » someone who changed nothing.
        row = await _saved(
            conn,
            """UPDATE reasons SET label = $2, text = $3, position = $4, active = $5,
                      edited_at = now(), edited_by = $6
               WHERE id = $1 AND (label, text, position, active) IS DISTINCT FROM ($2, $3, $4, $5)
               RETURNING *""",
            reason_id,
            edit.label,
            edit.text,
            edit.position,
            edit.active,
            who,
        )
        return before, row or before

    done = await transaction(request, work)
    if done is None:
        return json_error(404, "not_found", "Motif introuvable.")
    before, row = done
    return web.json_response({**_out(row), "before": _out(before)})
