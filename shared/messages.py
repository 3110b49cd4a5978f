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
from datetime import date, datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated, ClassVar
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

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


class CallCentreOperator(BaseModel):
    """The call centre's operator who acted on a caller's behalf: typed their request by phone
    (request.submitted) or took their reply (citizen.*_recorded.v2). The staff id the gateway
    signed, and the login it signed with (names live with the gateway's accounts). Staff data,
    for staff only: no citizen's page or API, and not the ministries', carries it."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    staff_id: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    login: Annotated[str, StringConstraints(max_length=200)] | None = None


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
    # The call centre's operator who typed it for a caller (channel ``phone``, « Saisir une
    # requête »): the staff id and login the gateway signed. Optional, added without a new
    # version (consumers ignore it; an event without it, from before or by any other channel,
    # names nobody).
    operator: CallCentreOperator | None = None

    @model_validator(mode="after")
    def _operator_by_phone(self) -> RequestSubmittedV1:
        # Not the reverse (_RepliedBy's): a phone submission from before says no operator.
        if self.operator is not None and self.channel != Channel.PHONE:
            raise ValueError("an operator types a request by phone, and only by phone")
        return self


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


class Actor(BaseModel):
    """The staff member who acted (ids only: names live with the gateway's accounts)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    staff_id: str
    role: str
    body_id: str | None = None


class RequestResubmittedV1(Contract):
    """The citizen rewrote a request sent back for reformulation; it returns to the analysts."""

    name: ClassVar[str] = "request.resubmitted"
    version: ClassVar[int] = 1

    request_id: UUID
    code: RequestCode
    message: Annotated[str, StringConstraints(min_length=1, max_length=5000)]
    resubmitted_at: datetime


class RequestValidatedV1(Contract):
    """An analyst found the request admissible. A réclamation or demande d'information goes to
    the body for treatment (``needs_treatment``); the other natures are read and forwarded."""

    name: ClassVar[str] = "request.validated"
    version: ClassVar[int] = 1

    request_id: UUID
    code: RequestCode
    nature: Nature
    needs_treatment: bool
    body_id: ShortText
    body_name: ShortText
    theme_id: str | None = None
    theme_label: str | None = None
    place_label: str | None = None
    message: Annotated[str, StringConstraints(min_length=1, max_length=5000)]
    contact: Contact
    attachments: list[AttachmentRef] = []
    submitted_at: datetime
    analyst_message: str | None = None
    actor: Actor
    decided_at: datetime


class RequestReformulationRequestedV1(Contract):
    """An analyst sent the request back to the citizen to be rewritten, saying why."""

    name: ClassVar[str] = "request.reformulation_requested"
    version: ClassVar[int] = 1

    request_id: UUID
    code: RequestCode
    analyst_message: Annotated[str, StringConstraints(min_length=1, max_length=5000)]
    actor: Actor
    decided_at: datetime


class RequestRejectedV1(Contract):
    """An analyst rejected the request as inadmissible, with the reason; it is closed."""

    name: ClassVar[str] = "request.rejected"
    version: ClassVar[int] = 1

    request_id: UUID
    code: RequestCode
    reason: Annotated[str, StringConstraints(min_length=1, max_length=5000)]
    actor: Actor
    decided_at: datetime


class RequestReindexedV1(Contract):
    """An analyst changed the body or the theme the request is indexed under."""

    name: ClassVar[str] = "request.reindexed"
    version: ClassVar[int] = 1

    request_id: UUID
    code: RequestCode
    body_id: ShortText
    body_name: ShortText
    theme_id: str | None = None
    theme_label: str | None = None
    previous_body_id: ShortText
    previous_theme_id: str | None = None
    actor: Actor
    decided_at: datetime


class RequestClarificationSentV1(Contract):
    """An analyst wrote to a citizen who was not satisfied."""

    name: ClassVar[str] = "request.clarification_sent"
    version: ClassVar[int] = 1

    request_id: UUID
    code: RequestCode
    message: Annotated[str, StringConstraints(min_length=1, max_length=5000)]
    actor: Actor
    sent_at: datetime


class Opinion(StrEnum):
    """What the citizen thought of the body's answer (the life cycle's, re-exported by
    ``shared.lifecycle``); a closed request carries one, or none (« sans retour »)."""

    SATISFIED = "satisfied"
    PARTLY_SATISFIED = "partly_satisfied"
    NOT_SATISFIED = "not_satisfied"


Message = Annotated[str, StringConstraints(min_length=1, max_length=5000)]


class DocumentRef(BaseModel):
    """A document the body joined to an answer: treatment keeps its bytes, events name it."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    document_id: UUID
    filename: str
    content_type: str
    size: int


# The body's events (treatment). Each names the body (stats count per body) and, for a focal
# point's action, the actor; none carries the citizen's contact: notify reads it from its own
# recipients (kept from request.submitted), by request_id.


class Acknowledgement(BaseModel):
    """The acknowledgement email an agent chose to send on « Prendre en compte », with the
    subject and text as the agent edited them."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    subject: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    text: Message


class RequestAssignedV1(Contract):
    """A focal point took the request in charge (« Prendre en compte »). ``acknowledgement``:
    the email the agent asked to send the citizen, or None (none asked, or no email given)."""

    name: ClassVar[str] = "request.assigned"
    version: ClassVar[int] = 1

    request_id: UUID
    code: RequestCode
    body_id: ShortText
    assignee_id: str
    actor: Actor
    assigned_at: datetime
    acknowledgement: Acknowledgement | None = None


class RequestReassignedV1(Contract):
    """The request was handed to another agent of the same body. ``actor_name``: how to name an
    actor no account names — a ministry's system through the ministry API, by its key's label
    as the administrator typed it (« clé d'API « SI Passeports » »), never the key itself; None
    for a person (notify names them from its staff directory). Added as an optional field:
    consumers ignore unknown fields, and a message without it reads as before."""

    name: ClassVar[str] = "request.reassigned"
    version: ClassVar[int] = 1

    request_id: UUID
    code: RequestCode
    body_id: ShortText
    assignee_id: str
    previous_assignee_id: str | None = None
    actor: Actor
    reassigned_at: datetime
    actor_name: Annotated[str, StringConstraints(max_length=200)] | None = None


class RequestPutOnHoldV1(Contract):
    """The body put the request on hold, saying why; its answer's deadline is paused."""

    name: ClassVar[str] = "request.put_on_hold"
    version: ClassVar[int] = 1

    request_id: UUID
    code: RequestCode
    body_id: ShortText
    reason: Message
    actor: Actor
    held_at: datetime


class RequestResumedV1(Contract):
    """The body took the request back from hold; its deadline runs again."""

    name: ClassVar[str] = "request.resumed"
    version: ClassVar[int] = 1

    request_id: UUID
    code: RequestCode
    body_id: ShortText
    actor: Actor
    resumed_at: datetime


class RequestTreatedV1(Contract):
    """The body answered the citizen (« Traité », « avis attendu »), with documents or none."""

    name: ClassVar[str] = "request.treated"
    version: ClassVar[int] = 1

    request_id: UUID
    code: RequestCode
    body_id: ShortText
    message: Message
    documents: list[DocumentRef] = []
    actor: Actor
    treated_at: datetime


class RequestCitizenAnsweredV1(Contract):
    """The body wrote again to a citizen who was not (or partly) satisfied; still closed."""

    name: ClassVar[str] = "request.citizen_answered"
    version: ClassVar[int] = 1

    request_id: UUID
    code: RequestCode
    body_id: ShortText
    message: Message
    documents: list[DocumentRef] = []
    actor: Actor
    answered_at: datetime


class RequestOpinionGivenV1(Contract):
    """The citizen gave their opinion of the answer: the request is closed with it."""

    name: ClassVar[str] = "request.opinion_given"
    version: ClassVar[int] = 1

    request_id: UUID
    code: RequestCode
    body_id: ShortText
    opinion: Opinion
    comment: Annotated[str, StringConstraints(max_length=5000)] | None = None
    given_at: datetime
    # The reply this applies (the ``reply_id`` of citizen.opinion_recorded): intake links its
    # history line to the reply by it. Optional, added without a new version (consumers ignore
    # it; an event without it, from before, is linked as it was).
    reply_id: UUID | None = None


class RequestReopenedV1(Contract):
    """The citizen sent the request back to the body (« Retraitement ») with a message."""

    name: ClassVar[str] = "request.reopened"
    version: ClassVar[int] = 1

    request_id: UUID
    code: RequestCode
    body_id: ShortText
    message: Message
    reopened_at: datetime
    # The reply this applies (citizen.reopening_recorded's ``reply_id``), as for
    # request.opinion_given.
    reply_id: UUID | None = None


class RequestClosedV1(Contract):
    """The request is closed. ``opinion`` None: no opinion came in time (« sans retour »). An
    opinion given closes the request through request.opinion_given alone (one event per
    transition of the life cycle); this event then names it for a reader that follows closures."""

    name: ClassVar[str] = "request.closed"
    version: ClassVar[int] = 1

    request_id: UUID
    code: RequestCode
    body_id: ShortText
    opinion: Opinion | None = None
    closed_at: datetime


class ReminderKind(StrEnum):
    """Why treatment's clock reminds a body's focal points of a request."""

    # In treatment, nobody took it in charge N working days after it reached the body.
    NOT_TAKEN = "not_taken"
    # Taken in charge (« En cours ») and still unanswered past the set delay.
    IN_PROGRESS = "in_progress"
    # K working days or fewer before its answer is due.
    ANSWER_DUE = "answer_due"


class RequestDeadlineWarningV1(Contract):
    """Treatment's clock reminds the body of a request waiting for it (never one on hold): one
    event per request, kind and ``due_date`` (the day the reminder fell due), whatever the
    number of copies of treatment or restarts."""

    name: ClassVar[str] = "request.deadline_warning"
    version: ClassVar[int] = 1

    request_id: UUID
    code: RequestCode
    nature: Nature
    body_id: ShortText
    body_name: ShortText
    kind: ReminderKind
    due_date: date
    answer_due: date | None = None
    validated_at: datetime
    warned_at: datetime


class RequestDeadlineMissedV1(Contract):
    """The answer's deadline passed and the body has not answered: the request is late (the
    analysts' « En retard »). Once per request and ``answer_due``; a deadline moved by a hold
    and missed again is a new one."""

    name: ClassVar[str] = "request.deadline_missed"
    version: ClassVar[int] = 1

    request_id: UUID
    code: RequestCode
    nature: Nature
    body_id: ShortText
    body_name: ShortText
    answer_due: date
    validated_at: datetime
    missed_at: datetime


# The citizen's own replies to an answer. They enter intake, where the code and the email are
# checked and throttled; intake records them and forwards them through its outbox so that the
# citizen is told at once and nothing is lost while treatment is down. Treatment judges each one
# against the life cycle and publishes what follows (request.opinion_given, request.reopened).


class CitizenOpinionRecordedV1(Contract):
    """Intake recorded the citizen's opinion of the answer; treatment has not judged it yet."""

    name: ClassVar[str] = "citizen.opinion_recorded"
    version: ClassVar[int] = 1

    request_id: UUID
    code: RequestCode
    body_id: ShortText
    opinion: Opinion
    comment: Annotated[str, StringConstraints(max_length=5000)] | None = None
    recorded_at: datetime


class CitizenReopeningRecordedV1(Contract):
    """Intake recorded the citizen's « Relancer » with its message; treatment reopens."""

    name: ClassVar[str] = "citizen.reopening_recorded"
    version: ClassVar[int] = 1

    request_id: UUID
    code: RequestCode
    body_id: ShortText
    message: Message
    recorded_at: datetime


class _RepliedBy(Contract):
    """How a citizen's reply reached intake (v2 of the replies): ``channel``, the signed call's
    (``web`` for the citizen's own tracking page), and for ``phone`` the operator who took it
    on the caller's behalf (« Suivi d'un appel »); a reply by any other channel has none."""

    channel: Channel
    operator: CallCentreOperator | None = None
    # The reply's own id (intake's citizen_replies row), given back in the event treatment
    # publishes of it (request.opinion_given, request.reopened ``reply_id``). Optional, added
    # without a new version: consumers ignore it, and a reply queued before it says none.
    reply_id: UUID | None = None

    @model_validator(mode="after")
    def _operator_by_phone(self) -> _RepliedBy:
        if (self.channel == Channel.PHONE) != (self.operator is not None):
            raise ValueError("an operator takes a reply by phone, and only by phone")
        return self


class CitizenOpinionRecordedV2(_RepliedBy):
    """Intake recorded the citizen's opinion of the answer, saying how it came (by the
    citizen's page, or by telephone through the call centre and which operator took it);
    treatment has not judged it yet. v1 said nothing of the channel."""

    name: ClassVar[str] = "citizen.opinion_recorded"
    version: ClassVar[int] = 2

    request_id: UUID
    code: RequestCode
    body_id: ShortText
    opinion: Opinion
    comment: Annotated[str, StringConstraints(max_length=5000)] | None = None
    recorded_at: datetime


class CitizenReopeningRecordedV2(_RepliedBy):
    """Intake recorded the citizen's « Relancer » with its message, saying how it came (as
    :class:`CitizenOpinionRecordedV2`); treatment reopens. v1 said nothing of the channel."""

    name: ClassVar[str] = "citizen.reopening_recorded"
    version: ClassVar[int] = 2

    request_id: UUID
    code: RequestCode
    body_id: ShortText
    message: Message
    recorded_at: datetime


# Either version of a citizen's reply, as treatment applies it.
CitizenOpinionRecorded = CitizenOpinionRecordedV1 | CitizenOpinionRecordedV2
CitizenReopeningRecorded = CitizenReopeningRecordedV1 | CitizenReopeningRecordedV2


class CitizenReply(StrEnum):
    """Which of the citizen's replies to an answer: « Donner son avis » or « Relancer »."""

    OPINION = "opinion"
    REOPENING = "reopening"


class RequestCitizenReplyRefusedV1(Contract):
    """Treatment could not apply a reply intake had recorded and told the citizen was recorded:
    the request's state no longer allowed it (closed « sans retour » by treatment's clock while
    the opinion was on its way, closed by an earlier opinion, reopened meanwhile). The status
    does not change; the citizen is told, on the tracking page (intake) and by email or SMS
    (notify). ``reason``: why, in the citizen's French, a clause without its final stop
    (« la requête avait été clôturée sans retour le 11/01/2027 »)."""

    name: ClassVar[str] = "request.citizen_reply_refused"
    version: ClassVar[int] = 1

    request_id: UUID
    code: RequestCode
    body_id: ShortText
    reply: CitizenReply
    reason: Annotated[str, StringConstraints(min_length=1, max_length=500)]
    recorded_at: datetime  # when the citizen sent it (intake recorded it)
    refused_at: datetime


class RequestPersonalDataPurgedV1(Contract):
    """Intake erased the citizen's personal data of a request closed long enough ago (name,
    phone, email, message, attachments, the citizen's replies): every service that copied any
    erases its own copy. The code, the body, the nature, the theme, the agents, the dated
    milestones and the statistics stay. Applying it twice changes nothing."""

    name: ClassVar[str] = "request.personal_data_purged"
    version: ClassVar[int] = 1

    request_id: UUID
    code: RequestCode
    purged_at: datetime


class CitizenDocumentsAddedV1(Contract):
    """The citizen added documents when rewriting a request sent back for reformulation (issue
    12); triage lists them with the request, and passes them on when it validates it."""

    name: ClassVar[str] = "citizen.documents_added"
    version: ClassVar[int] = 1

    request_id: UUID
    code: RequestCode
    attachments: Annotated[list[AttachmentRef], Field(min_length=1)]
    added_at: datetime


class SubmissionContact(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    last_name: str = ""
    first_names: str = ""
    country: str = "CI"
    phone: str | None = None
    email: str | None = None


class IntakeSubmitV1(Contract):
    """Command from another government channel: submit a request on a citizen's behalf.

    Published to ``milie.commands`` with routing key ``intake.submit``, a ``reply_to`` queue and
    a ``correlation_id``. ``(channel, external_id)`` identifies the request at the channel: the
    same pair again returns the same code and creates nothing.
    """

    name: ClassVar[str] = "intake.submit"
    version: ClassVar[int] = 1

    channel: Annotated[str, StringConstraints(min_length=1, max_length=100)]
    external_id: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    nature: str
    body_id: str
    theme_id: str | None = None
    place_id: str | None = None
    message: str
    contact: SubmissionContact


class FieldError(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    field: str
    code: str
    message: str


class IntakeSubmitReplyV1(Contract):
    """Intake's answer on the ``reply_to`` queue: the code, or the faulty fields."""

    name: ClassVar[str] = "intake.submit_reply"
    version: ClassVar[int] = 1

    accepted: bool
    external_id: str | None = None
    code: RequestCode | None = None
    errors: list[FieldError] = []


class RemindedRequest(BaseModel):
    """One request in a « Code requête oublié ? » reminder."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    code: RequestCode
    nature: Nature
    body_name: str | None = None
    submitted_at: datetime


class CodesReminderRequestedV1(Contract):
    """A citizen asked for the codes of the requests sent from an email address (« Code
    requête oublié ? »). Published only when the address sent some; notify emails them to it."""

    name: ClassVar[str] = "citizen.codes_reminder_requested"
    version: ClassVar[int] = 1

    email: Annotated[str, StringConstraints(min_length=3, max_length=254)]
    requests: Annotated[list[RemindedRequest], Field(min_length=1, max_length=100)]
    requested_at: datetime


class CodesReminderRequestedV2(Contract):
    """A citizen asked for the codes of the requests sent with an email address or a mobile
    number (« Code requête oublié ? »). Published only when that address or number sent some;
    notify sends them to it, by email or by SMS. Exactly one of ``email`` and ``phone`` (E.164)."""

    name: ClassVar[str] = "citizen.codes_reminder_requested"
    version: ClassVar[int] = 2

    email: Annotated[str, StringConstraints(min_length=3, max_length=254)] | None = None
    phone: Annotated[str, StringConstraints(pattern=r"^\+[1-9]\d{6,14}$")] | None = None
    requests: Annotated[list[RemindedRequest], Field(min_length=1, max_length=100)]
    requested_at: datetime

    @model_validator(mode="after")
    def _one_way(self) -> CodesReminderRequestedV2:
        if (self.email is None) == (self.phone is None):
            raise ValueError("give exactly one of email and phone")
        return self


class DeadlineKind(StrEnum):
    """The three deadlines an administrator sets (« Délais »), counted in working days."""

    ADMISSIBILITY = "admissibility"  # the analysts rule on the request's admissibility
    ANSWER = "answer"  # the body answers the citizen
    OPINION = "opinion"  # the citizen gives an opinion on the answer


class DeadlineRule(BaseModel):
    """One value of the deadline policy: for a nature, and for one body when ``body_id`` is
    given (it then overrides the nature's value for that body)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    kind: DeadlineKind
    nature: Nature
    body_id: str | None = None
    days: Annotated[int, Field(ge=1, le=365)]


class DeclaredDayOff(BaseModel):
    """A day an administrator declared off (« jour chômé » decreed at short notice)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    day: date
    label: ShortText


class DeadlinesPolicyChangedV1(Contract):
    """Treatment's deadline policy as it stands after a change: every rule and every declared
    day off (the whole of it, so a consumer replaces its copy). ``revision`` grows with each
    change: a consumer keeps the highest it saw and ignores older ones."""

    name: ClassVar[str] = "deadlines.policy_changed"
    version: ClassVar[int] = 1

    revision: Annotated[int, Field(ge=1)]
    rules: list[DeadlineRule]
    days_off: list[DeclaredDayOff]
    changed_at: datetime


class AnswerDueSetV1(Contract):
    """The day by which the body must answer the request (the last working day on time): set
    when the request reaches the body, moved by a resumption after a hold or by a change of the
    policy or of the declared days off. ``set_at`` orders the moves of one request."""

    name: ClassVar[str] = "deadlines.answer_due_set"
    version: ClassVar[int] = 1

    request_id: UUID
    code: RequestCode
    body_id: ShortText
    answer_due: date
    set_at: datetime


CONTRACTS: dict[str, type[Contract]] = {
    c.type_name(): c
    for c in (
        RequestSubmittedV1,
        RequestResubmittedV1,
        RequestValidatedV1,
        RequestReformulationRequestedV1,
        RequestRejectedV1,
        RequestReindexedV1,
        RequestClarificationSentV1,
        RequestAssignedV1,
        RequestReassignedV1,
        RequestPutOnHoldV1,
        RequestResumedV1,
        RequestTreatedV1,
        RequestCitizenAnsweredV1,
        RequestOpinionGivenV1,
        RequestReopenedV1,
        RequestClosedV1,
        RequestPersonalDataPurgedV1,
        RequestDeadlineWarningV1,
        RequestDeadlineMissedV1,
        CitizenOpinionRecordedV1,
        CitizenReopeningRecordedV1,
        CitizenOpinionRecordedV2,
        CitizenReopeningRecordedV2,
        RequestCitizenReplyRefusedV1,
        CitizenDocumentsAddedV1,
        IntakeSubmitV1,
        IntakeSubmitReplyV1,
        NotificationSentV1,
        NotificationFailedV1,
        CodesReminderRequestedV1,
        CodesReminderRequestedV2,
        DeadlinesPolicyChangedV1,
        AnswerDueSetV1,
    )
}


# When each step of a request's life happened: the event's own field. It orders a request's
# events where several copies of a consumer apply them in any order (stats, triage).
_MOMENTS: dict[type[Contract], str] = {
    RequestSubmittedV1: "submitted_at",
    RequestResubmittedV1: "resubmitted_at",
    RequestValidatedV1: "decided_at",
    RequestReformulationRequestedV1: "decided_at",
    RequestRejectedV1: "decided_at",
    RequestReindexedV1: "decided_at",
    RequestClarificationSentV1: "sent_at",
    RequestAssignedV1: "assigned_at",
    RequestReassignedV1: "reassigned_at",
    RequestPutOnHoldV1: "held_at",
    RequestResumedV1: "resumed_at",
    RequestTreatedV1: "treated_at",
    RequestCitizenAnsweredV1: "answered_at",
    RequestOpinionGivenV1: "given_at",
    RequestReopenedV1: "reopened_at",
    RequestClosedV1: "closed_at",
    RequestCitizenReplyRefusedV1: "refused_at",
}


def moment(event: Contract) -> datetime:
    """When the step of a request's life that ``event`` tells of happened."""
    return getattr(event, _MOMENTS[type(event)])


# The only types a channel may publish on ``milie.commands``: anything else arriving there (an
# event such as ``request.rejected.v1`` passed off as a command) is dead-lettered unapplied.
COMMAND_TYPES: frozenset[str] = frozenset({IntakeSubmitV1.type_name()})
# A command's body is at most this many bytes; a larger one is dead-lettered unread.
COMMAND_MAX_BYTES = 64 * 1024


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
