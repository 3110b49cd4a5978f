"""What the ministry API takes and gives, as pydantic models: they validate every input, shape
every answer (treatment's JSON passes through them, so nothing leaves outside the schema), and
are the OpenAPI document's schemas (``openapi.py``)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any
from uuid import UUID

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
)

from shared import attachments
from shared.lifecycle import Status
from shared.messages import Nature, Opinion

MESSAGE_MAX = 5000  # treatment's (services/treatment/actions.py)
MAX_DOCUMENTS = attachments.MAX_FILES  # checked by treatment too

# Text PostgreSQL can keep (no NUL, no lone surrogate from a JSON « \\ud800 ») and not blank;
# the pattern says it in the schema (lone surrogates are no JSON text a client means to send),
# the validator refuses them at once, without the pattern's backtracking over a long text.
KEEPABLE = r"^[^\x00]*[^\s\x00][^\x00]*$"


def _keepable(value: object) -> object:
    if isinstance(value, str) and any(c == "\x00" or "\ud800" <= c <= "\udfff" for c in value):
        raise ValueError("Caractère interdit (NUL ou substitut isolé).")
    return value


Text = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, min_length=1, max_length=MESSAGE_MAX, pattern=KEEPABLE
    ),
    BeforeValidator(_keepable),
]
Version = Annotated[
    int | None,
    Field(
        None,
        ge=1,
        le=2_147_483_647,
        description="La version de la requête lue par le système (son champ version). "
        "Donnée : l'action est refusée (409 modified) si quelqu'un a agi entre-temps.",
    ),
]


def _without_staff_ids(details: dict[str, Any]) -> dict[str, Any]:
    """A history line's details less the ids of agents and keys (``assignee_id``,
    ``previous_assignee_id``… : a gateway account's id, ``cle-api:<key id>``) and whatever names
    the call centre's operator who took a caller's reply (``operator_id``, ``operator_login``):
    Miliê's own names, which no system outside it needs, and which would name another body's
    agents on a request reindexed from it, or a call centre's staff who are no agents of the
    body (the line still says the reply came by phone: ``channel``)."""
    return {
        name: value
        for name, value in details.items()
        if name != "staff_id"
        and not name.startswith("operator_")
        and not name.endswith(("assignee_id", "actor_id"))
    }


def _day_or_moment(value: object) -> object:
    """Treatment's ISO text as it was written: a day (« 2026-12-20 ») stays a day, a moment stays
    a moment (pydantic alone reads either as the other: midnight as a day, a day as midnight)."""
    if isinstance(value, str):
        try:
            return date.fromisoformat(value) if len(value) == 10 else datetime.fromisoformat(value)
        except ValueError:
            return value  # refused by the types below, with their own words
    return value


DayOrMoment = Annotated[date | datetime | None, BeforeValidator(_day_or_moment)]

Details = Annotated[
    dict[str, Any],
    AfterValidator(_without_staff_ids),
    Field(description="Ce que la ligne dit de plus (documents, motif, statut…)."),
]


class Answer(BaseModel):
    """An answer of the API (unknown fields of treatment are dropped)."""

    model_config = ConfigDict(extra="ignore")


class Input(BaseModel):
    model_config = ConfigDict(extra="forbid")


# -- errors (RFC 9457) -------------------------------------------------------------------------

# Every problem code the API answers, its status and meaning: the Problem schema's description
# and the page's table of errors both say this list.
PROBLEMS = (
    ("missing_key", 401, "Aucune clé dans l'en-tête Authorization ni X-Api-Key."),
    ("invalid_key", 401, "Clé inconnue ou mal formée."),
    ("revoked_key", 401, "Clé révoquée par un administrateur."),
    ("key_in_url", 400, "Clé mise dans l'adresse : refusée, faites-la révoquer."),
    ("invalid_json", 400, "Corps illisible."),
    ("rate_limited", 429, "Trop d'appels dans la minute pour cette clé (Retry-After)."),
    ("not_found", 404, "Aucune requête de l'organisme ne porte ce code."),
    ("validation_failed", 422, "Champs invalides, détaillés dans errors."),
    ("modified", 409, "La requête a changé depuis la version envoyée : relisez-la."),
    ("not_allowed", 409, "Action impossible au statut actuel de la requête."),
    ("already_assigned", 409, "Déjà prise en compte par un agent."),
    ("purged", 409, "Données personnelles de l'usager effacées : plus de réponse possible."),
    ("unsupported_media_type", 415, "Envoyez du JSON."),
    ("too_large", 413, "Document de plus de 5 Mo, ou corps JSON de plus de 2 Mo."),
    ("service_unavailable", 503, "Service momentanément indisponible (Retry-After)."),
    ("unknown_endpoint", 404, "Adresse inconnue sous /api/ministeres/v1/."),
    ("method_not_allowed", 405, "Méthode non permise à cette adresse (en-tête Allow)."),
)


class FieldProblem(Answer):
    field: str = Field(description="Le champ ou paramètre fautif.")
    code: str = Field(description="La raison, pour un programme (missing, string_too_long…).")
    message: str = Field(description="En français, pour une personne.")


class Problem(Answer):
    """Une erreur, en application/problem+json (RFC 9457)."""

    type: str = Field(description="Une URI qui nomme le genre de problème.")
    title: str
    status: int
    detail: str = Field(description="En français, pour une personne.")
    code: str = Field(
        description="Pour un programme : " + ", ".join(code for code, _, _ in PROBLEMS) + "."
    )
    errors: list[FieldProblem] | None = Field(None, description="422 : champ par champ.")
    retry_after: int | None = Field(
        None, description="429 : secondes à attendre (comme Retry-After)."
    )
    current_version: int | None = Field(None, description="409 modified : la version actuelle.")
    correlation_id: str | None = Field(
        None, description="L'identifiant de l'appel (l'en-tête X-Correlation-ID), pour le support."
    )


# -- a request ---------------------------------------------------------------------------------


class Contact(Answer):
    last_name: str | None = None
    first_names: str | None = None
    email: str | None = None
    phone: str | None = None


class Attachment(Answer):
    """Un fichier joint par l'usager : GET /attachments/{attachment_id}."""

    attachment_id: UUID
    filename: str
    content_type: str
    size: int


