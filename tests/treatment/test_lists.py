"""The focal point's lists over HTTP: what each holds, the search, the sorting, the pages, the
CSV export, and a focal point who never sees another body's row, in any list, export or count."""

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest

from services.treatment import focal_api
from tests.treatment.conftest import ADMIN, AGENT, ANALYST, OPERATOR, STRANGER
from tests.treatment.lists_scenario import scenario

VIEWS = list(focal_api.LISTS)


async def codes_of(treatment, view: str, identity=AGENT, **params) -> tuple[int, list[str]]:
    query = "&".join(f"{k}={v}" for k, v in {"view": view, "limit": 100, **params}.items())
    status, body = await treatment.api.get(f"/requests?{query}", identity=identity)
    assert status == 200, body
    return body["total"], [item["code"] for item in body["items"]]


async def exported(treatment, identity=AGENT, **params) -> list[list[str]]:
    query = "&".join(f"{k}={v}" for k, v in params.items())
    status, raw = await treatment.api.get(f"/requests/export.csv?{query}", identity=identity)
    assert status == 200
    assert raw.startswith("\ufeff".encode())
    return list(csv.reader(io.StringIO(raw.decode("utf-8-sig")), delimiter=";"))


@pytest.fixture
async def two_bodies(treatment):
    ours = await scenario(treatment.pool, AGENT.body_id)
    theirs = await scenario(treatment.pool, STRANGER.body_id)
    return ours, theirs


async def test_each_list_holds_its_rows_oldest_validation_first(treatment, two_bodies):
    ours, _ = two_bodies
    for view in VIEWS:
        total, codes = await codes_of(treatment, view)
        assert (total, codes) == (len(ours[view]), ours[view]), view


async def test_the_rows_carry_the_answer_the_opinion_and_the_reopening(treatment, two_bodies):
    ours, _ = two_bodies
    _, body = await treatment.api.get("/requests?view=insatisfaits")
    [item] = body["items"]
    assert item["answer_message"] == "Réponse à unsatisfied" and item["answer_at"]
    assert (item["opinion"], item["opinion_label"]) == ("not_satisfied", "Non satisfait")
    assert item["opinion_comment"] == "Trop lent"
    _, body = await treatment.api.get("/requests?view=retraitement")
    [item] = body["items"]
    assert item["reopening_message"] == "Toujours fermé" and item["reopened_at"]
    assert item["answer_message"] == "Réponse à reopened"
    _, body = await treatment.api.get("/requests?view=en_cours")
    held = next(i for i in body["items"] if i["code"] == ours["by_name"]["held"])
    assert held["assignee_login"] == f"pf.{AGENT.body_id}"
    assert held["contact"]["email"] == f"aya@{AGENT.body_id}.ci"


async def test_a_focal_point_never_sees_another_body_in_any_list_count_or_export(
    treatment, two_bodies
):
    ours, theirs = two_bodies
    for view in VIEWS:
        # Asking for the other body changes nothing: a focal point has its own body only.
        for params in ({}, {"body_id": AGENT.body_id}, {"q": ours["by_name"]["fresh"]}):
            total, codes = await codes_of(treatment, view, STRANGER, **params)
            assert set(codes) <= set(theirs[view]), (view, params)
            assert total == len(codes)
        rows = await exported(treatment, STRANGER, view=view, body_id=AGENT.body_id)
        assert [r[0] for r in rows[1:]] == theirs[view], view
        assert all(r[3] == f"Organisme {STRANGER.body_id}" for r in rows[1:])
    # The code of another body's request, searched: nothing.
    total, codes = await codes_of(treatment, "reclamations", STRANGER, q=ours["by_name"]["fresh"])
    assert (total, codes) == (0, [])


async def test_analysts_and_administrators_read_every_body_or_one(treatment, two_bodies):
    ours, theirs = two_bodies
    for reader in (ANALYST, ADMIN):
        _, codes = await codes_of(treatment, "insatisfaits", reader)
        assert sorted(codes) == sorted(ours["insatisfaits"] + theirs["insatisfaits"])
        _, codes = await codes_of(treatment, "en_cours", reader, body_id=STRANGER.body_id)
        assert codes == theirs["en_cours"]
    status, _ = await treatment.api.get("/requests?view=en_cours", identity=OPERATOR)
    assert status == 403
    status, _ = await treatment.api.get("/requests/export.csv", identity=OPERATOR)
    assert status == 403
    status, _ = await treatment.api.get("/requests/export.csv", identity=None)
    assert status == 401


async def test_the_search_finds_a_code_or_words_of_the_message_or_contact(treatment, two_bodies):
    ours, _ = two_bodies
    names = ours["by_name"]
    fresh = names["fresh"]
    spaced = f"{fresh[:3]} {fresh[3:6]} {fresh[6:]}"
    assert (await codes_of(treatment, "reclamations", q=spaced))[1] == [fresh]
    # Without the accent, and any case; the contact's name and email.
    assert (await codes_of(treatment, "reclamations", q="DECEVANT"))[1] == [fresh]
    assert (await codes_of(treatment, "en_cours", q="kouassi"))[1] == [fresh]
    assert (await codes_of(treatment, "insatisfaits", q="pension"))[1] == [names["unsatisfied"]]
    assert (await codes_of(treatment, "reclamations", q="pension"))[1] == [
        names["held"],
        names["unsatisfied"],
    ]
    assert (await codes_of(treatment, "en_cours", q="introuvable"))[0] == 0
    # Only stop words: no criterion.
    assert (await codes_of(treatment, "en_cours", q="le la"))[0] == 3


