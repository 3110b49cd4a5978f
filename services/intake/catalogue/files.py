"""The catalogue's data files (bodies, themes, places), loaded into intake's tables at start.

Rows are upserted, never deleted: a row an administrator edited (``edited_at`` set) is left as
they made it, the others follow the files. A body's ``themes`` in the file, when given, are the
themes offered for it (added, never removed: an administrator may have changed them).
"""

from __future__ import annotations

import json
import re
import unicodedata
from pathlib import Path

import asyncpg

# bodies.json, themes.json, places.json beside this module.
DATA = Path(__file__).parent


def search_key(text: str) -> str:
    """``text`` lower-cased, without accents, punctuation turned to spaces: what the citizens'
    search compares, so that « education nationale » finds « Ministère de l'Education
    Nationale »."""
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    return " ".join(re.split(r"[^a-z0-9]+", plain)).strip()


def body_search_text(
    name: str, location: str, phones: list[str], email: str = "", acronym: str = ""
) -> str:
    # A telephone is found as written (« 27 20 32 08 88 »), in one piece, and by its last eight
    # digits: the number citizens knew before 2021 (« 20320888 »).
    numbers = [re.sub(r"\D", "", p) for p in phones]
    numbers = [n for number in numbers for n in (number, number[-8:]) if n]
    return search_key(" ".join([name, acronym, location, email, *phones, *numbers]))


def slug(text: str) -> str:
    """An identifier made from a label, for rows an administrator creates without one."""
    return "-".join(search_key(text).split())[:80]


async def load(conn: asyncpg.Connection, folder: Path = DATA) -> None:
    bodies = json.loads((folder / "bodies.json").read_text())
    await conn.executemany(
        """INSERT INTO bodies (id, name, phones, location, email, search_text, acronym, hours)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
           ON CONFLICT (id) DO UPDATE
           SET name = EXCLUDED.name, phones = EXCLUDED.phones, location = EXCLUDED.location,
               email = EXCLUDED.email, search_text = EXCLUDED.search_text,
               acronym = EXCLUDED.acronym, hours = EXCLUDED.hours
           WHERE bodies.edited_at IS NULL""",
        [
            (
                b["id"],
                b["name"],
                b["phones"],
                b["location"],
                b.get("email", ""),
                body_search_text(
                    b["name"], b["location"], b["phones"], b.get("email", ""), b.get("acronym", "")
                ),
                b.get("acronym", ""),
                b.get("hours", ""),
            )
            for b in bodies
        ],
    )
    themes = json.loads((folder / "themes.json").read_text())
    rows = []
    for i, theme in enumerate(themes):
        rows.append((theme["id"], None, theme["label"], i))
        rows += [(c["id"], theme["id"], c["label"], j) for j, c in enumerate(theme["children"])]
    await conn.executemany(
        """INSERT INTO themes (id, parent_id, label, position) VALUES ($1, $2, $3, $4)
           ON CONFLICT (id) DO UPDATE
           SET parent_id = EXCLUDED.parent_id, label = EXCLUDED.label,
               position = EXCLUDED.position
           WHERE themes.edited_at IS NULL""",
        rows,
    )
    await conn.executemany(
        """INSERT INTO body_themes (body_id, theme_id) VALUES ($1, $2)
           ON CONFLICT DO NOTHING""",
        [(b["id"], t) for b in bodies for t in b.get("themes", [])],
    )
    regions = json.loads((folder / "places.json").read_text())
    await conn.executemany(
        """INSERT INTO places (id, region, name, kind, region_position)
           VALUES ($1, $2, $3, $4, $5)
           ON CONFLICT (id) DO UPDATE
           SET region = EXCLUDED.region, name = EXCLUDED.name, kind = EXCLUDED.kind,
               region_position = EXCLUDED.region_position
           WHERE places.edited_at IS NULL""",
        [
            (p["id"], r["region"], p["name"], p["kind"], i)
            for i, r in enumerate(regions)
            for p in r["places"]
        ],
    )
