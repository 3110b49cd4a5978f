"""« What changed since I last asked »: a body's feed of history lines, for the ministries'
systems that poll (the gateway's ministry API; a focal point may read it too).

``GET /changes?after=&limit=`` (focal points, their own body): ``{"items": [...], "next": …}``,
the history lines of the body's requests written after the cursor ``after`` (none: from the
start), oldest first, and the cursor to send next time (the same one when nothing is new). Each
line carries its request as it is now: status, version, the citizen's opinion and until when it
is awaited (``opinion_until``, the clock's rule).

A cursor is ``<transaction>-<id>`` of the last line given. Ids are taken before their
transaction commits, so reading ``id > cursor`` could skip a line whose transaction committed
after a later one (sql/0085). Lines are read in (transaction, id) order and only those of
transactions older than every one still running: a line that commits later has a transaction
at least as new as the oldest running one, so it always comes after any cursor given before.
A long transaction writing in this database delays the feed (one in another database of the
cluster does not: :data:`HORIZON`); it never loses a line.
"""

from __future__ import annotations

import json
import re

from aiohttp import web

from services.treatment import actions, clock
from services.treatment.settings import SETTINGS
from shared import lifecycle
from shared.identity import Role, check, requires
from shared.numbers import whole
from shared.service import connection
from shared.web import field_error, json_error

routes = web.RouteTableDef()
# The oldest transaction whose lines may still come: the statement's snapshot's running ones
# (or its end when none runs), but for those seen running in another database of the cluster,
# which cannot write this table (a benchmark's long load elsewhere must not stall the feed). A
# running transaction that ends before pg_stat_activity is read is kept: only ever too early.
HORIZON = """
    SELECT least(pg_snapshot_xmax(s.snap), (
        SELECT min(x) FROM pg_snapshot_xip(s.snap) x
        WHERE NOT EXISTS (
            SELECT 1 FROM pg_stat_activity a
            WHERE a.datname <> current_database() AND a.backend_xid IS NOT NULL
              AND a.backend_xid::text::bigint = x::text::bigint % 4294967296))) AS xid
    FROM (SELECT pg_current_snapshot() AS snap) s"""
CURSOR = re.compile(r"^(\d{1,18})-(\d{1,18})$")  # within xid8 and bigint
MAX_LIMIT = 500


@routes.get("/changes")
@requires(Role.FOCAL_POINT)
async def changes(request: web.Request) -> web.Response:
    who = check(request)
    if not who.body_id:
        return json_error(403, "forbidden", "this focal point has no public body")
    errors = []
    after = request.query.get("after", "")
    tx, line = 0, 0
    if after:
        if (m := CURSOR.match(after)) is None:
            errors.append(field_error("after", "Curseur inconnu.", "invalid_cursor"))
        else:
            tx, line = int(m[1]), int(m[2])
    raw = request.query.get("limit", "100")
    if whole(raw, 1, MAX_LIMIT) is None:
        errors.append(field_error("limit", f"Un nombre entier de 1 à {MAX_LIMIT}.", "out_of_range"))
    if errors:
        return json_error(
            400, "invalid_query", "; ".join(e["message"] for e in errors), errors=errors
        )
    async with connection(request) as conn:
        rows = await conn.fetch(
            f"""WITH horizon AS ({HORIZON})
                SELECT h.id, h.tx::text AS tx, h.occurred_at, h.kind, h.actor_login,
                       h.actor_role, h.message, h.details, t.code, t.status, t.version,
                       t.opinion, t.treated_at, t.opinion_due
                FROM history h JOIN treatments t USING (request_id)
                WHERE (h.tx, h.id) > ($1::text::xid8, $2) AND t.body_id = $3
                  AND h.tx < (SELECT xid FROM horizon)
                ORDER BY h.tx, h.id LIMIT $4""",  # noqa: S608 - constant
            str(tx),
            line,
            who.body_id,
            int(raw),
        )
    days = request.app[SETTINGS].no_opinion_days
    items = []
    for r in rows:
        until = clock.opinion_until(r, days)
        details = json.loads(r["details"])
        items.append(
            {
                "cursor": f"{r['tx']}-{r['id']}",
                "code": r["code"],
                "kind": r["kind"],
                "label": actions.history_label(r["kind"], details),
                "at": r["occurred_at"].isoformat(),
                "actor_login": r["actor_login"],
                "actor_role": r["actor_role"],
                "message": r["message"],
                "details": details,
                "status": r["status"],
                "version": r["version"],
                "opinion": r["opinion"],
                "opinion_label": lifecycle.opinion_label(r["opinion"]),
                "opinion_until": until.isoformat() if until else None,
            }
        )
    following = items[-1]["cursor"] if items else (after or "0-0")
    return web.json_response({"items": items, "next": following})
