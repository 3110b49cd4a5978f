"""A body's requests in every list of the focal point, for the list tests of the service and
of the pages: ``await scenario(pool, body_id)`` → list name → codes."""

from __future__ import annotations

from datetime import UTC, datetime

import asyncpg

from services.treatment import actions
from shared.identity import Identity, Role
from shared.messages import Contact, Nature, Opinion
from tests.treatment.conftest import deliver, validated_event


def agent_of(body_id: str) -> Identity:
    return Identity(
        staff_id=f"fp-{body_id}", role=Role.FOCAL_POINT, body_id=body_id, login=f"pf.{body_id}"
    )


async def _citizen(pool: asyncpg.Pool, apply, *args) -> None:
    async with pool.acquire() as conn, conn.transaction():
        await apply(conn, *args)


async def scenario(pool: asyncpg.Pool, body_id: str) -> dict[str, list[str]]:
    """Seven requests of ``body_id``: en cours (one held by its agent), answered then reopened,
    closed unsatisfied with a comment, closed satisfied, closed without opinion, a suggestion
    and a motion read by the body. Words in their messages: « décevant », « pension »."""
    who = actions.Who(agent_of(body_id), "10.0.0.9")
    now = datetime.now(UTC)
    made: dict[str, str] = {}

    async def validated(name: str, message: str, nature=Nature.RECLAMATION, **contact) -> str:
        event = validated_event(
            body_id=body_id,
            body_name=f"Organisme {body_id}",
            nature=nature,
            message=message,
            contact=Contact(**(contact or {"email": f"aya@{body_id}.ci"})),
        )
        assert await deliver(pool, event)
        made[name] = event.code
        return event.code

    async def answered(name: str, message: str) -> str:
        code = await validated(name, message)
        await actions.take_in_charge(pool, code, who, version=None)
        await actions.answer(pool, code, who, message=f"Réponse à {name}", version=None)
        return code

    fresh = await validated(
        "fresh", "L'accueil est décevant", first_names="Aya", last_name="Kouassi"
    )
    held = await validated("held", '=HYPERLINK("x") la pension tarde')
    await actions.take_in_charge(pool, held, who, version=None)
    assert fresh
    reopened = await answered("reopened", "Le guichet est fermé")
    unsatisfied = await answered("unsatisfied", "Ma pension n'arrive pas")
    satisfied = await answered("satisfied", "Un document perdu")
    silent = await answered("silent", "Une route abîmée")
    async with pool.acquire() as conn:
        ids = {
            r["code"]: r["request_id"]
            for r in await conn.fetch(
                "SELECT code, request_id FROM treatments WHERE body_id = $1", body_id
            )
        }
    await _citizen(pool, actions.apply_reopening, ids[reopened], "Toujours fermé", now)
    await _citizen(
        pool, actions.apply_opinion, ids[unsatisfied], Opinion.NOT_SATISFIED, "Trop lent", now
    )
    await _citizen(pool, actions.apply_opinion, ids[satisfied], Opinion.SATISFIED, None, now)
    async with pool.acquire() as conn:  # what the clock does when no opinion comes
        await conn.execute(
            "UPDATE treatments SET status = 'closed', closed_at = now() WHERE code = $1", silent
        )
    await validated("suggestion", "Des bancs dans la salle", Nature.SUGGESTION)
    await validated("motion", "Bravo à l'accueil", Nature.MOTION)
    c = made
    return {
        "en_cours": [c["fresh"], c["held"], c["reopened"]],
        "retraitement": [c["reopened"]],
        "en_retard": [],  # no deadline escalated here: tests/treatment/test_reminders.py
        "insatisfaits": [c["unsatisfied"]],
        "consultations": [c["suggestion"], c["motion"]],
        "sans_retour": [c["silent"]],
        "avis_attendus": [],  # every answer here has its reply: the page tests add one
        "satisfaits": [c["satisfied"]],
        # The dashboard's « Réclamations traitées », « Avis exprimés », « Total requêtes ».
        "traitees": [c["unsatisfied"], c["satisfied"], c["silent"]],
        "avis_exprimes": [c["unsatisfied"], c["satisfied"]],
        "recues": [
            c[n]
            for n in (
                "fresh",
                "held",
                "reopened",
                "unsatisfied",
                "satisfied",
                "silent",
                "suggestion",
                "motion",
            )
        ],
        "reclamations": [
            c[n] for n in ("fresh", "held", "reopened", "unsatisfied", "satisfied", "silent")
        ],
        "demandes_information": [],
        "suggestions": [c["suggestion"]],
        "observations": [],
        "motions": [c["motion"]],
        "by_name": c,  # type: ignore[dict-item]
    }
