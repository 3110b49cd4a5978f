"""What the tests of the focal point's request page need: a réclamation of ministere-budget
submitted through the gateway's public API, validated by an analyst through triage's API, and
waited for in treatment (the services talk over the broker, as in production)."""

from __future__ import annotations

from shared.identity import Identity, Role
from tests.front.conftest import PDF
from tests.support import as_staff, eventually, signed_session

BODY = "ministere-budget"
ANALYST = Identity(staff_id="pages-analyste", role=Role.ANALYST, login="awa.kone")
READER = Identity(staff_id="pages-lecteur", role=Role.FOCAL_POINT, body_id=BODY, login="lecteur")


async def validated_reclamation(
    stack,
    *,
    email: str | None = "aya.kouassi@example.ci",
    message: str = "Le guichet des passeports est fermé depuis lundi sans explication.",
    analyst_message: str = "Réclamation recevable : merci de répondre à l'usager.",
) -> str:
    """The code of a réclamation to BODY, validated and « En cours » in treatment."""
    contact = {"last_name": "KOUASSI", "first_names": "Aya", "phone": "07 07 12 34 56"}
    if email:
        contact["email"] = email
    submission = {
        "nature": "reclamation",
        "body_id": BODY,
        "theme_id": "accueil-espace",
        "message": message,
        "contact": contact,
    }
    async with signed_session() as http:
        async with http.post(f"{stack.gateway}/api/v1/requests", json=submission) as resp:
            body = await resp.json()
            assert resp.status == 201, body
        code = body["code"]
        triage = stack.url("triage")

        async def queued() -> bool:
            async with http.get(f"{triage}/queue/{code}", headers=as_staff(ANALYST)) as r:
                return r.status == 200

        await eventually(queued)
        async with http.post(
            f"{triage}/queue/{code}/validate",
            json={"message": analyst_message},
            headers=as_staff(ANALYST),
        ) as resp:
            assert resp.status == 200, await resp.text()

        async def in_treatment() -> bool:
            url = f"{stack.url('treatment')}/requests/{code}"
            async with http.get(url, headers=as_staff(READER)) as r:
                return r.status == 200

        await eventually(in_treatment)
    return code


async def validated_without_email(stack, amqp_url: str, namespace: str) -> str:
    """The code of a réclamation to BODY whose citizen gave a telephone number only (as the
    call centre takes them), put in treatment by its request.validated on the broker."""
    from shared.messages import Contact
    from tests.support import publish_event
    from tests.treatment.conftest import validated_event

    event = validated_event(contact=Contact(last_name="YAO", phone="+2250707123456"))
    await publish_event(amqp_url, namespace, event)
    async with signed_session() as http:

        async def in_treatment() -> bool:
            url = f"{stack.url('treatment')}/requests/{event.code}"
            async with http.get(url, headers=as_staff(READER)) as r:
                return r.status == 200

        await eventually(in_treatment)
    return event.code


async def request_in_treatment(ctx) -> dict[str, str]:
    """For the access table (tests/staff/test_access.py): ``{pf_code}``, a réclamation of the
    focal point's body in treatment; ``{document_id}``, a document kept for its answer."""
    code = await validated_reclamation(ctx.stack, email="acces.pf@example.ci")
    async with signed_session() as http:
        async with http.post(
            f"{ctx.stack.url('treatment')}/requests/{code}/documents",
            params={"filename": "quittance.pdf"},
            data=PDF,
            headers={**as_staff(READER), "Content-Type": "application/octet-stream"},
        ) as resp:
            kept = await resp.json()
            assert resp.status == 201, kept
    return {"pf_code": code, "document_id": kept["document_id"]}
