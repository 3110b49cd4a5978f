"""Reading the JSON bodies of intake's HTTP API, and answering bad input the same way everywhere:
415 for another media type, 400 for broken JSON, 422 with the faulty fields in French.

The channel and the client's address are said by the gateway in the signed call
(``shared.signing``): a body that carries them is refused (:func:`envelope_fields`)."""

from __future__ import annotations

from typing import TypeVar

from aiohttp import web
from pydantic import BaseModel, ValidationError

from services.intake.domain import french
from shared.web import field_errors, json_error

M = TypeVar("M", bound=BaseModel)


def invalid(errors: list[dict[str, str]]) -> web.Response:
    return json_error(422, "validation_failed", "Certains champs sont invalides.", errors=errors)


class Invalid(Exception):
    def __init__(self, errors: list[dict[str, str]]) -> None:
        super().__init__("invalid input")
        self.errors = errors


def validate(model: type[M], raw: object) -> M:
    """``raw`` as ``model``; raises :class:`Invalid` with French field errors."""
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        raise Invalid(french(field_errors(exc))) from None


# What only the signed call may say.
ENVELOPE_FIELDS = ("channel", "client_address")


def envelope_fields(raw: object) -> list[dict[str, str]]:
    """The 422 errors of a body that names its own channel or client address."""
    if not isinstance(raw, dict):
        return []
    return [
        {
            "field": name,
            "code": "extra_forbidden",
            "message": "Ce champ n'est pas permis : la passerelle l'indique elle-même.",
        }
        for name in ENVELOPE_FIELDS
        if name in raw
    ]


def not_found(message: str = "Introuvable.") -> web.Response:
    return json_error(404, "not_found", message)
