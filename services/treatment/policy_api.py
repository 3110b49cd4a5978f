"""The deadline policy's HTTP API (« Délais »): administrators only, with the signed identity.

- ``GET /deadlines``: ``{revision, defaults, rules, days_off, holidays}``: the values set (per
  kind and nature, and per body), chikaya.ma's defaults, the declared days off, and the next
  public holidays (for information: they are counted without anyone declaring them).
- ``PUT /deadlines/rules`` ``{kind, nature, body_id?, days}``: set a value (``days`` null:
  remove it, back to the nature's value or the default); 200 with what moved; 404 when there was
  no such value to remove.
- ``POST /deadlines/days-off`` ``{day: "AAAA-MM-JJ", label}``: declare a day off; 201.
- ``DELETE /deadlines/days-off/{day}``: remove it; 404 when it was not declared.

Bad input is a 422 ``{"error": "validation_failed", "errors": [{field, code, message}]}``
(``days``: not_an_integer, too_small, negative, too_large, answer_shorter_than_admissibility;
``day``: invalid_date, already_declared; ``label``: missing) and nothing is written.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Any

from aiohttp import web
from pydantic import BaseModel, ConfigDict, StringConstraints

from services.treatment import policy
from shared.audit import address_of
from shared.deadline_policy import DEFAULTS, parse_days
from shared.identity import Role, check, requires
from shared.messages import DeadlineKind, Nature
from shared.service import POOL, transaction
from shared.web import FieldErrors, field_error, json_error, read_model
from shared.working_days import public_holidays

routes = web.RouteTableDef()
HOLIDAYS_SHOWN = 8


class RuleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: DeadlineKind
    nature: Nature
    body_id: Annotated[str, StringConstraints(strip_whitespace=True, max_length=100)] | None = None
    days: Any = None  # checked by parse_days: "15", 15.5, true are refused in French


class DayOffIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    day: Annotated[str, StringConstraints(strip_whitespace=True, max_length=40)] = ""
    label: Annotated[str, StringConstraints(max_length=1000)] = ""


def parse_day(raw: str, field: str = "day") -> date:
    """An ISO date (AAAA-MM-JJ), or the 422 on ``field``."""
    try:
        day = date.fromisoformat(raw)
        if len(raw) == 10 and 2000 <= day.year <= 2100:
            return day
    except ValueError:
        pass
    raise FieldErrors([field_error(field, "Une date au format AAAA-MM-JJ.", "invalid_date")])


def next_holidays(today: date, count: int = HOLIDAYS_SHOWN) -> list[dict[str, str]]:
    days = {**public_holidays(today.year), **public_holidays(today.year + 1)}
    return [{"day": d.isoformat(), "label": days[d]} for d in sorted(days) if d >= today][:count]


async def _state(pool) -> dict[str, Any]:
    async with pool.acquire() as conn:
        rules = await policy.load_policy(conn)
        off = await policy.days_off(conn)
        number = await policy.revision(conn)
    return {
        "revision": number,
        "defaults": {k.value: v for k, v in DEFAULTS.items()},
        "rules": [r.model_dump(mode="json") for r in rules.rules()],
        "days_off": [
            {
                "day": r["day"].isoformat(),
                "label": r["label"],
                "declared_by": r["declared_by"],
                "declared_at": r["declared_at"].isoformat(),
            }
            for r in off
        ],
        "holidays": next_holidays(datetime.now(UTC).date()),
    }


@routes.get("/deadlines")
@requires(Role.ADMINISTRATOR)
async def read(request: web.Request) -> web.Response:
    return web.json_response(await _state(request.app[POOL]))


@routes.put("/deadlines/rules")
@requires(Role.ADMINISTRATOR)
async def set_rule(request: web.Request) -> web.Response:
    who = check(request, Role.ADMINISTRATOR)
    body = await read_model(request, RuleIn)
    days = None  # null: the value removed
    if body.days is not None:
        days, errors = parse_days(body.days)
        if errors:
            raise FieldErrors(errors)
    try:
        done = await transaction(
            request,
            lambda conn: policy.set_rule(
                conn,
                who,
                address_of(request),
                kind=body.kind,
                nature=body.nature,
                body_id=body.body_id or None,
                days=days,
            ),
        )
    except policy.UnknownRule:
        return json_error(404, "not_found", "Aucune valeur n'est fixée là : rien n'est retiré.")
    return web.json_response(done)


@routes.post("/deadlines/days-off")
@requires(Role.ADMINISTRATOR)
async def declare(request: web.Request) -> web.Response:
    who = check(request, Role.ADMINISTRATOR)
    body = await read_model(request, DayOffIn)
    errors = []
    day = None
    try:
        day = parse_day(body.day)
    except FieldErrors as exc:
        errors += exc.errors
    if not body.label.strip():
        errors.append(field_error("label", "Écrivez le motif du jour chômé.", "missing"))
    if errors or day is None:
        raise FieldErrors(errors)
    done = await transaction(
        request,
        lambda conn: policy.declare_day_off(
            conn, who, address_of(request), day=day, label=body.label
        ),
    )
    return web.json_response(done, status=201)


@routes.delete("/deadlines/days-off/{day}")
@requires(Role.ADMINISTRATOR)
async def remove(request: web.Request) -> web.Response:
    who = check(request, Role.ADMINISTRATOR)
    day = parse_day(request.match_info["day"])
    try:
        done = await transaction(
            request,
            lambda conn: policy.remove_day_off(conn, who, address_of(request), day=day),
        )
    except policy.UnknownDay:
        return json_error(404, "not_found", "Ce jour n'est pas déclaré chômé.")
    return web.json_response(done)
