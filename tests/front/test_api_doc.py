"""The README documents the public API a newcomer programs against: every route of `/api/v1`
and of Open311 GeoReport v2, and every field a submission takes. The routes were only in the
modules' docstrings, and a client had to read intake's code to learn the submission's fields."""

from __future__ import annotations

import re
from pathlib import Path

from aiohttp import web

from gateway.public_api import open311, tracking, v1
from services.intake.domain import ContactIn, SubmissionIn

README = Path(__file__).resolve().parents[2] / "README.md"
SECTION = "## The public API (`/api/v1/`) and Open311 GeoReport v2 (`/open311/v2/`)"


def _section() -> str:
    text = README.read_text()
    assert SECTION in text
    return text.split(SECTION, 1)[1].split("\n## ", 1)[0]


def _documented_form(path: str) -> str:
    """A route's path as the README writes it: a format choice as its JSON address."""
    return re.sub(r"\.\{fmt:json\|xml\}$", ".json", path)


def test_every_public_route_is_in_the_readme():
    said = _section()
    for table in (v1.routes, tracking.routes, open311.routes):
        for route in table:
            if not isinstance(route, web.RouteDef) or route.method == "*":
                continue  # the catch-all that answers unknown addresses
            named = f"{route.method} {_documented_form(route.path)}"
            assert named in said, named


def test_every_field_of_a_submission_is_in_the_readme():
    said = _section()
    fields = [*SubmissionIn.model_fields, *ContactIn.model_fields]
    for field in fields:
        if field == "channel":  # the gateway's to say: refused in a body
            continue
        assert f"`{field}`" in said, field