class Document(Answer):
    """Un document d'une réponse : GET /documents/{document_id}."""

    document_id: UUID
    filename: str
    content_type: str
    size: int


class RequestSummary(Answer):
    """Une requête comme les listes la donnent, avec sa dernière réponse, son dernier avis et
    sa dernière relance."""

    code: str = Field(description="Le code de la requête (10 chiffres).", examples=["5030529490"])
    nature: Nature
    nature_label: str
    body_id: str
    body_name: str
    theme_id: str | None = None
    theme_label: str | None = None
    place_label: str | None = None
    message: str = Field(description="Ce que l'usager a écrit.")
    attachments: list[Attachment] = []
    contact: Contact = Contact()
    analyst_message: str | None = None
    submitted_at: datetime
    validated_at: datetime
    status: Status
    status_label: str
    assignee_login: str | None = Field(None, description="Qui l'a prise en compte.")
    on_hold_since: datetime | None = None
    treated_at: datetime | None = None
    opinion: Opinion | None = None
    opinion_label: str | None = None
    version: int = Field(description="Change à chaque action : renvoyez-la pour agir sans écraser.")
    answer_message: str | None = None
    answer_at: datetime | None = None
    opinion_comment: str | None = None
    opinion_at: datetime | None = None
    reopening_message: str | None = None
    reopened_at: datetime | None = None
    answer_due: date | None = Field(
        None,
        description="Réponse attendue au plus tard ce jour (jours ouvrés ; une mise en attente "
        "le repousse).",
    )
    opinion_until: DayOrMoment = Field(
        None,
        description="« Avis attendu jusqu'au » : répondue, la requête attend l'avis de l'usager "
        "jusqu'à ce jour compris (AAAA-MM-JJ) ou ce moment, puis est clôturée sans retour ; "
        "null quand aucun avis n'est attendu.",
    )
    further_answer_message: str | None = Field(
        None,
        description="La nouvelle réponse de l'organisme à l'usager insatisfait, après son "
        "dernier avis (POST /requests/{code}/answer-again) ; null sans nouvelle réponse.",
    )
    further_answer_at: datetime | None = Field(None, description="Quand elle a été envoyée.")


class RequestPage(Answer):
    total: int
    limit: int
    offset: int
    items: list[RequestSummary]


class HistoryLine(Answer):
    at: datetime
    kind: str = Field(
        description="assigned, put_on_hold, resumed, treated, opinion_given… ; "
        "citizen_reply_refused : un avis ou une relance de l'usager arrivé quand l'état de la "
        "requête ne le permettait plus (après la clôture…), non pris en compte ; "
        "details.reason dit lequel et pourquoi, message garde le texte de l'usager."
    )
    label: str
    actor_login: str | None = None
    actor_role: str | None = None
    message: str | None = None
    details: Details = {}


