"""Every figure of the focal point's « Tableau de bord » leads to the list of exactly the requests
it counts, over the same period on the same day (the citizen's submission day), on the whole
platform: requests submitted (by another channel, on days chosen in March 2020, some before or
after it), decided by an analyst in the back office, treated by the body, given an opinion or
reopened by the citizen, closed by the clock; then, through the gateway with the focal point's
session, each card's figure is its list's total and the list holds those codes and no other."""

from __future__ import annotations

import html as htmllib
import re
from datetime import UTC, datetime, timedelta

from services.treatment import actions, clock
from shared.identity import Identity, Role
from shared.messages import Nature, Opinion
from shared.service import POOL
from tests.staff.helpers import create_account, signed_in_session
from tests.support import eventually, publish_events, submitted_event
from tests.triage.test_pages import _form_values, _in_queue, _page, _post

BODY, OTHER = "ministere-budget", "ministere-justice"
PASSWORD = "chaque chiffre mène à sa liste"
PERIOD = "du=2020-03-01&au=2020-03-31"
IN = datetime(2020, 3, 10, 9, 0, tzinfo=UTC)
LAST_HOUR = datetime(2020, 3, 31, 23, 30, tzinfo=UTC)  # the period's last day, late
BEFORE = datetime(2020, 2, 27, 9, 0, tzinfo=UTC)
AFTER = datetime(2020, 4, 1, 0, 10, tzinfo=UTC)  # the day after the period, early
AGENT = Identity(staff_id="pf-cartes", role=Role.FOCAL_POINT, body_id=BODY, login="pf.cartes")

# name → (nature, submitted at, body); what becomes of each is in the test.
REQUESTS = {
    "waiting": (Nature.RECLAMATION, IN, BODY),
    "held": (Nature.RECLAMATION, IN, BODY),
    "reopened": (Nature.RECLAMATION, IN, BODY),
    "info": (Nature.DEMANDE_INFORMATION, LAST_HOUR, BODY),
    "awaited": (Nature.RECLAMATION, IN, BODY),
    "satisfied": (Nature.RECLAMATION, IN, BODY),
    "partly": (Nature.RECLAMATION, IN, BODY),
    "unsatisfied": (Nature.RECLAMATION, IN, BODY),
    "silent": (Nature.RECLAMATION, IN, BODY),
    "suggestion": (Nature.SUGGESTION, IN, BODY),
    "with_analysts": (Nature.RECLAMATION, IN, BODY),  # never reaches the body
    # Outside the period, in the states the period's ones are in.
    "old_waiting": (Nature.RECLAMATION, BEFORE, BODY),
    "old_satisfied": (Nature.RECLAMATION, BEFORE, BODY),
    "old_silent": (Nature.RECLAMATION, BEFORE, BODY),
    "late_unsatisfied": (Nature.RECLAMATION, AFTER, BODY),
    "late_suggestion": (Nature.SUGGESTION, AFTER, BODY),
    # Another body's, in the period.
    "theirs": (Nature.RECLAMATION, IN, OTHER),
    "theirs_satisfied": (Nature.RECLAMATION, IN, OTHER),
}

# Each card → the requests it counts (services/stats/body_dashboard.py, shared/body_counts.py).
CARDS = {
    "Total requêtes": {
        "waiting", "held", "reopened", "info", "awaited", "satisfied", "partly",
        "unsatisfied", "silent", "suggestion",
    },
    "Motions validées": set(),
    "Réclamations validées": {
        "waiting", "held", "reopened", "awaited", "satisfied", "partly", "unsatisfied",
        "silent",
    },
    "Suggestions validées": {"suggestion"},
    "Observations validées": set(),
    "Demandes d'information validées": {"info"},
    "Réclamations à traiter": {"waiting", "held", "reopened", "info"},
    "Réclamations traitées": {"awaited", "satisfied", "partly", "unsatisfied", "silent"},
    "Avis attendus": {"awaited"},
    "Avis exprimés": {"satisfied", "partly", "unsatisfied"},
    "Avis d'insatisfaction": {"unsatisfied"},
    "Sans retour": {"silent"},
}  # fmt: skip


def _cards(page: str) -> dict[str, tuple[int, str]]:
    """label → (figure, link) of every card of the focal point's dashboard."""
    found = re.findall(
        r'<li class="card">\s*<h3>([^<]+)</h3>\s*<p class="figure"><a href="([^"]+)">(\d+)<', page
    )
    return {label: (int(figure), href) for label, href, figure in found}


