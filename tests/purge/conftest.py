"""The purge's tests: the platform in this process, its purge clock stopped (the tests move it),
and a request run through it with a citizen nobody else has: a name, a telephone, an email and
a sentence that the search after the purge looks for in every table of every schema."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from services.intake import purge
from services.intake.settings import SETTINGS
from shared.identity import Identity, Role
from shared.messages import Opinion, RequestPersonalDataPurgedV1
from shared.service import POOL
from tests.channels.conftest import sms_settings
from tests.fakes.orange_sms import FakeOrangeSms
from tests.front.conftest import OWNER, PNG, submission_fields
from tests.stack import Stack, start_stack
from tests.support import as_staff, eventually, signed_session
from tests.track.conftest import RELAXED

BODY = "ministere-budget"
LAST_NAME = "GBADJIRÉ"
FIRST_NAMES = "Zéphyrine"
EMAIL = "zephyrine.gbadjire@example.ci"
PHONE = "07 48 91 26 35"
MOBILE = "+2250748912635"  # E.164: as notify sends its SMS
# The telephone as each part stores or writes it.
PHONE_FORMS = ("+2250748912635", "2250748912635", "0748912635", "07 48 91 26 35")
PHRASE = "lampadaires de la rue des Flamboyants clignotent"
MESSAGE = f"Depuis mars, les {PHRASE} toute la nuit devant le lycée moderne."
# The document added at the rewrite.
DOCUMENT = f"plan {LAST_NAME}.png"
# Words of the phrase as the full-text columns keep them (stemmed, without accents).
LEXEMES = ("lampadair", "flamboi", "clignotent")

ANALYST = Identity(staff_id="purge-analyste", role=Role.ANALYST, login="awa.kone")
OPERATOR = Identity(staff_id="purge-centre", role=Role.OPERATOR, login="centre")
AGENT = Identity(staff_id="purge-pf", role=Role.FOCAL_POINT, body_id=BODY, login="koffi.yao")
# After a year and a day the purge is due (MILIE_PURGE_AFTER_DAYS: 365 by default).
LATER = timedelta(days=366)


@pytest.fixture
async def fake_sms() -> AsyncIterator[FakeOrangeSms]:
    async with FakeOrangeSms() as fake:
        yield fake


@pytest.fixture
async def stack(settings_for, smtp_server, fake_sms) -> AsyncIterator[Stack]:
    """The platform, its SMS going to ``fake_sms``; intake's purge runs only when a test sweeps
    (purge.sweep, its ``now``)."""
    exits = await start_stack(
        settings_for,
        smtp_server.port,
        purge_interval_seconds=0,
        **sms_settings(fake_sms),
        **RELAXED,
    )
    async with exits:
        yield exits.stack  # type: ignore[attr-defined]


def pool_of(stack: Stack, service: str) -> asyncpg.Pool:
    return stack.apps[service].app[POOL]


async def sweep(stack: Stack, now: datetime | None = None) -> list[str]:
    """Intake's purge clock, one round at ``now`` (a year and a day ahead by default)."""
    app = stack.apps["intake"].app
    return await purge.sweep(app[POOL], app[SETTINGS], now or datetime.now(UTC) + LATER)


async def _ok(resp, status: int = 200):
    body = await resp.json() if resp.content_type == "application/json" else await resp.text()
    assert resp.status == status, body
    return body


async def submitted(
    stack: Stack,
    *,
    email: str = EMAIL,
    last_name: str = LAST_NAME,
    first_names: str = FIRST_NAMES,
    phone: str = PHONE,
    message: str = MESSAGE,
    nature: str = "reclamation",
) -> tuple[uuid.UUID, str]:
    """A réclamation with a photo, through intake's draft API as the citizen's form sends it;
    (request id, code), once triage queues it."""
    contact = {
        "last_name": last_name,
        "first_names": first_names,
        "country": "CI",
        "phone": phone,
        "email": email,
    }
    fields = submission_fields(message=message, contact=contact, body_id=BODY, nature=nature)
    intake = stack.url("intake")
    headers = {"X-Draft-Owner": OWNER}
    async with signed_session() as http:
        async with http.post(intake + "/drafts", json={"fields": fields}, headers=headers) as r:
            draft = await _ok(r, 201)
        async with http.post(
            f"{intake}/drafts/{draft['draft_id']}/files",
            params={"filename": f"photo {last_name}.png"},
            data=PNG,
            headers=headers,
        ) as r:
            await _ok(r, 201)
        async with http.post(f"{intake}/drafts/{draft['draft_id']}/submit", headers=headers) as r:
            code = (await _ok(r, 201))["code"]

        async def queued() -> bool:
            url = f"{stack.url('triage')}/queue/{code}"
            async with http.get(url, headers=as_staff(ANALYST)) as r:
                return r.status == 200

        await eventually(queued)
    request_id = await pool_of(stack, "intake").fetchval(
        "SELECT id FROM requests WHERE code = $1", code
    )
    return request_id, code


