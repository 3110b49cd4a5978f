"""The catalogue's SQL: searching bodies, the themes offered for a body, administrators' edits."""

from __future__ import annotations

from typing import Any

import asyncpg

BODY_COLUMNS = "id, name, acronym, phones, location, email, hours, active"
# « Autre »: the theme offered for every body whatever its mapping (a request that fits none of
# the body's themes still has one); administrators may rename it, not retire it.
OTHER_THEME = "autre"


async def search_bodies(
    conn: asyncpg.Connection, words: list[str], limit: int | None, offset: int
) -> tuple[list[asyncpg.Record], int]:
    """Active bodies whose name, location, telephones or email have a word starting with each
    of ``words`` (already passed through ``catalogue.search_key``), by subject (``sort_key``:
    « Affaires étrangères » before « Agriculture »); and how many there
    are in all."""
    patterns = [f"% {w}%" for w in words]  # search_key leaves only [a-z0-9 ]: no LIKE wildcard
    where = "active AND (' ' || search_text) LIKE ALL($1::text[])"
    total = await conn.fetchval(f"SELECT count(*) FROM bodies WHERE {where}", patterns)  # noqa: S608
    rows = await conn.fetch(
        f"""SELECT {BODY_COLUMNS} FROM bodies WHERE {where}
            ORDER BY sort_key, id LIMIT $2 OFFSET $3""",  # noqa: S608
        patterns,
        limit,
        offset,
    )
    return rows, total


async def themes_for_body(conn: asyncpg.Connection, body_id: str) -> list[asyncpg.Record]:
    """The active themes offered for the body, parents first, in their order. A body with no
    mapping is offered every theme; a mapped parent theme brings its sub-themes; « Autre »
    (:data:`OTHER_THEME`) is offered for every body, last."""
    return await conn.fetch(
        """WITH mapped AS (SELECT theme_id FROM body_themes WHERE body_id = $1),
                offered AS (
                    SELECT t.* FROM themes t
                    WHERE t.active AND (
                        t.id = 'autre'  -- OTHER_THEME: offered for every body
                        OR NOT EXISTS (SELECT 1 FROM mapped)
                        OR t.id IN (SELECT theme_id FROM mapped)
                        OR t.parent_id IN (SELECT theme_id FROM mapped)
                        -- the parent of a mapped sub-theme heads its group
                        OR t.id IN (SELECT c.parent_id FROM themes c
                                    WHERE c.id IN (SELECT theme_id FROM mapped)))
                )
           SELECT o.id, o.parent_id, o.label, p.label AS parent_label
           FROM offered o LEFT JOIN themes p ON p.id = o.parent_id
           WHERE o.parent_id IS NULL OR p.active
           ORDER BY COALESCE(p.id, o.id) = 'autre', COALESCE(p.position, o.position),
                    COALESCE(p.id, o.id),
                    o.parent_id NULLS FIRST, o.position, o.id""",
        body_id,
    )


async def all_catalogue(conn: asyncpg.Connection) -> dict[str, list[asyncpg.Record]]:
    """Everything, the inactive rows too, for administrators."""
    return {
        "bodies": await conn.fetch(f"SELECT {BODY_COLUMNS}, edited_at FROM bodies ORDER BY name"),  # noqa: S608
        "themes": await conn.fetch(
            """SELECT id, parent_id, label, position, active, edited_at FROM themes
               ORDER BY parent_id NULLS FIRST, position, id"""
        ),
        "places": await conn.fetch(
            """SELECT id, region, name, kind, active, edited_at FROM places
               ORDER BY region_position, region, name"""
        ),
        "body_themes": await conn.fetch(
            "SELECT body_id, theme_id FROM body_themes ORDER BY body_id, theme_id"
        ),
    }


async def insert_row(conn: asyncpg.Connection, table: str, values: dict[str, Any]) -> bool:
    """False when the id is taken. ``table`` and the keys come from this module's callers."""
    columns = list(values)
    placeholders = ", ".join(f"${i}" for i in range(1, len(columns) + 1))
    inserted = await conn.fetchval(
        f"""INSERT INTO {table} ({", ".join(columns)}, edited_at)
            VALUES ({placeholders}, now()) ON CONFLICT (id) DO NOTHING RETURNING true""",  # noqa: S608
        *values.values(),
    )
    return bool(inserted)


async def update_row(
    conn: asyncpg.Connection, table: str, row_id: str, values: dict[str, Any]
) -> bool:
    """False when there is no such row. Marks the row edited, so the data files leave it be."""
    sets = ", ".join(f"{column} = ${i}" for i, column in enumerate(values, start=2))
    sets = f"{sets}, edited_at = now()" if sets else "edited_at = now()"
    updated = await conn.fetchval(
        f"UPDATE {table} SET {sets} WHERE id = $1 RETURNING true",  # noqa: S608
        row_id,
        *values.values(),
    )
    return bool(updated)


async def row(
    conn: asyncpg.Connection, table: str, row_id: str, lock: bool = False
) -> asyncpg.Record | None:
    """The row, or None; ``lock``: held until the transaction ends (an edit that depends on
    it sees it deleted or changed by another one committed meanwhile, not a stale copy)."""
    locking = " FOR UPDATE" if lock else ""
    return await conn.fetchrow(f"SELECT * FROM {table} WHERE id = $1{locking}", row_id)  # noqa: S608


async def set_body_themes(conn: asyncpg.Connection, body_id: str, theme_ids: list[str]) -> None:
    await conn.execute("DELETE FROM body_themes WHERE body_id = $1", body_id)
    await conn.executemany(
        "INSERT INTO body_themes (body_id, theme_id) VALUES ($1, $2)",
        [(body_id, t) for t in theme_ids],
    )


async def offer_theme(conn: asyncpg.Connection, body_id: str, theme_id: str) -> None:
    """Adds ``theme_id`` to the body's list. A body without a list is offered every theme
    (:func:`themes_for_body`): it gets the list of the active main themes it offered, so that
    adding one does not take the others away."""
    await conn.execute(
        """INSERT INTO body_themes (body_id, theme_id)
           SELECT $1, id FROM themes
           WHERE parent_id IS NULL AND active AND id <> 'autre'  -- OTHER_THEME, always offered
             AND NOT EXISTS (SELECT 1 FROM body_themes WHERE body_id = $1)
           UNION SELECT $1, $2
           ON CONFLICT DO NOTHING""",
        body_id,
        theme_id,
    )


async def body_theme_ids(conn: asyncpg.Connection, body_id: str) -> list[str]:
    rows = await conn.fetch(
        "SELECT theme_id FROM body_themes WHERE body_id = $1 ORDER BY theme_id", body_id
    )
    return [r["theme_id"] for r in rows]


async def existing_ids(conn: asyncpg.Connection, table: str, ids: list[str]) -> set[str]:
    rows = await conn.fetch(f"SELECT id FROM {table} WHERE id = ANY($1::text[])", ids)  # noqa: S608
    return {r["id"] for r in rows}
