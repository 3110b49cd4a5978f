"""Two copies of every process on one database and one broker namespace (the design runs N of
each, scaled on queue length): dozens of requests driven through their whole life at once, each
step through one copy or the other, so that a request's events sit close together in the queues
and the two copies of each consumer take them out of order.

Once everything has settled, for every request: intake's tracking view, triage's and treatment's
rows and stats' fact agree on its last status; stats counts each request once; every citizen got
each email once (none lost, none twice); nothing is dead-lettered, nothing left parked, nothing
left unsent in an outbox. The body's other steps (hold, reassignment, « Insatisfaits »): see
test_two_copies_treatment.py.
"""

from __future__ import annotations

import asyncio
from collections import Counter

import aiohttp
import asyncpg

from tests.e2e.copies import (
    FOCAL_POINT,
    Drive,
    Journey,
    agree,
    emails,
    journeys_of,
    no_dead_letters,
    no_deadlocks,
    settled,
)
from tests.support import signed_session

# Journey → (its last status, the emails its citizen gets: one per step that tells them).
JOURNEYS: dict[str, tuple[str, Counter]] = {
    # Answered, then « Satisfait »: the citizen's own act closes it, with no email.
    "closed": ("closed", Counter(submitted=1, validated=1, taken=1, treated=1)),
    # Answered, reopened by the citizen (« Relancer »), answered again.
    "reopened": ("treated", Counter(submitted=1, validated=1, taken=1, treated=2, reopened=1)),
    "rejected": ("rejected", Counter(submitted=1, rejected=1)),
    # Sent back for reformulation, rewritten by the citizen, validated, answered.
    "rewritten": (
        "treated",
        Counter(submitted=1, reformulation=1, validated=1, taken=1, treated=1),
    ),
    # Validated: at the body, waiting for its focal point.
    "validated": ("in_treatment", Counter(submitted=1, validated=1)),
    # Taken in charge, with the acknowledgement email.
    "taken": ("in_treatment", Counter(submitted=1, validated=1, taken=1)),
}
PER_JOURNEY = 10  # 60 requests


async def _drive(drive: Drive, j: Journey) -> None:
    i = j.index
    await drive.submit(j)
    if j.kind == "rejected":
        await drive.decide(i, j, "reject", "Cette requête ne relève pas du ministère.")
        return
    if j.kind == "rewritten":
        await drive.decide(i, j, "reformulate", "Précisez l'établissement et la classe.")
        await drive.until(
            200,
            "POST",
            drive.url(i + 1, "gateway") + "/api/v1/tracking/rewrite",
            body={**j.citizen, "message": "Les bulletins du lycée de Cocody, classe de 3e B."},
        )
    await drive.decide(i + 1, j, "validate")
    if j.kind == "validated":
        return
    done = await drive.take(i, j)
    if j.kind == "taken":
        return
    await drive.answer(i, j, done["version"])
    if j.kind == "closed":
        await drive.opinion(i + 1, j, "satisfied")
    elif j.kind == "reopened":
        await drive.until(
            202,
            "POST",
            drive.url(i + 1, "gateway") + "/api/v1/tracking/reopen",
            body={**j.citizen, "message": "Rien n'est arrivé."},
        )
        item = await drive.at_body_status(i + 1, j, "reopened")
        await drive.until(
            200,
            "POST",
            drive.at_body(i, j, "answer"),
            headers=FOCAL_POINT,
            body={"message": f"Les bulletins de {j.code} repartent.", "version": item["version"]},
        )


async def test_two_copies_of_every_process_lose_nothing_and_do_nothing_twice(
    two_copies_platform, smtp_server, database_url, amqp_url, namespace
):
    journeys = journeys_of(JOURNEYS, PER_JOURNEY, "citoyen")
    connector = aiohttp.TCPConnector(limit=0)
    async with signed_session(connector=connector) as http:
        drive = Drive(two_copies_platform, http)
        await asyncio.gather(*(_drive(drive, j) for j in journeys))

        db = await asyncpg.connect(database_url)
        try:
            await settled(db)
            await agree(db, drive, journeys, {j.code: JOURNEYS[j.kind][0] for j in journeys})
        finally:
            await db.close()
    await emails(smtp_server, journeys, {kind: mails for kind, (_, mails) in JOURNEYS.items()})
    await no_dead_letters(amqp_url, namespace)
    no_deadlocks(two_copies_platform)
