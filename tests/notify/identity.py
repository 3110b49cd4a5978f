"""The staff identity a test gives when it reads notify's delivery log (staff only)."""

from __future__ import annotations

from aiohttp import web

from shared.identity import Identity, Role
from tests.support import as_staff


def analyst_headers(app: web.Application) -> dict[str, str]:
    """Headers that make the test's signed session (``tests.support.signed_session``) call
    ``app`` as an analyst."""
    return as_staff(Identity(staff_id="test-analyst", role=Role.ANALYST))
