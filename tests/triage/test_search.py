"""The queue's search, sorting, paging and CSV export through triage's API (real PostgreSQL);
the parsing of the parameters alone, without I/O."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta

import pytest

from services.triage import search
from shared.codes import new_code
from shared.messages import Channel, Contact, Nature
from shared.working_days import Calendar, day_of
from tests.support import eventually, publish_event, submitted_event
from tests.triage.helpers import ADMIN


def test_parse_reads_every_criterion_and_names_every_fault():
    s = search.parse(
        {
            "q": "passeport Cocody",
            "body_id": "ministere-budget",
            "nature": "reclamation",
            "channel": "phone",
            "from": "2024-01-01",
            "to": "2024-01-31",
            "sort": "deadline",
            "order": "desc",
            "limit": "10",
            "offset": "20",
            "overdue": "true",
        }
    )
    assert (s.words, s.body_id, s.nature, s.channel) == (
        "passeport Cocody",
        "ministere-budget",
        "reclamation",
        "phone",
    )
    assert (s.submitted_from, s.submitted_to) == (date(2024, 1, 1), date(2024, 1, 31))
    assert (s.sort, s.descending, s.limit, s.offset, s.overdue) == ("deadline", True, 10, 20, True)
    assert s.status == "waiting"
    # A code typed in the search box is a code, and a code looks at every status.
    code = new_code()
    by_code = search.parse({"q": f" {code[:3]} {code[3:]} "})
    assert (by_code.code, by_code.words, by_code.status) == (code, "", None)
    with pytest.raises(search.Invalid) as caught:
        search.parse(
            {
                "code": "1234567890",
                "body_id": "Ministère",
                "nature": "plainte",
                "channel": "fax",
                "status": "perdu",
                "from": "31/01/2024",
                "sort": "humeur",
                "order": "up",
                "limit": "0",
                "offset": "-1",
                "overdue": "peut-être",
            }
        )
    fields = {e["field"] for e in caught.value.errors}
    assert fields == {
        "code",
        "body_id",
        "nature",
        "channel",
        "status",
        "from",
        "sort",
        "order",
        "limit",
        "offset",
        "overdue",
    }
    with pytest.raises(search.Invalid) as caught:
        search.parse({"from": "2024-02-01", "to": "2024-01-01"})
    assert caught.value.errors[0]["field"] == "to"


async def test_search_by_words_and_criteria_sort_page_and_export(triage):
    now = datetime.now(UTC)
    contact = Contact(last_name="KONAN", first_names="Yao", email="yao@example.ci", phone=None)
    events = [
        submitted_event(
            message="Le guichet des passeports de Cocody est fermé depuis une semaine.",
            submitted_at=now - timedelta(days=30),
            place_id="cocody",
            place_label="Cocody",
        ),
        submitted_event(
            nature=Nature.SUGGESTION,
            message="Ouvrir le guichet le samedi matin aiderait les travailleurs.",
            submitted_at=now - timedelta(days=3),
            body_id="ministere-justice",
            body_name="Garde des Sceaux, Ministère de la Justice",
            theme_id="accueil-agent",
            channel=Channel.PHONE,
            contact=contact,
        ),
        submitted_event(
            message='=HYPERLINK("http://evil";"cliquez") L\'accueil est décevant.',
            submitted_at=now - timedelta(days=1),
        ),
        submitted_event(
            nature=Nature.MOTION,
            message="Merci aux agents de l'état civil pour leur accueil.",
            submitted_at=now - timedelta(hours=2),
        ),
    ]
    for event in events:
        await publish_event(triage.amqp_url, triage.namespace, event)
    api = triage.api

    async def all_in():
        _, body = await api.get("/queue")
        return body if body["total"] == len(events) else None

    listing = await eventually(all_in)
    codes = [e.code for e in events]
    # Oldest first; the first is past its 15 working days and marked.
    assert [i["code"] for i in listing["items"]] == codes
    assert [i["overdue"] for i in listing["items"]] == [True, False, False, False]
    working = Calendar()
    due = working.add(day_of(events[0].submitted_at), 15)
    assert listing["items"][0]["days_left"] == working.left(now.date(), due) < 0

    async def found(query: str) -> list[str]:
        status, body = await api.get(f"/queue?{query}")
        assert status == 200, body
        return [i["code"] for i in body["items"]]

    # Words, with or without accents, any form of the word (French stemming).
    assert await found("q=guichet") == [codes[0], codes[1]]
    assert await found("q=decevant") == [codes[2]]
    assert await found("q=Décevante") == [codes[2]]
    assert await found("q=passeport+cocody") == [codes[0]]
    assert await found("q=%22samedi+matin%22") == [codes[1]]
    assert await found("q=le+la+de") == codes  # only stop words: no filter
    # Criteria.
    assert await found("body_id=ministere-justice") == [codes[1]]
    assert await found("nature=motion_felicitations") == [codes[3]]
    assert await found("channel=phone") == [codes[1]]
    assert await found("place_id=cocody") == [codes[0]]
    assert await found("theme_id=accueil-agent") == [codes[1]]
    assert await found("overdue=true") == [codes[0]]
    since = (now - timedelta(days=2)).date().isoformat()
    assert await found(f"from={since}") == [codes[2], codes[3]]
    until = (now - timedelta(days=10)).date().isoformat()
    assert await found(f"to={until}") == [codes[0]]
    assert await found("q=guichet&nature=suggestion") == [codes[1]]
    # Sorting and pages.
    assert await found("sort=submitted&order=desc") == codes[::-1]
    # By deadline, the second page holds the two due last. Which two depends on the day the
    # test runs: the requests of three days ago and of yesterday are due the same working day
    # when a weekend or a holiday lies between (on a Monday: Friday's and Sunday's), and ties
    # may come in any order. So the page is judged by the days left the queue itself shows.
    days_left = {i["code"]: i["days_left"] for i in listing["items"]}
    page = await found("sort=deadline&limit=2&offset=2")
    assert sorted(days_left[c] for c in page) == sorted(days_left.values())[2:]
    first = await found("sort=deadline&limit=2&offset=0")
    assert set(first) | set(page) == set(codes)  # the two pages: every request once
    status, bad = await api.get("/queue?nature=plainte&limit=500")
    assert status == 400
    assert {e["field"] for e in bad["errors"]} == {"nature", "limit"}

    # A decided request leaves the queue but its code still finds it.
    await api.post(f"/queue/{codes[3]}/validate", {})
    assert codes[3] not in await found("")
    assert await found(f"q={codes[3]}") == [codes[3]]
    assert await found("status=validated") == [codes[3]]
    assert await found("status=all&sort=code") == sorted(codes)

    # The export: every matching row, for Excel, nothing a spreadsheet would run.
    status, data = await api.get("/queue/export.csv?status=all")
    assert status == 200
    assert data.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig")), delimiter=";"))
    assert rows[0][:4] == ["N°", "Nature", "Thème", "Organisme"]
    assert [r[0] for r in rows[1:]] == codes
    by_code = {r[0]: r for r in rows[1:]}
    assert by_code[codes[2]][6].startswith("'=HYPERLINK(")
    assert by_code[codes[1]][4] == "Téléphone (centre d'appels)"
    assert by_code[codes[1]][7:9] == ["Yao KONAN", "yao@example.ci"]
    assert by_code[codes[0]][14] == "En attente d'examen — en retard"
    assert by_code[codes[3]][14] == "Validée"
    status, _ = await api.get("/queue/export.csv?nature=plainte")
    assert status == 400
    # Taking the contacts out is in the audit log.
    _, log = await api.get("/audit", identity=ADMIN)
    assert any(i["action"] == "export" and i["detail"].startswith("4 lignes") for i in log["items"])
