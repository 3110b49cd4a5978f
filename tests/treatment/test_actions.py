"""The body's actions on a real database: each one transaction; two agents at once, one wins
and the other is told by whom; a refused action writes nothing."""

import asyncio
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest

from services.treatment import actions
from shared.messages import Opinion
from shared.web import FieldErrors
from tests.front.conftest import PDF
from tests.treatment.conftest import AGENT, COLLEAGUE, STRANGER

MIGRATION = Path(actions.__file__).parent / "sql" / "0095_answered_requests_held.sql"


def who(identity=AGENT) -> actions.Who:
    return actions.Who(identity, "10.0.0.7")


async def footprint(treatment, code: str) -> tuple:
    """Everything an action writes: the row, history, answers, audit lines, outbox."""
    row = await treatment.row(code)
    async with treatment.pool.acquire() as conn:
        audit = await conn.fetchval("SELECT count(*) FROM audit_log")
        outbox = await conn.fetchval("SELECT count(*) FROM outbox")
    return (
        dict(row),
        await treatment.count("history", code),
        await treatment.count("answers", code),
        await treatment.count("opinions", code),
        await treatment.count("reopenings", code),
        audit,
        outbox,
    )


async def citizen(treatment, apply, *args):
    async with treatment.pool.acquire() as conn, conn.transaction():
        return await apply(conn, *args)


async def test_a_request_through_its_whole_life_at_the_body(treatment):
    event = await treatment.validated()
    pool, code = treatment.pool, event.code

    done = await actions.take_in_charge(pool, code, who(), version=1)
    assert (done["status"], done["version"]) == ("in_treatment", 2)
    done = await actions.put_on_hold(pool, code, who(), reason="Pièces demandées", version=2)
    assert done["status"] == "on_hold"
    assert (await treatment.row(code))["on_hold_since"] is not None
    done = await actions.reassign(
        pool, code, who(), assignee_id=COLLEAGUE.staff_id, assignee_login="adjoua.n", version=3
    )
    done = await actions.resume(pool, code, who(COLLEAGUE), version=4)
    assert done["status"] == "in_treatment"
    assert (await treatment.row(code))["on_hold_since"] is None
    await actions.tag(pool, code, who(COLLEAGUE), message="Voir le service des pensions")
    document = await actions.add_document(pool, code, who(COLLEAGUE), filename="r.pdf", data=PDF)
    done = await actions.answer(
        pool,
        code,
        who(COLLEAGUE),
        message="Votre dossier est réglé.",
        document_ids=[document["document_id"]],
        version=5,  # the tag did not move the version
    )
    assert done["status"] == "treated"
    done = await citizen(
        treatment, actions.apply_reopening, event.request_id, "Rien n'a changé", datetime.now(UTC)
    )
    assert done["status"] == "reopened"
    await actions.answer(pool, code, who(COLLEAGUE), message="Corrigé cette fois.", version=7)
    done = await citizen(
        treatment,
        actions.apply_opinion,
        event.request_id,
        Opinion.NOT_SATISFIED,
        "Toujours rien",
        datetime.now(UTC),
    )
    assert done["status"] == "closed"
    await actions.answer_again(
        pool, code, who(COLLEAGUE), message="Un agent vous appelle.", version=9
    )

    row = await treatment.row(code)
    assert (row["status"], row["opinion"], row["assignee_id"]) == (
        "closed",
        "not_satisfied",
        COLLEAGUE.staff_id,
    )
    async with pool.acquire() as conn:
        kinds = [r["kind"] for r in await conn.fetch("SELECT kind FROM history ORDER BY id")]
        documents = await conn.fetchval(
            "SELECT count(*) FROM documents WHERE answer_id IS NOT NULL"
        )
        audit = await conn.fetchval("SELECT count(*) FROM audit_log WHERE outcome = 'done'")
    assert kinds == [
        "validated",
        "assigned",
        "put_on_hold",
        "reassigned",
        "resumed",
        "tagged",
        "treated",
        "reopened",
        "treated",
        "opinion_given",
        "citizen_answered",
    ]
    assert documents == 1
    assert audit == len(kinds) - 1  # every action, not the analysts' validation
    assert await treatment.outbox_types() == [
        "request.assigned.v1",
        "request.put_on_hold.v1",
        "request.reassigned.v1",
        "request.resumed.v1",
        "request.treated.v1",
        "request.reopened.v1",
        "request.treated.v1",
        "request.opinion_given.v1",
        "request.citizen_answered.v1",
    ]  # the tag sent nothing


