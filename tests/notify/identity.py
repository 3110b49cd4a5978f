"""The signed staff identity a test gives when it reads notify's delivery log (staff only)."""

from __future__ import annotations

from aiohttp import web

from shared.identity import HEADER, Identity, Role, sign
from shared.service import SETTINGS


def analyst_headers(app: web.Application) -> dict[str, str]:
    """Headers of an analyst's call, signed with the secret ``app`` shares with the gateway."""
    secret = app[SETTINGS].identity_secret.get_secret_value().encode()
    return {HEADER: sign(Identity(staff_id="test-analyst", role=Role.ANALYST), secret)}
