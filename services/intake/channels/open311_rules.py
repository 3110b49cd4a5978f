"""Open311 GeoReport v2 in intake's terms, without I/O: service codes, descriptions, statuses,
the date range of a search, and the names of the fields in errors.

One Open311 service per public body × nature: ``service_code`` is ``<body_id>.<nature>``
(``ministere-budget.reclamation``; body ids have no dot). A request's ``service_request_id`` is
its 10-digit code. Statuses: a request is ``closed`` once rejected, read and forwarded (the natures
without treatment) or closed; every other status is ``open``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from services.intake.tracking.view import status_label
from shared import lifecycle
from shared.messages import Nature

# A search spans 90 days at most, and answers 1000 requests at most (the spec's defaults).
MAX_SPAN = timedelta(days=90)
MAX_RESULTS = 1000

CLOSED_STATUSES = tuple(sorted(s.value for s in lifecycle.CLOSED_STATUSES))

_DESCRIPTIONS = {
    Nature.RECLAMATION: "Signaler un mauvais fonctionnement d'un service de {body} ; "
    "l'organisme vous répond.",
    Nature.SUGGESTION: "Proposer une amélioration des services de {body}.",
    Nature.OBSERVATION: "Faire part d'une observation sur les services de {body}.",
    Nature.MOTION: "Féliciter {body} pour un service rendu.",
    Nature.DEMANDE_INFORMATION: "Demander une information à {body} ; l'organisme vous répond.",
}

# Our field names, as an Open311 client sent them (so that an error names the client's field).
OPEN311_FIELDS = {
    "nature": "service_code",
    "body_id": "service_code",
    "message": "description",
    "theme_id": "attribute[theme_id]",
    "place_id": "attribute[place_id]",
    "contact.email": "email",
    "contact.phone": "phone",
    "contact.last_name": "last_name",
    "contact.first_names": "first_name",
    "contact.country": "phone",
    "contact": "email",
}


def service_code(body_id: str, nature: str) -> str:
    return f"{body_id}.{nature}"


def parse_service_code(code: str) -> tuple[str, Nature] | None:
    """(body id, nature) of a service code, or None when it cannot be one of ours."""
    body_id, dot, nature = code.rpartition(".")
    if not dot or not body_id:
        return None
    try:
        return body_id, Nature(nature)
    except ValueError:
        return None


def service(body_id: str, body_name: str, nature: Nature) -> dict:
    """One entry of ``services.json``. ``metadata``: true, the definition offers the theme and
    the place as attributes."""
    return {
        "service_code": service_code(body_id, nature.value),
        "service_name": f"{nature.label} — {body_name}",
        "description": _DESCRIPTIONS[nature].format(body=body_name),
        "metadata": True,
        "type": "realtime",
        "keywords": ", ".join((nature.label.lower(), body_id)),
        "group": body_name,
    }


def notice(nature: Nature, code: str, media_ignored: bool) -> str:
    """The ``service_notice`` of a submission: a sentence the client shows the citizen, so the
    nature is a common noun in it (« Votre réclamation »), not the label of a list."""
    said = (
        f"Votre {nature.label.lower()} a bien été enregistrée. Le numéro de la demande est "
        f"{code} : gardez-le, il sert à suivre la requête (« Suivre une requête ») avec votre "
        "adresse électronique ou votre numéro de mobile."
    )
    if media_ignored:
        said += " Le document indiqué par media_url n'a pas été repris."
    return said


def is_closed(status: str) -> bool:
    return lifecycle.is_closed(status)


def status_notes(status: str) -> str:
    """« Niveau d'avancement » without dates nor the citizen's opinion (not for a public API)."""
    return status_label(status)


def w3c(moment: datetime) -> str:
    """``2024-05-02T09:30:00+00:00``: the W3C date-time format the spec asks for."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).replace(microsecond=0).isoformat()


class BadQuery(ValueError):
    """A search parameter that cannot be understood; the message is for the client."""


def parse_datetime(name: str, raw: str) -> datetime:
    try:
        moment = datetime.fromisoformat(raw.strip())
    except ValueError:
        raise BadQuery(
            f"{name} : date invalide, attendue au format W3C (2024-05-02T09:30:00Z)."
        ) from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


@dataclass(frozen=True)
class Window:
    start: datetime
    end: datetime


def window(start_raw: str | None, end_raw: str | None, now: datetime) -> Window:
    """The requested_datetime range of a search: the last 90 days by default; one bound alone
    reaches 90 days from it; two bounds may not be further apart than that."""
    start = parse_datetime("start_date", start_raw) if start_raw else None
    end = parse_datetime("end_date", end_raw) if end_raw else None
    if start and end:
        if end < start:
            raise BadQuery("end_date précède start_date.")
        if end - start > MAX_SPAN:
            raise BadQuery("start_date et end_date ne peuvent être séparées de plus de 90 jours.")
        return Window(start, end)
    if start:
        return Window(start, start + MAX_SPAN)
    if end:
        return Window(end - MAX_SPAN, end)
    return Window(now - MAX_SPAN, now)


def closed_filter(raw: str | None) -> bool | None:
    """``status=open`` → False, ``closed`` → True, both or none → None (no filter)."""
    if not raw:
        return None
    wanted = {part.strip().lower() for part in raw.split(",") if part.strip()}
    unknown = wanted - {"open", "closed"}
    if unknown:
        raise BadQuery("status : valeurs possibles « open » et « closed ».")
    if wanted == {"open"}:
        return False
    if wanted == {"closed"}:
        return True
    return None


def split_list(raw: str | None, limit: int = 100) -> list[str]:
    """A comma-separated parameter; raises BadQuery past ``limit`` items."""
    items = [part.strip() for part in (raw or "").split(",") if part.strip()]
    if len(items) > limit:
        raise BadQuery(f"{limit} valeurs au plus par paramètre.")
    return items


def client_field(field: str) -> str:
    """Our field name as the Open311 client knows it."""
    return OPEN311_FIELDS.get(field, field)