async def test_answering_a_request_nobody_took_takes_it_in_charge_for_the_one_answering(
    treatment,
):
    """In Miliê's guide the focal point « traiter » a request and answers it: there is no step
    before. A request answered without « Prendre en compte » is the answering agent's: the trial
    read « Pris en compte par : Personne pour le moment » on an answered request."""
    event = await treatment.validated()
    done = await actions.answer(
        treatment.pool, event.code, who(), message="Votre matricule est corrigé.", version=1
    )
    assert done["status"] == "treated"
    row = await treatment.row(event.code)
    assert (row["assignee_id"], row["assignee_login"]) == (AGENT.staff_id, AGENT.login)
    async with treatment.pool.acquire() as conn:
        lines = await conn.fetch("SELECT kind, actor_login FROM history ORDER BY id")
    assert [(r["kind"], r["actor_login"]) for r in lines] == [
        ("validated", None),
        ("assigned", AGENT.login),
        ("treated", AGENT.login),
    ]
    assert await treatment.outbox_types() == ["request.assigned.v1", "request.treated.v1"]
    (assigned,) = await treatment.outbox("request.assigned.v1")
    assert assigned["assignee_id"] == AGENT.staff_id and assigned["acknowledgement"] is None

    # A request someone holds stays theirs when a colleague answers it.
    other = await treatment.validated()
    await actions.take_in_charge(treatment.pool, other.code, who(COLLEAGUE), version=1)
    await actions.answer(treatment.pool, other.code, who(), message="Réglé.", version=2)
    assert (await treatment.row(other.code))["assignee_id"] == COLLEAGUE.staff_id
    assert await treatment.count("history", other.code) == 3  # validated, assigned, treated


async def test_two_agents_take_it_at_once_one_wins_the_other_is_told_by_whom(treatment):
    event = await treatment.validated()
    results = await asyncio.gather(
        actions.take_in_charge(treatment.pool, event.code, who(AGENT), version=1),
        actions.take_in_charge(treatment.pool, event.code, who(COLLEAGUE), version=1),
        return_exceptions=True,
    )
    won = [r for r in results if isinstance(r, dict)]
    lost = [r for r in results if isinstance(r, Exception)]
    assert len(won) == 1 and len(lost) == 1
    assert isinstance(lost[0], actions.Conflict)
    winner = (await treatment.row(event.code))["assignee_login"]
    assert lost[0].extra["by"] == winner
    assert f"modifiée entre-temps par {winner}" in lost[0].message
    assert await treatment.outbox_types() == ["request.assigned.v1"]


async def test_a_stale_form_loses_and_writes_nothing(treatment):
    event = await treatment.validated()
    await actions.take_in_charge(treatment.pool, event.code, who(), version=1)
    before = await footprint(treatment, event.code)
    with pytest.raises(actions.Conflict) as stale:
        await actions.put_on_hold(treatment.pool, event.code, who(COLLEAGUE), reason="x", version=1)
    assert "koffi.yao" in stale.value.message
    assert await footprint(treatment, event.code) == before


async def test_taking_a_request_another_holds_names_them(treatment):
    event = await treatment.validated()
    await actions.take_in_charge(treatment.pool, event.code, who(), version=None)
    with pytest.raises(actions.Refused) as held:
        await actions.take_in_charge(treatment.pool, event.code, who(COLLEAGUE), version=None)
    assert held.value.error == "already_assigned"
    assert "koffi.yao" in held.value.message


@pytest.mark.parametrize(
    ("act", "error"),
    [
        (lambda p, c: actions.resume(p, c, who(), version=None), actions.Refused),
        (lambda p, c: actions.put_on_hold(p, c, who(), reason=" ", version=None), FieldErrors),
        (lambda p, c: actions.answer(p, c, who(), message="", version=None), FieldErrors),
        (
            lambda p, c: actions.answer_again(p, c, who(), message="Encore", version=None),
            actions.Refused,
        ),
        (
            lambda p, c: actions.answer(
                p, c, who(), message="Ok", document_ids=[uuid.uuid4()], version=None
            ),
            FieldErrors,
        ),
        (
            lambda p, c: actions.reassign(
                p, c, who(), assignee_id="", assignee_login=None, version=None
            ),
            FieldErrors,
        ),
        (lambda p, c: actions.take_in_charge(p, c, who(STRANGER), version=None), actions.NotFound),
        (lambda p, c: actions.tag(p, c, who(STRANGER), message="x"), actions.NotFound),
    ],
)
async def test_every_refused_action_says_why_and_writes_nothing(treatment, act, error):
    event = await treatment.validated()
    before = await footprint(treatment, event.code)
    with pytest.raises(error):
        await act(treatment.pool, event.code)
    assert await footprint(treatment, event.code) == before


