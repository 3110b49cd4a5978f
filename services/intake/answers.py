"""What intake answers the gateway's citizens' API (``/api/v1``), as models
(``shared.answers``): the code that answers builds its JSON through them, and ``GET
/api-schemas`` gives their JSON Schemas for the gateway's OpenAPI document, so the document and
the answer cannot drift."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import Field

from shared.answers import Answer, Moment
from shared.messages import Nature

# How the French pages write a day and a time (``shared.french``): « 17/01/2019 », « 14:32 ».
FrenchDay = Annotated[str, Field(pattern=r"^[0-9]{2}/[0-9]{2}/[0-9]{4}$")]
FrenchTime = Annotated[str, Field(pattern=r"^[0-9]{2}:[0-9]{2}$")]
Code = Annotated[str, Field(pattern=r"^[0-9]{10}$", description="Le code de la requête.")]
Uuid = Annotated[str, Field(json_schema_extra={"format": "uuid"})]


# -- a submission ------------------------------------------------------------------------------


class Submitted(Answer):
    """La requête reçue (201), ou déjà reçue avec ce submission_key (200, replayed)."""

    code: Code
    nature: Nature
    nature_label: str = Field(description="La nature, en français.")
    submitted_at: Moment
    replayed: bool = Field(description="Déjà reçue avec ce submission_key (200) : la même requête.")
    told_by: list[Literal["email", "sms"]] = Field(
        description="Comment le code est envoyé à l'usager (aucun, l'un, les deux)."
    )


# -- the catalogue -----------------------------------------------------------------------------


class Body(Answer):
    id: str
    name: str
    # Empty when the administrators gave none.
    acronym: str
    phones: list[str]
    location: str
    email: str
    hours: str


class Bodies(Answer):
    """Les organismes publics actifs (sans per_page : tous, sur une page)."""

    bodies: list[Body]
    total: int = Field(ge=0)
    page: int = Field(ge=1)
    per_page: int | None


class Theme(Answer):
    id: str
    parent_id: str | None = Field(description="Le thème parent ; null pour un thème de tête.")
    label: str


class Themes(Answer):
    themes: list[Theme]


class Place(Answer):
    id: str
    region: str
    name: str
    kind: Literal["commune", "sous-prefecture"]


class Places(Answer):
    places: list[Place]


# -- the tracking view -------------------------------------------------------------------------


class DocumentRef(Answer):
    """Un document joint à une réponse de l'organisme."""

    document_id: Uuid
    filename: str
    content_type: str
    size: int = Field(ge=0, description="En octets.")
    size_label: str = Field(description="« 120 Ko », « 1,4 Mo ».")


class CitizenAttachment(Answer):
    """Une pièce jointe de l'usager (à la soumission ou à la reformulation)."""

    attachment_id: Uuid
    filename: str
    size: int = Field(ge=0, description="En octets.")
    size_label: str = Field(description="« 120 Ko », « 1,4 Mo ».")


class HistoryLine(Answer):
    at: Moment
    day: FrenchDay
    time: FrenchTime
    event: str = Field(description="Le type de l'événement (request.submitted…).")
    status: str = Field(description="Le statut de la requête après l'événement.")
    label: str = Field(description="Ce qui est arrivé, en français.")
    detail: str | None = Field(description="Le message dit à l'usager (motif, réponse…).")
    documents: list[DocumentRef]


class MinistryAnswer(Answer):
    """La réponse de l'organisme (« Traité »)."""

    message: str
    treated_at: Moment | None
    treated_day: FrenchDay | None
    documents: list[DocumentRef]


class LaterMessage(Answer):
    """Un nouveau message de l'organisme après sa réponse (« Répondre à l'usager »)."""

    at: Moment
    day: FrenchDay
    message: str
    documents: list[DocumentRef]


class PendingReply(Answer):
    """Un avis ou une relance enregistré, pas encore appliqué par l'organisme."""

    kind: Literal["opinion", "reopening"]
    recorded_at: Moment
    sentence: str
    opinion_label: str | None


class AnswerDue(Answer):
    """« Réponse attendue au plus tard le … » (le délai est suspendu pendant l'attente)."""

    at: date
    day: FrenchDay
    paused: bool


class TrackingView(Answer):
    """Le suivi d'une requête, comme la page « Suivre ma requête » le montre."""

    purged_at: Moment | None = Field(description="Quand les données personnelles ont été effacées.")
    purged_day: FrenchDay | None
    code: Code
    nature: Nature
    nature_label: str
    body_name: str
    submitted_at: Moment
    submitted_day: FrenchDay
    theme: str | None
    message: str = Field(description="Le message de l'usager (vide après l'effacement).")
    status: str = Field(description="Le statut (submitted, in_treatment, treated, closed…).")
    status_label: str = Field(description="« Niveau d'avancement », en français.")
    step: int | None = Field(ge=1, description="L'étape de la frise (1 à 4).")
    banner: str
    due_at: date | None = Field(description="La décision de l'analyste attendue au plus tard.")
    due_day: FrenchDay | None
    answer_due: AnswerDue | None
    closed: bool
    analyst_message: str | None
    rejection_reason: str | None
    ministry_message: str | None
    citizen_opinion: str | None = Field(description="L'avis donné, en français.")
    analyst_answer: str | None
    can_rewrite: bool
    answer: MinistryAnswer | None
    later_messages: list[LaterMessage]
    documents: list[DocumentRef] = Field(description="Les documents de toutes les réponses.")
    attachments: list[CitizenAttachment] = Field(
        default_factory=list,
        description="Les pièces jointes de l'usager ; aucune après l'effacement des données.",
    )
    pending_reply: PendingReply | None
    can_give_opinion: bool
    can_reopen: bool
    history: list[HistoryLine]


class Recorded(Answer):
    """L'avis ou la relance enregistré (202), avec le suivi."""

    message: str
    view: TrackingView


class ReminderSent(Answer):
    """« Code requête oublié ? » (202) : la même phrase que l'adresse soit connue ou non."""

    message: str


# What /api/v1 answers, as ``GET /api-schemas`` gives it (serialization mode).
ANSWERS: tuple[type[Answer], ...] = (
    Submitted,
    Bodies,
    Themes,
    Places,
    TrackingView,
    Recorded,
    ReminderSent,
)