def _waiting_links(page: str) -> dict[str, tuple[int, str]]:
    """The figures of what waits today, whatever the period, each with its link: the header's
    « À traiter » and the dashboard's « À traiter aujourd'hui … en retraitement » (those the
    page shows: the header's is left out when stats did not answer its own call)."""
    found = {
        "badge": re.search(r'<a href="([^"]+)">À traiter <span class="badge">(\d+)<', page),
        "today": re.search(
            r'toutes périodes confondues : <a href="([^"]+)">(\d+) requêtes?<', page
        ),
        "reopened": re.search(r'<a href="([^"]+)">(\d+) en retraitement</a>', page),
    }
    return {name: (int(m[2]), m[1]) for name, m in found.items() if m}


def _listed(page: str) -> tuple[int, set[str]]:
    """A list page's total (its table's caption) and the codes of its rows."""
    total = re.search(r", (\d+) au total</caption>", page)
    codes = set(re.findall(r"/admin/requetes/(\d{10})", page))
    return (int(total[1]) if total else 0), codes


def _named(listed: tuple[int, set[str]], code: dict[str, str]) -> tuple[int, set[str]]:
    """A list's total and its rows named as in :data:`REQUESTS` (a code of none: as it is)."""
    name = {c: n for n, c in code.items()}
    total, codes = listed
    return total, {name.get(c, c) for c in codes}


async def _states(stack, made: dict[str, tuple[str, object]]) -> str:
    """Where each request of :data:`REQUESTS` stands, one line each: treatment's status, stats'
    and the moment of the event that set stats' — to tell a failure's cause from its message."""
    ids = {i: name for name, (_, i) in made.items()}
    async with stack.apps["treatment"].app[POOL].acquire() as conn:
        treated = await conn.fetch(
            "SELECT request_id, status FROM treatments WHERE request_id = ANY($1::uuid[])",
            list(ids),
        )
    async with stack.apps["stats"].app[POOL].acquire() as conn:
        counted = await conn.fetch(
            """SELECT request_id, status, status_at FROM request_facts
               WHERE request_id = ANY($1::uuid[])""",
            list(ids),
        )
    there = {r["request_id"]: r["status"] for r in treated}
    facts = {r["request_id"]: (r["status"], r["status_at"]) for r in counted}
    lines = []
    for i, name in ids.items():
        status, at = facts.get(i, (None, None))
        lines.append(f"{name}: treatment {there.get(i)}, stats {status} (event of {at})")
    return "\n".join(lines)


async def _submitted(stack, amqp_url: str, namespace: str) -> dict[str, tuple[str, object]]:
    """Every request of :data:`REQUESTS` submitted on its day; name → (code, request id)."""
    events = {
        name: submitted_event(
            nature=nature,
            body_id=body,
            body_name=f"Organisme {body}",
            submitted_at=at,
        )
        for name, (nature, at, body) in REQUESTS.items()
    }
    await publish_events(amqp_url, namespace, events.values())
    for event in events.values():
        await _in_queue(stack, event.code)
    return {name: (e.code, e.request_id) for name, e in events.items()}


async def _validate(stack, codes: list[str]) -> None:
    """An analyst validates each request in the back office, as they do."""
    base = stack.gateway + "/admin/traitements"
    async with await signed_in_session(stack.gateway, "an.cartes", PASSWORD) as http:
        for code in codes:
            _, page = await _page(http, f"{base}/{code}")
            status, _, _ = await _post(
                http, f"{base}/{code}/valider", {**_form_values(page), "confirm": "oui"}
            )
            assert status == 303, code