async def test_the_citizen_cannot_give_an_opinion_or_reopen_before_the_answer_or_after_closing(
    treatment,
):
    event = await treatment.validated()
    now = datetime.now(UTC)
    before = await footprint(treatment, event.code)
    with pytest.raises(actions.Refused):
        await citizen(
            treatment, actions.apply_opinion, event.request_id, Opinion.SATISFIED, None, now
        )
    with pytest.raises(actions.Refused):
        await citizen(treatment, actions.apply_reopening, event.request_id, "Relance", now)
    assert await footprint(treatment, event.code) == before

    await actions.answer(treatment.pool, event.code, who(), message="Réglé.", version=None)
    await citizen(treatment, actions.apply_opinion, event.request_id, Opinion.SATISFIED, "", now)
    closed = await footprint(treatment, event.code)
    with pytest.raises(actions.Refused):
        await citizen(
            treatment, actions.apply_opinion, event.request_id, Opinion.NOT_SATISFIED, None, now
        )
    with pytest.raises(actions.Refused):
        await citizen(treatment, actions.apply_reopening, event.request_id, "Relance", now)
    # A satisfied citizen gets no further answer either.
    with pytest.raises(actions.Refused):
        await actions.answer_again(treatment.pool, event.code, who(), message="x", version=None)
    assert await footprint(treatment, event.code) == closed


async def test_a_document_is_kept_only_when_its_content_is_accepted(treatment):
    event = await treatment.validated()
    with pytest.raises(FieldErrors):
        await actions.add_document(
            treatment.pool, event.code, who(), filename="x.pdf", data=b"MZ\x90\x00 not a pdf"
        )
    with pytest.raises(actions.NotFound):
        await actions.add_document(
            treatment.pool, event.code, who(STRANGER), filename="x.pdf", data=PDF
        )
    # A name that climbs out of its folder is refused, as a citizen's would be.
    with pytest.raises(FieldErrors) as climbing:
        await actions.add_document(
            treatment.pool, event.code, who(), filename="../../etc/réponse", data=PDF
        )
    assert climbing.value.errors[0]["code"] == "file_name_not_allowed"
    kept = await actions.add_document(
        treatment.pool, event.code, who(), filename="C:\\bureau\\réponse", data=PDF
    )
    assert (kept["filename"], kept["content_type"], kept["size"]) == (
        "réponse.pdf",
        "application/pdf",
        len(PDF),
    )


async def test_a_form_made_stale_by_the_citizen_says_so(treatment):
    event = await treatment.validated()
    await actions.answer(treatment.pool, event.code, who(), message="Réglé.", version=1)
    await citizen(
        treatment, actions.apply_reopening, event.request_id, "Rien n'a changé", datetime.now(UTC)
    )
    with pytest.raises(actions.Conflict) as stale:
        await actions.answer(treatment.pool, event.code, who(), message="Encore", version=2)
    assert stale.value.extra["by"] == "l'usager"
    assert "par l'usager" in stale.value.message and "retraitement" in stale.value.message


async def test_requests_answered_before_without_a_holder_are_given_to_their_first_answerer(
    treatment,
):
    """The migration that gives the requests answered before the rule (nobody held them) to the
    agent of their first answer; a request nobody answered, or someone holds, is left alone."""
    answered = await treatment.validated()
    await actions.answer(treatment.pool, answered.code, who(), message="Réglé.", version=1)
    held = await treatment.validated()
    await actions.take_in_charge(treatment.pool, held.code, who(COLLEAGUE), version=1)
    await actions.answer(treatment.pool, held.code, who(), message="Réglé.", version=2)
    waiting = await treatment.validated()
    async with treatment.pool.acquire() as conn:
        # As the rule's absence left it.
        await conn.execute(
            "UPDATE treatments SET assignee_id = NULL, assignee_login = NULL WHERE code = $1",
            answered.code,
        )
        before = await treatment.row(answered.code)
        await conn.execute(MIGRATION.read_text())
    after = await treatment.row(answered.code)
    assert (after["assignee_id"], after["assignee_login"]) == (AGENT.staff_id, AGENT.login)
    assert after["version"] == before["version"]
    assert (await treatment.row(held.code))["assignee_id"] == COLLEAGUE.staff_id
    assert (await treatment.row(waiting.code))["assignee_id"] is None
