"""shared.answers: an answer model writes what the services always wrote (instants as
``isoformat``, ``+00:00``), refuses a field it does not name, and its schema says every field
and nothing else — what the public APIs' OpenAPI documents are built from."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from shared.answers import Answer, Moment, answer, schemas


class Stamped(Answer):
    at: Moment
    note: str | None = None


def test_an_instant_is_written_as_isoformat_writes_it():
    at = datetime(2026, 12, 7, 5, 33, 52, 123456, tzinfo=UTC)
    assert answer(Stamped, at=at, note=None) == {"at": at.isoformat(), "note": None}
    assert answer(Stamped, at=at.isoformat())["at"] == "2026-12-07T05:33:52.123456+00:00"


def test_a_field_the_model_does_not_name_is_refused():
    with pytest.raises(ValidationError):
        answer(Stamped, at=datetime.now(UTC), other=1)


def test_the_schema_is_closed_and_names_every_field_as_required():
    schema = schemas([Stamped], "serialization")["Stamped"]
    assert schema["additionalProperties"] is False
    assert schema["required"] == ["at", "note"]
    assert schema["properties"]["at"]["format"] == "date-time"