async def call_centre_submission(stack: Stack, phone: str, last_name: str) -> tuple[uuid.UUID, str]:
    """A request an operator submits for a caller who gives a mobile number and no email;
    (request id, code), once triage queues it."""
    fields = {
        "nature": "reclamation",
        "body_id": BODY,
        "message": f"{last_name} attend sa pension depuis six mois.",
        "contact": {"last_name": last_name, "phone": phone, "country": "CI"},
        "terms_accepted": True,
    }
    headers = as_staff(OPERATOR, channel="phone")
    async with signed_session() as http:
        async with http.post(stack.url("intake") + "/requests", json=fields, headers=headers) as r:
            code = (await _ok(r, 201))["code"]

        async def queued() -> bool:
            url = f"{stack.url('triage')}/queue/{code}"
            async with http.get(url, headers=as_staff(ANALYST)) as r:
                return r.status == 200

        await eventually(queued)
    request_id = await pool_of(stack, "intake").fetchval(
        "SELECT id FROM requests WHERE code = $1", code
    )
    return request_id, code


async def decide(stack: Stack, code: str, decision: str, message: str) -> None:
    async with signed_session() as http:
        async with http.post(
            f"{stack.url('triage')}/queue/{code}/{decision}",
            json={"message": message},
            headers=as_staff(ANALYST),
        ) as r:
            await _ok(r)


async def closed(stack: Stack, code: str) -> None:
    """Wait until intake counts the request closed (the purge's delay runs from then)."""

    async def probe():
        return await pool_of(stack, "intake").fetchval(
            "SELECT closed_at IS NOT NULL FROM requests WHERE code = $1", code
        )

    await eventually(probe)


async def rewritten(stack: Stack, code: str) -> None:
    """Sent back for reformulation, then rewritten by the citizen with a document named after
    them (citizen.documents_added), and back in the analysts' queue."""
    await decide(stack, code, "reformulate", f"{LAST_NAME}, précisez la rue.")
    intake = stack.url("intake")
    headers = {"X-Draft-Owner": OWNER}
    async with signed_session() as http:
        async with http.post(intake + "/drafts", json={}, headers=headers) as r:
            draft = await _ok(r, 201)
        async with http.post(
            f"{intake}/drafts/{draft['draft_id']}/files",
            params={"filename": DOCUMENT},
            data=PNG,
            headers=headers,
        ) as r:
            await _ok(r, 201)
        rewrite = {
            "code": code,
            "email": EMAIL,
            "message": f"{FIRST_NAMES} {LAST_NAME} : les {PHRASE}, rue des Flamboyants.",
            "draft_id": draft["draft_id"],
        }

        async def done() -> bool:
            # 409 until intake has the reformulation request.
            async with http.post(intake + "/tracking/rewrite", json=rewrite, headers=headers) as r:
                return r.status == 200

        await eventually(done)


async def validated(stack: Stack, code: str, message: str) -> None:
    """Validated once triage has the request back in its queue (409 until then)."""
    async with signed_session() as http:

        async def done() -> bool:
            async with http.post(
                f"{stack.url('triage')}/queue/{code}/validate",
                json={"message": message},
                headers=as_staff(ANALYST),
            ) as r:
                return r.status == 200

        await eventually(done)


