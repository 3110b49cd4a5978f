"""What a service answers the gateway's public APIs with, as pydantic models: the service builds
its JSON through them (:func:`answer`) and gives their JSON Schemas (:func:`schemas`, a service's
signed ``GET /api-schemas``) for the gateway's OpenAPI documents, so that a document and the
answer it describes cannot drift.

An :class:`Answer` forbids the fields it does not name (``additionalProperties: false``) and
lists every field as required (a field that may be empty is ``null``, never absent): a client
can rely on the document field by field."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, PlainSerializer, WithJsonSchema

# An instant as ``datetime.isoformat`` writes it (``+00:00``), as the services always wrote
# them: pydantic's own JSON would write ``Z``.
Moment = Annotated[
    datetime,
    PlainSerializer(datetime.isoformat, return_type=str),
    WithJsonSchema({"type": "string", "format": "date-time"}),
]
REF = "#/components/schemas/{model}"


class Answer(BaseModel):
    model_config = ConfigDict(
        extra="forbid", frozen=True, json_schema_serialization_defaults_required=True
    )


def answer(model: type[Answer], **fields: Any) -> dict[str, Any]:
    """``fields`` checked by ``model`` and written as its schema says: the JSON object that
    ``web.json_response`` sends."""
    return model(**fields).model_dump(mode="json")


def schemas(
    models: Iterable[type[BaseModel]], mode: str, into: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The JSON Schemas of ``models`` (``mode``: what they take, "validation", or what they
    answer, "serialization"), their parts beside them, referenced as an OpenAPI document's
    ``#/components/schemas/…``; added to ``into`` when given."""
    found: dict[str, Any] = {} if into is None else into
    for model in models:
        schema = model.model_json_schema(ref_template=REF, mode=mode)  # type: ignore[arg-type]
        for name, part in schema.pop("$defs", {}).items():
            # One name, one schema: an input's part and an answer's part share a name only when
            # they are the same (an enumeration such as Nature).
            if found.setdefault(name, part) != part:
                raise ValueError(f"two schemas named {name}")
        found[model.__name__] = schema
    return found
