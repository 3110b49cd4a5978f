"""Fixtures of the citizen front office tests: intake alone, and files of each kind."""

from __future__ import annotations

import uuid
import zipfile
from contextlib import asynccontextmanager
from io import BytesIO

import pytest

from tests.channels.conftest import sms_settings
from tests.fakes.orange_sms import FakeOrangeSms
from tests.stack import start_stack
from tests.support import RunningApp, signed_session

OWNER = "o" * 32
# The smallest files of each accepted kind: the magic bytes and a little content.
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
    b"\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\xff\xff?\x00\x05\xfe\x02\xfe\xa7\x35\x81\x84"
    b"\x00\x00\x00\x00IEND\xaeB`\x82"
)
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00\xff\xd9"


def zip_bytes() -> bytes:
    """A real ZIP archive (what a renamed ``facture.pdf`` may really be)."""
    out = BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("facture.txt", "Ceci n'est pas un PDF.")
    return out.getvalue()


def big_pdf(size: int) -> bytes:
    return PDF + b"%" + b"0" * (size - len(PDF) - 1)


def submission_fields(email: str | None = None, **overrides) -> dict:
    """The form's values as the gateway sends them to intake."""
    fields = {
        "nature": "reclamation",
        "body_id": "ministere-budget",
        "theme_id": "accueil-espace",
        "place_id": "abidjan-plateau",
        "message": "L'accueil est décevant, la file d'attente est longue.",
        "contact": {
            "last_name": "KOUASSI",
            "first_names": "Aya",
            "country": "CI",
            "phone": "07 07 12 34 56",
            "email": email or f"aya.{uuid.uuid4().hex[:6]}@example.ci",
        },
        "terms_accepted": True,
    }
    fields.update(overrides)
    return fields


@pytest.fixture
async def intake(settings_for):
    """Intake alone, on this test's database and namespace; yields its base URL."""
    from services.intake.app import create_app
    from services.intake.settings import IntakeSettings

    async with RunningApp(create_app(settings_for(IntakeSettings, db_pool_min=1))) as app:
        yield app


@asynccontextmanager
async def running_front(settings_for, **gateway_settings):
    """Intake and the gateway only (what the submission form needs); yields the gateway's URL."""
    from gateway.app import create_app as gateway_app
    from gateway.settings import GatewaySettings
    from services.intake.app import create_app as intake_app
    from services.intake.settings import IntakeSettings

    async with RunningApp(intake_app(settings_for(IntakeSettings, db_pool_min=1))) as intake:
        settings = settings_for(
            GatewaySettings, db_pool_min=1, intake_url=intake.url, **gateway_settings
        )
        async with RunningApp(gateway_app(settings)) as gateway:
            yield gateway.url


@pytest.fixture
async def front(settings_for):
    async with running_front(settings_for) as url:
        yield url


@pytest.fixture
async def fake_sms():
    async with FakeOrangeSms() as fake:
        yield fake


@pytest.fixture
async def sms_stack(settings_for, smtp_server, fake_sms):
    """The whole platform, its SMS going to the fake Orange API (the journey's SMS)."""
    exits = await start_stack(settings_for, smtp_server.port, **sms_settings(fake_sms))
    async with exits:
        yield exits.stack


@pytest.fixture
async def http():
    async with signed_session() as session:
        yield session