class BodyAnswer(Answer):
    answer_id: UUID
    kind: str = Field(description="treated (la réponse) ou citizen_answered (une réponse de plus).")
    message: str
    actor_login: str | None = None
    at: datetime
    documents: list[Document] = []


class OpinionGiven(Answer):
    opinion: Opinion
    opinion_label: str
    comment: str | None = None
    at: datetime


class Reopening(Answer):
    message: str | None = None
    at: datetime


class Allowed(Answer):
    """Ce que le système peut faire maintenant sur la requête."""

    take: bool
    hold: bool
    resume: bool
    reassign: bool = Field(
        description="Réaffecter (reassign) à un autre point focal de l'organisme."
    )
    answer: bool
    answer_again: bool = Field(
        description="Répondre à nouveau (answer-again) : l'usager a clôturé la requête « Non "
        "satisfait » ou « Partiellement satisfait »."
    )


class RequestDetail(RequestSummary):
    """Une requête : contenu, pièces, historique, réponses, avis et relances."""

    history: list[HistoryLine] = []
    answers: list[BodyAnswer] = []
    opinions: list[OpinionGiven] = []
    reopenings: list[Reopening] = []
    may: Allowed


class OpinionList(Answer):
    items: list[OpinionGiven]


class ReopeningList(Answer):
    items: list[Reopening]


class ActionDone(Answer):
    code: str
    action: str = Field(
        description="assigned, put_on_hold, resumed, reassigned, treated, citizen_answered"
    )
    status: Status
    version: int = Field(description="La nouvelle version de la requête.")
    at: datetime


class Change(Answer):
    cursor: str = Field(
        description="La place de cette ligne dans le fil (opaque : renvoyez-la telle quelle)."
    )
    code: str
    kind: str
    label: str
    at: datetime
    actor_login: str | None = None
    message: str | None = None
    details: Details = {}
    status: Status = Field(description="Le statut de la requête maintenant.")
    version: int = Field(description="La version de la requête maintenant.")
    opinion: Opinion | None = Field(None, description="L'avis de l'usager maintenant.")
    opinion_label: str | None = None
    opinion_until: DayOrMoment = Field(
        None,
        description="Maintenant, l'avis de l'usager attendu jusqu'à ce jour compris ou ce "
        "moment (« Avis attendu jusqu'au ») ; null quand aucun n'est attendu. Une nouvelle "
        "réponse à l'usager insatisfait est la ligne citizen_answered (message, at).",
    )


class ChangePage(Answer):
    """Les lignes d'historique des requêtes de l'organisme après le curseur, les plus anciennes
    d'abord."""

    items: list[Change]
    next: str = Field(
        description="À renvoyer comme after la prochaine fois (le même quand rien de neuf)."
    )


# -- what a system sends -----------------------------------------------------------------------


class TakeIn(Input):
    """« Prendre en compte »."""

    version: Version = None


class HoldIn(Input):
    """« Mettre en attente », avec le motif dit à l'usager."""

    reason: Text = Field(examples=["Pièce justificative demandée au service des passeports."])
    version: Version = None


class ResumeIn(Input):
    """« Reprendre » une requête en attente."""

    version: Version = None


class ReassignIn(Input):
    """« Réaffecter » : la requête passe à un autre point focal de l'organisme, nommé par son
    login ; il en est prévenu par courriel."""

    agent_login: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120)
    ] = Field(
        description="Le login de l'agent (un point focal actif de l'organisme de la clé).",
        examples=["adjoua.n"],
    )
    version: Version = None


class AnswerIn(Input):
    """La réponse de l'organisme à l'usager (« Traité »), avec les documents déposés avant
    (POST /requests/{code}/documents)."""

    message: Text = Field(examples=["Votre passeport est disponible au guichet 3."])
    document_ids: list[UUID] = Field([], max_length=MAX_DOCUMENTS)
    version: Version = None


class AnswerAgainIn(AnswerIn):
    """Une nouvelle réponse à l'usager qui a clôturé la requête « Non satisfait » ou
    « Partiellement satisfait » (« Insatisfaits » : « Répondre à l'usager »), avec les
    documents déposés avant ; la requête reste clôturée."""


SCHEMAS: tuple[type[BaseModel], ...] = (
    Problem,
    RequestPage,
    RequestDetail,
    OpinionList,
    ReopeningList,
    ActionDone,
    Document,
    ChangePage,
    TakeIn,
    HoldIn,
    ResumeIn,
    ReassignIn,
    AnswerIn,
    AnswerAgainIn,
)
