"""Fixtures of the citizen front office tests: intake alone, and files of each kind."""

from __future__ import annotations

import uuid
import zipfile
from contextlib import asynccontextmanager
from io import BytesIO

import pikepdf
import pytest
from PIL import Image

from tests.channels.conftest import sms_settings
from tests.fakes.orange_sms import FakeOrangeSms
from tests.stack import start_stack
from tests.support import RunningApp, signed_session

OWNER = "o" * 32


def pdf_bytes(change=None, padding: int = 0) -> bytes:
    """A real one-page PDF (pikepdf), ``change(pdf)`` applied before it is saved; ``padding``
    bytes of an unused stream make it larger."""
    pdf = pikepdf.new()
    pdf.add_blank_page()
    if padding:
        pdf.Root.Padding = pdf.make_stream(b"0" * padding)
    if change is not None:
        change(pdf)
    out = BytesIO()
    pdf.save(out, compress_streams=False, deterministic_id=True)
    return out.getvalue()


def with_javascript(pdf: pikepdf.Pdf) -> None:
    """For :func:`pdf_bytes`: a script run when the document opens (refused by inspection)."""
    pdf.Root.OpenAction = pikepdf.Dictionary(
        S=pikepdf.Name.JavaScript, JS=pikepdf.String("app.alert('bonjour')")
    )


def image_bytes(fmt: str, size: tuple[int, int] = (8, 6), **save) -> bytes:
    """A real image (Pillow) in ``fmt`` (``JPEG``, ``PNG``)."""
    out = BytesIO()
    Image.new("RGB", size, (200, 120, 40)).save(out, fmt, **save)
    return out.getvalue()


# Small files of each accepted kind, whole and readable (intake opens and decodes them).
PDF = pdf_bytes()
PNG = image_bytes("PNG")
JPEG = image_bytes("JPEG")


def zip_bytes() -> bytes:
    """A real ZIP archive (what a renamed ``facture.pdf`` may really be)."""
    out = BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("facture.txt", "Ceci n'est pas un PDF.")
    return out.getvalue()


def big_pdf(size: int) -> bytes:
    """A readable PDF of exactly ``size`` bytes."""
    padding = max(size - len(PDF) - 64, 1)
    for _ in range(4):
        data = pdf_bytes(padding=padding)
        if len(data) == size:
            return data
        padding += size - len(data)
    raise AssertionError(f"no PDF of {size} bytes")


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