async def test_every_card_leads_to_the_list_of_what_it_counts(
    stack, database_url, amqp_url, namespace
):
    await create_account(database_url, Role.ANALYST, "an.cartes", PASSWORD)
    await create_account(database_url, Role.FOCAL_POINT, "pf.cartes", PASSWORD, BODY)
    made = await _submitted(stack, amqp_url, namespace)
    code = {name: c for name, (c, _) in made.items()}
    ids = {name: i for name, (_, i) in made.items()}
    await _validate(stack, [c for name, c in code.items() if name != "with_analysts"])

    pool = stack.apps["treatment"].app[POOL]

    async def all_at_the_bodies():
        async with pool.acquire() as conn:
            return await conn.fetchval("SELECT count(*) FROM treatments") == len(REQUESTS) - 1

    await eventually(all_at_the_bodies)
    who = actions.Who(AGENT, "10.0.0.7")
    other = actions.Who(
        Identity(staff_id="pf-autre", role=Role.FOCAL_POINT, body_id=OTHER, login="pf.autre"),
        "10.0.0.8",
    )

    async def answered(name: str) -> None:
        agent = other if REQUESTS[name][2] == OTHER else who
        await actions.take_in_charge(pool, code[name], agent, version=None)
        await actions.answer(pool, code[name], agent, message=f"Réponse à {name}", version=None)

    # The clock closes « sans retour » what waits too long for an opinion: these two alone,
    # the only ones answered yet, seen from far enough ahead for any « Délais ».
    for name in ("silent", "old_silent"):
        await answered(name)
    ahead = datetime.now(UTC) + timedelta(days=400)
    closed = await clock.close_without_opinion(pool, now=ahead, days=1)
    assert sorted(closed) == sorted([code["silent"], code["old_silent"]]), await _states(
        stack, made
    )

    await actions.take_in_charge(pool, code["held"], who, version=None)
    await actions.put_on_hold(pool, code["held"], who, reason="Pièce attendue.", version=None)
    replies = {
        "satisfied": Opinion.SATISFIED,
        "partly": Opinion.PARTLY_SATISFIED,
        "unsatisfied": Opinion.NOT_SATISFIED,
        "old_satisfied": Opinion.SATISFIED,
        "late_unsatisfied": Opinion.NOT_SATISFIED,
        "theirs_satisfied": Opinion.SATISFIED,
    }
    for name in ("awaited", "reopened", *replies):
        await answered(name)
    now = datetime.now(UTC)
    async with pool.acquire() as conn, conn.transaction():
        for name, opinion in replies.items():
            await actions.apply_opinion(conn, ids[name], opinion, None, now)
        await actions.apply_reopening(conn, ids["reopened"], "Toujours rien.", now)

    # What waits today, whatever the submission day: the header's « À traiter », the dashboard's
    # « À traiter aujourd'hui » and its « … en retraitement ».
    every_day = {"waiting", "held", "reopened", "info", "old_waiting"}
    waits = {"badge": every_day, "today": every_day, "reopened": {"reopened"}}
    expected = {
        **{label: len(names) for label, names in CARDS.items()},
        **{name: len(names) for name, names in waits.items()},
    }
    shown: dict[str, int] = {}
    async with await signed_in_session(stack.gateway, "pf.cartes", PASSWORD) as http:

        async def counted():
            # Every figure the test reads, the waiting ones too: stats applies each request's
            # events in their order but not the platform's (the outbox relay publishes a batch on
            # several channels at once), so the cards can be right while an answer to a request
            # outside the period, or the one to « awaited », is still to be applied.
            status, page = await _page(http, f"{stack.gateway}/admin/?{PERIOD}")
            assert status == 200, page
            shown.clear()
            shown.update({label: figure for label, (figure, _) in _cards(page).items()})
            shown.update({name: figure for name, (figure, _) in _waiting_links(page).items()})
            return page if shown == expected else None

        try:
            dashboard = await eventually(counted)
        except AssertionError as failed:
            # Which figure never came, and where each request stands on both sides.
            raise AssertionError(
                f"{failed}\nlast figures shown: {shown}\nexpected: {expected}\n"
                f"{await _states(stack, made)}"
            ) from failed
        for label, (figure, href) in _cards(dashboard).items():
            # The period in the link, whatever the list.
            assert "du=2020-03-01" in href and "au=2020-03-31" in href, (label, href)
            status, page = await _page(http, stack.gateway + htmllib.unescape(href))
            assert status == 200, (label, href)
            assert _named(_listed(page), code) == (figure, CARDS[label]), (
                f"{label} {href}\n{await _states(stack, made)}"
            )

        # What waits today counts every submission day, and so do the lists it leads to.
        for name, (figure, href) in _waiting_links(dashboard).items():
            assert "du=" not in href, (name, href)
            _, page = await _page(http, stack.gateway + htmllib.unescape(href))
            assert _named(_listed(page), code) == (figure, waits[name]), (
                f"{name} {href}\n{await _states(stack, made)}"
            )

    # The period is the submission day's: validated today, the requests count in March 2020.
    async with pool.acquire() as conn:
        first = await conn.fetchval("SELECT min(validated_at) FROM treatments")
    assert first > AFTER
