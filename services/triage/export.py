"""The queue as a CSV file for Excel: UTF-8 with a byte-order mark, « ; » between cells, cells
that a spreadsheet would run as formulas made inert. Streamed: rows leave as they are read."""

from __future__ import annotations

import json
from datetime import datetime

import asyncpg

from services.triage import domain
from shared import french
from shared.messages import NATURE_LABELS, Nature
from shared.purge import purged_on
from shared.working_days import Calendar

HEADER = (
    "N°",
    "Nature",
    "Thème",
    "Organisme",
    "Canal",
    "Commune ou S/Préfecture",
    "Message",
    "Nom et prénoms",
    "Email",
    "Téléphone",
    "Soumise le",
    "Entrée dans la file le",
    "Échéance",
    "Jours restants",
    "Statut",
    "Décidée par",
)


def row_cells(
    row: asyncpg.Record, now: datetime, calendar: Calendar = domain.WORKING_DAYS
) -> list[object]:
    contact = json.loads(row["contact"])
    name = " ".join(p for p in (contact.get("first_names"), contact.get("last_name")) if p)
    waiting = row["status"] == domain.Status.WAITING
    deadline = row["admissibility_deadline"]
    left = domain.days_left(deadline, now, calendar) if waiting else ""
    return [
        row["code"],
        NATURE_LABELS.get(Nature(row["nature"]), row["nature"]),
        row["theme_label"] or "",
        row["body_name"],
        domain.CHANNEL_LABELS.get(row["channel"], row["channel"]),
        row["place_label"] or "",
        purged_on(row["purged_at"]) if row.get("purged_at") else row["message"],
        name,
        contact.get("email") or "",
        contact.get("phone") or "",
        french.stamp(row["submitted_at"]),
        french.stamp(row["queued_at"]),
        french.stamp(deadline),
        left,
        domain.STATUS_LABELS.get(domain.Status(row["status"]), row["status"])
        + (" — en retard" if waiting and domain.is_overdue(deadline, now) else ""),
        row["decided_by"] or "",
    ]
