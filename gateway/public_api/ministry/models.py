"""What the ministry API takes and gives, as pydantic models: they validate every input, shape
every answer (treatment's JSON passes through them, so nothing leaves outside the schema), and
are the OpenAPI document's schemas (``openapi.py``)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any
from uuid import UUID

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints

from shared.lifecycle import Status
from shared.messages import Nature, Opinion

MESSAGE_MAX = 5000  # treatment's (services/treatment/actions.py)
MAX_DOCUMENTS = 3  # shared.attachments.MAX_FILES, checked by treatment too

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
        description="The version of the request the system read (``version`` of the request). "
        "Given: the action is refused (409 ``modified``) if somebody acted in between.",
    ),
]


class Answer(BaseModel):
    """An answer of the API (unknown fields of treatment are dropped)."""

    model_config = ConfigDict(extra="ignore")


class Input(BaseModel):
    model_config = ConfigDict(extra="forbid")


# -- errors (RFC 9457) -------------------------------------------------------------------------


class FieldProblem(Answer):
    field: str = Field(description="The faulty field or parameter.")
    code: str = Field(description="Machine-readable reason (missing, string_too_long…).")
    message: str = Field(description="In French, for a person.")


class Problem(Answer):
    """An error, as ``application/problem+json`` (RFC 9457)."""

    type: str = Field(description="A URI naming the kind of problem.")
    title: str
    status: int
    detail: str = Field(description="In French, for a person.")
    code: str = Field(
        description="Machine-readable: missing_key, invalid_key, revoked_key, key_in_url, "
        "rate_limited, not_found, validation_failed, modified, not_allowed, already_assigned, "
        "unsupported_media_type, too_large, service_unavailable."
    )
    errors: list[FieldProblem] | None = Field(None, description="422: field by field.")
    retry_after: int | None = Field(None, description="429: seconds to wait (as Retry-After).")
    current_version: int | None = Field(None, description="409 modified: the request's version.")
    correlation_id: str | None = None


# -- a request ---------------------------------------------------------------------------------


class Contact(Answer):
    last_name: str | None = None
    first_names: str | None = None
    email: str | None = None
    phone: str | None = None


class Attachment(Answer):
    """A file the citizen sent: ``GET /attachments/{attachment_id}``."""

    attachment_id: UUID
    filename: str
    content_type: str
    size: int


class Document(Answer):
    """A document of an answer: ``GET /documents/{document_id}``."""

    document_id: UUID
    filename: str
    content_type: str
    size: int


class RequestSummary(Answer):
    """A request as the lists give it, with its last answer, opinion and reopening."""

    code: str = Field(description="The request's 10-digit code.", examples=["5030529490"])
    nature: Nature
    nature_label: str
    body_id: str
    body_name: str
    theme_id: str | None = None
    theme_label: str | None = None
    place_label: str | None = None
    message: str = Field(description="What the citizen wrote.")
    attachments: list[Attachment] = []
    contact: Contact = Contact()
    analyst_message: str | None = None
    submitted_at: datetime
    validated_at: datetime
    status: Status
    status_label: str
    assignee_login: str | None = Field(None, description="Who took it in charge.")
    on_hold_since: datetime | None = None
    treated_at: datetime | None = None
    opinion: Opinion | None = None
    opinion_label: str | None = None
    version: int = Field(description="Moves with every action: send it back to act safely.")
    answer_message: str | None = None
    answer_at: datetime | None = None
    opinion_comment: str | None = None
    opinion_at: datetime | None = None
    reopening_message: str | None = None
    reopened_at: datetime | None = None
    answer_due: date | None = Field(
        None, description="The day the answer is due by (working days; a hold moves it)."
    )


class RequestPage(Answer):
    total: int
    limit: int
    offset: int
    items: list[RequestSummary]


class HistoryLine(Answer):
    at: datetime
    kind: str = Field(description="assigned, put_on_hold, resumed, treated, opinion_given…")
    label: str
    actor_login: str | None = None
    actor_role: str | None = None
    message: str | None = None
    details: dict[str, Any] = {}


class BodyAnswer(Answer):
    answer_id: UUID
    kind: str = Field(description="treated (the answer) or citizen_answered (a further one).")
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
    """What the system may do on the request now."""

    take: bool
    hold: bool
    resume: bool
    answer: bool


class RequestDetail(RequestSummary):
    """One request: its content, files, history, answers, opinions and reopenings."""

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
    action: str = Field(description="assigned, put_on_hold, resumed, treated")
    status: Status
    version: int = Field(description="The request's new version.")
    at: datetime


class Change(Answer):
    cursor: str = Field(description="This line's place in the feed.")
    code: str
    kind: str
    label: str
    at: datetime
    actor_login: str | None = None
    message: str | None = None
    details: dict[str, Any] = {}
    status: Status = Field(description="The request's status now.")
    version: int = Field(description="The request's version now.")


class ChangePage(Answer):
    """Lines of the history of the body's requests after the cursor, oldest first."""

    items: list[Change]
    next: str = Field(description="Send it as ``after`` next time (the same when nothing new).")


# -- what a system sends -----------------------------------------------------------------------


class TakeIn(Input):
    """« Prendre en compte »."""

    version: Version = None


class HoldIn(Input):
    """« Mettre en attente », with the reason the citizen is told."""

    reason: Text = Field(examples=["Pièce justificative demandée au service des passeports."])
    version: Version = None


class ResumeIn(Input):
    """« Reprendre » a request on hold."""

    version: Version = None


class AnswerIn(Input):
    """The body's answer to the citizen (« Traité »), with documents uploaded first
    (``POST /requests/{code}/documents``)."""

    message: Text = Field(examples=["Votre passeport est disponible au guichet 3."])
    document_ids: list[UUID] = Field([], max_length=MAX_DOCUMENTS)
    version: Version = None


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
    AnswerIn,
)
