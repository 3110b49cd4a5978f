"""What intake answers Open311 GeoReport v2 (``open311_api``), as models (``shared.answers``):
the routes build their JSON through them, and ``GET /api-schemas`` gives their JSON Schemas for
the gateway's Open311 document (which serves the lists as arrays, as the spec has them)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from shared.answers import Answer

# The spec's W3C date-time, to the second, in UTC (``open311_rules.w3c``).
W3C = Annotated[str, Field(json_schema_extra={"format": "date-time"})]
Code = Annotated[str, Field(pattern=r"^[0-9]{10}$", description="Le code de la requête.")]


class Open311Service(Answer):
    """Un service : un organisme public × une nature de requête."""

    service_code: str = Field(description="<organisme>.<nature>")
    service_name: str
    description: str
    metadata: bool = Field(description="true : la définition propose des attributs.")
    type: Literal["realtime"]
    keywords: str
    group: str = Field(description="L'organisme.")


class Open311Services(Answer):
    services: list[Open311Service]


class Open311Value(Answer):
    key: str
    name: str


class Open311Attribute(Answer):
    variable: bool
    code: str = Field(description="Envoyé en attribute[code].")
    datatype: Literal["singlevaluelist"]
    required: bool
    datatype_description: str
    description: str
    values: list[Open311Value]
    order: int = Field(ge=1)


class Open311ServiceDefinition(Answer):
    service_code: str
    attributes: list[Open311Attribute]


class Open311Submitted(Answer):
    """La requête reçue."""

    service_request_id: Code
    service_notice: str = Field(description="Ce que le client dit à l'usager.")


class Open311Request(Answer):
    """Le statut d'une requête (jamais de données personnelles ni le message)."""

    service_request_id: Code
    status: Literal["open", "closed"]
    status_notes: str = Field(description="« Niveau d'avancement », en français.")
    service_name: str
    service_code: str
    agency_responsible: str
    requested_datetime: W3C
    updated_datetime: W3C


class Open311Requests(Answer):
    requests: list[Open311Request]


ANSWERS = (Open311Services, Open311ServiceDefinition, Open311Submitted, Open311Requests)
