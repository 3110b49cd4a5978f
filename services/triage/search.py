"""The queue's multi-criteria search: the query string read into :class:`Search` (every faulty
parameter named), and the SQL ``WHERE``/``ORDER BY`` it stands for. No I/O.

Parameters: ``q`` (words of the message, or a code), ``code``, ``body_id``, ``theme_id``,
``place_id``, ``nature``, ``channel``, ``status`` (``waiting`` by default, ``all``, or one
status; ``all`` when a code is given), ``from``/``to`` (submission days, ``YYYY-MM-DD``),
``overdue`` (``true``: only those past their deadline), ``sort`` and ``order``, ``limit`` and
``offset``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from services.triage.domain import Status
from shared import codes
from shared.messages import Channel, Nature
from shared.numbers import whole
from shared.web import FieldError, field_error

CATALOGUE_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,79}$")
DEFAULT_LIMIT = 50
MAX_LIMIT = 200
MAX_OFFSET = 10_000_000
WORDS_MAX = 200

# sort key → SQL expression; every order ends with request_id so that pages never overlap.
SORTS = {
    "queued": "queued_at",
    "submitted": "submitted_at",
    "deadline": "admissibility_deadline",
    "code": "code",
    "nature": "nature",
    "body": "body_name",
    "theme": "theme_label",
    "channel": "channel",
    "status": "status",
    "decided": "decided_at",
}
STATUSES = {s.value for s in Status}


@dataclass(frozen=True)
class Search:
    words: str = ""
    code: str | None = None
    body_id: str | None = None
    theme_id: str | None = None
    place_id: str | None = None
    nature: str | None = None
    channel: str | None = None
    status: str | None = Status.WAITING.value  # None: every status
    submitted_from: date | None = None
    submitted_to: date | None = None
    overdue: bool = False
    sort: str = "queued"
    descending: bool = False
    limit: int = DEFAULT_LIMIT
    offset: int = 0


@dataclass
class Invalid(Exception):
    errors: list[dict[str, str]] = field(default_factory=list)


def _error(name: str, message: str) -> FieldError:
    return field_error(name, message, "invalid")


def whole_number(raw: str, name: str, default: int, low: int, high: int, errors: list) -> int:
    if raw == "":
        return default
    value = whole(raw, low, high)
    if value is None:
        errors.append(_error(name, f"{name} must be a whole number between {low} and {high}"))
        return default
    return value


def _day(raw: str, name: str, errors: list) -> date | None:
    if raw == "":
        return None
    try:
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", raw):
            raise ValueError
        return date.fromisoformat(raw)
    except ValueError:
        errors.append(_error(name, f"{name} must be a date written YYYY-MM-DD, got {raw!r}"))
        return None


def parse(query: Mapping[str, str], *, max_limit: int = MAX_LIMIT) -> Search:
    """The search in ``query``; raises :class:`Invalid` naming every faulty parameter."""
    errors: list[dict[str, str]] = []

    def get(name: str) -> str:
        return str(query.get(name, "")).strip()

    words = get("q")[:WORDS_MAX]
    code = None
    if get("code"):
        code = codes.normalize(get("code"))
        if not codes.is_well_formed(code):
            errors.append(_error("code", "a code is 10 digits with a right check digit"))
    elif words and codes.is_well_formed(codes.normalize(words)):
        # A code typed in the search box: find that request, whatever its status.
        code, words = codes.normalize(words), ""
    ids = {}
    for name in ("body_id", "theme_id", "place_id"):
        value = get(name)
        if value and not CATALOGUE_ID.match(value):
            errors.append(_error(name, f"{name} is not a catalogue id"))
        ids[name] = value or None
    nature = get("nature") or None
    if nature and nature not in {n.value for n in Nature}:
        errors.append(_error("nature", f"nature must be one of {', '.join(n for n in Nature)}"))
    channel = get("channel") or None
    if channel and channel not in {c.value for c in Channel}:
        errors.append(_error("channel", f"channel must be one of {', '.join(c for c in Channel)}"))
    raw_status = get("status")
    status: str | None
    if raw_status == "all" or (raw_status == "" and code):
        status = None
    elif raw_status == "":
        status = Status.WAITING.value
    elif raw_status in STATUSES:
        status = raw_status
    else:
        status = None
        errors.append(_error("status", f"status must be all or one of {', '.join(STATUSES)}"))
    start, end = _day(get("from"), "from", errors), _day(get("to"), "to", errors)
    if start and end and start > end:
        errors.append(_error("to", "to must not be before from"))
    overdue = get("overdue").lower()
    if overdue not in ("", "true", "false", "1", "0"):
        errors.append(_error("overdue", "overdue must be true or false"))
    sort = get("sort") or "queued"
    if sort not in SORTS:
        errors.append(_error("sort", f"sort must be one of {', '.join(SORTS)}"))
    order = get("order") or "asc"
    if order not in ("asc", "desc"):
        errors.append(_error("order", "order must be asc or desc"))
    limit = whole_number(get("limit"), "limit", DEFAULT_LIMIT, 1, max_limit, errors)
    offset = whole_number(get("offset"), "offset", 0, 0, MAX_OFFSET, errors)
    if errors:
        raise Invalid(errors)
    return Search(
        words=words,
        code=code,
        nature=nature,
        channel=channel,
        status=status,
        submitted_from=start,
        submitted_to=end,
        overdue=overdue in ("true", "1"),
        sort=sort,
        descending=order == "desc",
        limit=limit,
        offset=offset,
        **ids,
    )


def where(search: Search) -> tuple[str, list[Any]]:
    """``(SQL condition, its parameters $1…)`` for the rows ``search`` asks for."""
    conditions: list[str] = []
    args: list[Any] = []

    def add(sql: str, value: Any) -> None:
        args.append(value)
        conditions.append(sql.replace("?", f"${len(args)}"))

    if search.status is not None:
        add("status = ?", search.status)
    if search.code:
        add("code = ?", search.code)
    for column in ("body_id", "theme_id", "place_id", "nature", "channel"):
        value = getattr(search, column)
        if value:
            add(f"{column} = ?", value)
    if search.submitted_from:
        add("submitted_at >= (?::date)::timestamp AT TIME ZONE 'UTC'", search.submitted_from)
    if search.submitted_to:
        add(
            "submitted_at < (?::date)::timestamp AT TIME ZONE 'UTC'",
            search.submitted_to + timedelta(days=1),
        )
    if search.overdue:
        conditions.append("admissibility_deadline < now()")
    if search.words:
        add("search @@ websearch_to_tsquery('french', fold(?))", search.words)
    return (" AND ".join(conditions) or "true"), args


def order_by(search: Search) -> str:
    direction = "DESC" if search.descending else "ASC"
    nulls = "NULLS LAST" if not search.descending else "NULLS FIRST"
    return f"{SORTS[search.sort]} {direction} {nulls}, request_id {direction}"
