"""What stats answers the gateway's citizens' API (``GET /api/v1/stats/bodies``), as models
(``shared.answers``): ``api.bodies`` builds its JSON through them, and ``GET /api-schemas`` gives
their JSON Schemas for the gateway's OpenAPI document. Counts only: no request, no citizen."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from shared.answers import Answer

Count = Annotated[int, Field(ge=0)]
Percent = Annotated[int | None, Field(ge=0, le=100)]


class NatureCounts(Answer):
    """Les requêtes par nature."""

    reclamation: Count
    suggestion: Count
    observation: Count
    motion_felicitations: Count
    demande_information: Count


class OpinionCounts(Answer):
    """Les avis donnés par les usagers."""

    satisfied: Count
    partly_satisfied: Count
    not_satisfied: Count


class DeadlinesMet(Answer):
    """« Délais respectés » : les réponses dans le délai parmi les réponses données et les
    requêtes en retard encore sans réponse."""

    answered: Count
    on_time: Count
    late_waiting: Count
    met_percent: Percent = Field(description="null sans réponse ni retard.")


class BodyFigures(Answer):
    body_id: str
    body_name: str
    total: Count
    by_nature: NatureCounts
    treated: Count = Field(description="Répondues par l'organisme (avis attendu ou donné).")
    opinions: Count
    by_opinion: OpinionCounts
    satisfied_percent: Percent = Field(description="« Satisfait » parmi les avis ; null sans avis.")
    partly_satisfied_percent: Percent = Field(
        description="« Partiellement satisfait » parmi les avis ; null sans avis."
    )
    deadlines: DeadlinesMet


class BodyStatistics(Answer):
    """Les statistiques publiques par organisme, le plus sollicité d'abord."""

    bodies: list[BodyFigures]


ANSWERS = (BodyStatistics,)
