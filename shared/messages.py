"""Every message contract, once: frozen pydantic models named with their version.

A message travels as JSON (the model) with AMQP properties carrying ``message_id``, ``type``
(``name.vN``), ``timestamp``, ``correlation_id`` and ``app_id``. The routing key is the name.
Consumers ignore unknown fields. A breaking change is a new class with a new version, published
beside the old one until no consumer needs it.

``python -m shared.messages --export`` writes the JSON schemas to ``shared/schemas/``;
``--check`` fails when a published schema changed without a new version.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated, ClassVar
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

SCHEMA_DIR = Path(__file__).parent / "schemas"

RequestCode = Annotated[str, StringConstraints(pattern=r"^\d{10}$")]
ShortText = Annotated[str, StringConstraints(min_length=1, max_length=200)]


class Nature(StrEnum):
    """The five natures of a request (« Nature » in the citizen form)."""

    RECLAMATION = "reclamation"
    SUGGESTION = "suggestion"
    OBSERVATION = "observation"
    MOTION = "motion_felicitations"
    DEMANDE_INFORMATION = "demande_information"

    @property
    def label(self) -> str:
        return NATURE_LABELS[self]

    @property
    def needs_treatment(self) -> bool:
        """A réclamation or a demande d'information is answered by the body; the rest is read."""
        return self in (Nature.RECLAMATION, Nature.DEMANDE_INFORMATION)


NATURE_LABELS = {
    Nature.RECLAMATION: "Réclamation",
    Nature.SUGGESTION: "Suggestion",
    Nature.OBSERVATION: "Observation",
    Nature.MOTION: "Motion de félicitations",
    Nature.DEMANDE_INFORMATION: "Demande d'information",
}


class Channel(StrEnum):
    """How the request reached us."""

    WEB = "web"
    API = "api"
    PHONE = "phone"
    BROKER = "broker"
    OPEN311 = "open311"


class Contract(BaseModel):
    """Base of every message body."""

    model_config = ConfigDict(frozen=True, extra="ignore")
    name: ClassVar[str]
    version: ClassVar[int]

    @classmethod
    def type_name(cls) -> str:
        return f"{cls.name}.v{cls.version}"


class Contact(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    last_name: str = Field("", max_length=100, description="Nom")
    first_names: str = Field("", max_length=150, description="Prénoms")
    country: str = Field("CI", min_length=2, max_length=2, description="ISO 3166 alpha-2")
    phone: str | None = Field(None, description="E.164, e.g. +2250707123456")
    email: str | None = Field(None, max_length=254)


class AttachmentRef(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    attachment_id: UUID
    filename: str
    content_type: str
    size: int


class RequestSubmittedV1(Contract):
    """A citizen's request was accepted and stored; its code was issued."""

    name: ClassVar[str] = "request.submitted"
    version: ClassVar[int] = 1

    request_id: UUID
    code: RequestCode
    nature: Nature
    body_id: ShortText
    body_name: ShortText
    theme_id: str | None = None
    theme_label: str | None = None
    place_id: str | None = None
    place_label: str | None = None
    channel: Channel
    message: Annotated[str, StringConstraints(min_length=1, max_length=5000)]
    contact: Contact
    attachments: list[AttachmentRef] = []
    submitted_at: datetime


class NotificationSentV1(Contract):
    """An email or SMS reached the provider."""

    name: ClassVar[str] = "notification.sent"
    version: ClassVar[int] = 1

    delivery_id: UUID
    request_id: UUID | None = None
    medium: Annotated[str, StringConstraints(pattern=r"^(email|sms)$")]
    about_message_type: str
    sent_at: datetime


class NotificationFailedV1(Contract):
    """An email or SMS could not be delivered after every attempt."""

    name: ClassVar[str] = "notification.failed"
    version: ClassVar[int] = 1

    delivery_id: UUID
    request_id: UUID | None = None
    medium: Annotated[str, StringConstraints(pattern=r"^(email|sms)$")]
    about_message_type: str
    reason: str
    failed_at: datetime


CONTRACTS: dict[str, type[Contract]] = {
    c.type_name(): c for c in (RequestSubmittedV1, NotificationSentV1, NotificationFailedV1)
}


def schema_of(contract: type[Contract]) -> dict:
    return contract.model_json_schema(mode="serialization")


def export(folder: Path = SCHEMA_DIR) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for type_name, contract in CONTRACTS.items():
        text = json.dumps(schema_of(contract), indent=2, ensure_ascii=False, sort_keys=True)
        (folder / f"{type_name}.json").write_text(text + "\n")


def check(folder: Path = SCHEMA_DIR) -> list[str]:
    """Differences between the contracts and the exported schemas; empty when they agree."""
    problems = []
    for type_name, contract in CONTRACTS.items():
        path = folder / f"{type_name}.json"
        if not path.exists():
            problems.append(f"{type_name}: no exported schema (run --export)")
        elif json.loads(path.read_text()) != schema_of(contract):
            problems.append(f"{type_name}: schema changed without a new version")
    known = {f"{t}.json" for t in CONTRACTS}
    problems += [
        f"{p.name}: schema of no contract" for p in folder.glob("*.json") if p.name not in known
    ]
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--export", action="store_true")
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args(argv)
    if args.export:
        export()
    problems = check()
    for problem in problems:
        print(problem, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