async def test_the_sorting_and_the_pages(treatment, two_bodies):
    ours, _ = two_bodies
    every = ours["reclamations"]
    _, codes = await codes_of(treatment, "reclamations", sort="code", order="desc")
    assert codes == sorted(every, reverse=True)
    _, codes = await codes_of(treatment, "reclamations", sort="validated_at", order="desc")
    assert codes == every[::-1]
    _, codes = await codes_of(treatment, "en_cours", sort="status")
    assert codes[-1] == ours["by_name"]["reopened"]  # in_treatment < reopened
    total, first = await codes_of(treatment, "reclamations", limit=4)
    total, second = await codes_of(treatment, "reclamations", limit=4, offset=4)
    assert (total, first + second) == (6, every)
    status, body = await treatment.api.get("/requests?sort=deadline&order=up&view=x")
    assert status == 400
    assert {e["field"] for e in body["errors"]} == {"sort", "order", "view"}


async def test_the_export_holds_every_row_with_formulas_made_inert(treatment, two_bodies):
    ours, _ = two_bodies
    rows = await exported(treatment, view="en_cours")
    assert rows[0] == list(focal_api.EXPORT_HEADER)
    assert [r[0] for r in rows[1:]] == ours["en_cours"]
    held = next(r for r in rows if r[0] == ours["by_name"]["held"])
    assert held[7].startswith("'=HYPERLINK")
    rows = await exported(treatment, view="insatisfaits")
    line = dict(zip(rows[0], rows[1], strict=True))
    assert (line["Avis usager"], line["Commentaire de l'usager"]) == ("Non satisfait", "Trop lent")
    assert line["Message traitement"] == "Réponse à unsatisfied"
    async with treatment.pool.acquire() as conn:
        logged = await conn.fetchval(
            "SELECT detail FROM audit_log WHERE action = 'export' ORDER BY id DESC LIMIT 1"
        )
    assert logged == "1 ligne exportée (CSV, liste « Insatisfaits »)"


@pytest.mark.parametrize("view", VIEWS)
async def test_each_first_page_and_a_search_can_use_an_index(treatment, view):
    """With sequential scans priced out, no list reads the whole table: an index serves it."""
    from services.treatment import repository

    who_params = [AGENT.body_id, None]
    async with treatment.pool.acquire() as conn, conn.transaction():
        await conn.execute("SET LOCAL enable_seqscan = off")
        for body_id in who_params:
            chosen = focal_api.LISTS[view]
            for words in (None, "pension"):
                f = repository.ListFilter(
                    statuses=tuple(s.value for s in chosen.statuses) if chosen.statuses else None,
                    opinions=chosen.opinions,
                    without_opinion=chosen.without_opinion,
                    natures=tuple(n.value for n in chosen.natures) if chosen.natures else None,
                    body_id=body_id,
                    words=words,
                )
                where, args = repository._list_where(f, words)
                plan = "\n".join(
                    r[0]
                    for r in await conn.fetch(
                        f"EXPLAIN SELECT request_id FROM treatments WHERE {where}"
                        f" ORDER BY {repository._list_order(f)} LIMIT 20",
                        *args,
                    )
                )
                assert "Seq Scan" not in plan, (view, body_id, words, plan)


async def test_the_period_filters_on_the_validation_day(treatment, two_bodies):
    ours, _ = two_bodies
    today = datetime.now(UTC).date()
    yesterday = (today - timedelta(days=1)).isoformat()
    total, _ = await codes_of(
        treatment, "reclamations", validated_from=yesterday, validated_to=today.isoformat()
    )
    assert total == len(ours["reclamations"])
    total, _ = await codes_of(
        treatment, "reclamations", validated_from=yesterday, validated_to=yesterday
    )
    assert total == 0
    status, body = await treatment.api.get("/requests?validated_from=31/12/2020")
    assert (status, body["errors"][0]["field"]) == (400, "validated_from")


async def test_the_back_office_s_period_filters_on_the_submission_day(treatment, two_bodies):
    """The back office's « PERIODE DU … au … » is on the day the citizen submitted the request,
    as the dashboard counts it (shared.body_counts); the whole of its last day included."""
    ours, _ = two_bodies
    march = await treatment.validated(submitted_at=datetime(2020, 3, 31, 23, 59, tzinfo=UTC))
    april = await treatment.validated(submitted_at=datetime(2020, 4, 1, 0, 1, tzinfo=UTC))
    period = {"submitted_from": "2020-03-01", "submitted_to": "2020-03-31"}
    assert await codes_of(treatment, "recues", **period) == (1, [march.code])
    assert await codes_of(treatment, "reclamations", submitted_from="2020-04-01") == (
        1 + len(ours["reclamations"]),
        [*ours["reclamations"], april.code],
    )
    status, body = await treatment.api.get("/requests?submitted_to=2020-02-30")
    assert (status, body["errors"][0]["field"]) == (400, "submitted_to")