async def treated_and_closed(stack: Stack, code: str) -> None:
    """Validated, taken in charge with the acknowledgement email, answered, the citizen « Non
    satisfait » with a comment, an analyst's clarification: staff texts that name the citizen."""
    greeting = f"Bonjour {FIRST_NAMES} {LAST_NAME}"
    await validated(stack, code, f"Recevable : {LAST_NAME} joignable au {PHONE}.")
    treatment = stack.url("treatment")
    async with signed_session() as http:

        async def call(path: str, body: dict) -> dict:
            async with http.post(
                f"{treatment}/requests/{code}/{path}", json=body, headers=as_staff(AGENT)
            ) as r:
                return await _ok(r)

        async def in_treatment() -> bool:
            url = f"{treatment}/requests/{code}"
            async with http.get(url, headers=as_staff(AGENT)) as r:
                return r.status == 200

        await eventually(in_treatment)
        mail = {"subject": "Prise en compte", "text": f"{greeting}, votre requête est prise."}
        await call("take", {"version": 1, "acknowledgement": mail})
        await call(
            "answer",
            {"message": f"{greeting}, les lampes seront changées ; nous vous appelons au {PHONE}."},
        )
        opinion = {
            "code": code,
            "email": EMAIL,
            "opinion": Opinion.NOT_SATISFIED.value,
            "comment": f"Les {PHRASE} encore ce soir.",
        }

        async def given() -> bool:
            # 409 not_answered until intake has the answer.
            url = f"{stack.gateway}/api/v1/tracking/opinion"
            async with http.post(url, json=opinion) as r:
                return r.status == 202

        await eventually(given)
    await closed(stack, code)
    await decide(stack, code, "clarify", f"{greeting}, la mairie a été prévenue.")

    async def clarified() -> bool:
        # Until intake has applied the clarification, its consumer may hold the request's row,
        # which the purge's sweep then skips (FOR UPDATE SKIP LOCKED): the next sweep takes it.
        return await pool_of(stack, "intake").fetchval(
            """SELECT t.analyst_answer_at IS NOT NULL
               FROM request_tracking t JOIN requests r ON r.id = t.request_id
               WHERE r.code = $1""",
            code,
        )

    await eventually(clarified)


async def quiet(stack: Stack) -> None:
    """Wait until every outbox has published everything and notify sent every delivery."""

    async def probe():
        for service in ("intake", "triage", "treatment", "notify", "stats"):
            waiting = await pool_of(stack, service).fetchval(
                "SELECT count(*) FROM outbox WHERE sent_at IS NULL AND abandoned_at IS NULL"
            )
            if waiting:
                return False
        pending = await pool_of(stack, "notify").fetchval(
            "SELECT count(*) FROM deliveries WHERE status = 'pending'"
        )
        return pending == 0

    await eventually(probe, timeout=60)


async def purge_events(stack: Stack, code: str) -> list[str]:
    """The message ids of the purge events intake wrote for ``code``."""
    rows = await pool_of(stack, "intake").fetch(
        "SELECT message_id FROM outbox WHERE message_type = $1 AND body ->> 'code' = $2",
        RequestPersonalDataPurgedV1.type_name(),
        code,
    )
    return [str(r["message_id"]) for r in rows]


async def applied_everywhere(stack: Stack, message_id: str) -> None:
    """Wait until triage, treatment and notify have applied the event (their inbox has it)."""

    async def probe():
        for service in ("triage", "treatment", "notify"):
            found = await pool_of(stack, service).fetchval(
                "SELECT true FROM inbox WHERE message_id = $1", uuid.UUID(message_id)
            )
            if not found:
                return False
        return True

    await eventually(probe, timeout=60)


_TEXT_TYPES = ("text", "character varying", "character", "json", "jsonb", "ARRAY", "tsvector")


async def search_everywhere(database_url: str, needles: list[str]) -> list[str]:
    """``schema.table.column: needle`` for each column of each table of each schema that holds
    one of ``needles`` (text, JSON, arrays and full-text vectors cast to text, case ignored;
    bytea searched byte for byte)."""
    conn = await asyncpg.connect(database_url)
    try:
        columns = await conn.fetch(
            """SELECT c.table_schema, c.table_name, c.column_name, c.data_type
               FROM information_schema.columns c
               JOIN information_schema.tables t
                 ON t.table_schema = c.table_schema AND t.table_name = c.table_name
               WHERE t.table_type = 'BASE TABLE'
                 AND c.table_schema NOT IN ('pg_catalog', 'information_schema')
                 AND (c.data_type = ANY($1::text[]) OR c.data_type = 'bytea')""",
            list(_TEXT_TYPES),
        )
        found = []
        for col in columns:
            table = f'"{col["table_schema"]}"."{col["table_name"]}"'
            column = f'"{col["column_name"]}"'
            for needle in needles:
                if col["data_type"] == "bytea":
                    sql = (
                        f"SELECT count(*) FROM {table} "
                        f"WHERE position(convert_to($1, 'UTF8') IN {column}) > 0"
                    )
                else:
                    sql = (
                        f"SELECT count(*) FROM {table} WHERE {column}::text ILIKE '%' || $1 || '%'"
                    )
                if await conn.fetchval(sql, needle):
                    found.append(f"{col['table_schema']}.{col['table_name']}.{column}: {needle}")
        return found
    finally:
        await conn.close()
