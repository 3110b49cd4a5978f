"""The catalogue's data files (bodies, themes, places), loaded into intake's tables at start.

Rows are upserted, never deleted: an administrator may have edited or added some since.
"""

from __future__ import annotations

import json
from pathlib import Path

import asyncpg

DATA = Path(__file__).parent / "catalogue"


async def load(conn: asyncpg.Connection, folder: Path = DATA) -> None:
    bodies = json.loads((folder / "bodies.json").read_text())
    await conn.executemany(
        """INSERT INTO bodies (id, name, phones, location) VALUES ($1, $2, $3, $4)
           ON CONFLICT (id) DO NOTHING""",
        [(b["id"], b["name"], b["phones"], b["location"]) for b in bodies],
    )
    themes = json.loads((folder / "themes.json").read_text())
    rows = []
    for i, theme in enumerate(themes):
        rows.append((theme["id"], None, theme["label"], i))
        rows += [(c["id"], theme["id"], c["label"], j) for j, c in enumerate(theme["children"])]
    await conn.executemany(
        """INSERT INTO themes (id, parent_id, label, position) VALUES ($1, $2, $3, $4)
           ON CONFLICT (id) DO NOTHING""",
        rows,
    )
    regions = json.loads((folder / "places.json").read_text())
    await conn.executemany(
        """INSERT INTO places (id, region, name, kind) VALUES ($1, $2, $3, $4)
           ON CONFLICT (id) DO NOTHING""",
        [(p["id"], r["region"], p["name"], p["kind"]) for r in regions for p in r["places"]],
    )
