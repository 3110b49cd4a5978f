"""The administrator's « Rappels »: how treatment's clock reminds the bodies (reminders.py).

- ``GET /reminders/settings``: the policy, who set it and when (administrators).
- ``PUT /reminders/settings`` (administrators): ``{not_taken_days, in_progress_days,
  before_due_days, repeat_days}`` in working days; 200 with the policy kept; 422
  ``validation_failed`` with each faulty field's machine-readable ``code`` (``missing``,
  ``not_an_integer``, ``out_of_range``, ``in_progress_before_not_taken``, ``unknown_field``),
  nothing written.
"""

from __future__ import annotations

from aiohttp import web

from services.treatment import reminders
from shared import audit
from shared.audit import address_of
from shared.db import run_in_transaction
from shared.identity import Role, check, requires
from shared.service import POOL
from shared.web import FieldErrors, read_json, refuse_envelope

routes = web.RouteTableDef()


@routes.get("/reminders/settings")
@requires(Role.ADMINISTRATOR)
async def show(request: web.Request) -> web.Response:
    return web.json_response(await reminders.policy_record(request.app[POOL]))


@routes.put("/reminders/settings")
@requires(Role.ADMINISTRATOR)
async def change(request: web.Request) -> web.Response:
    who = check(request)
    raw = await read_json(request)
    refuse_envelope(raw)
    policy, errors = reminders.policy_problems(raw)
    if policy is None:
        raise FieldErrors(errors)

    async def save(conn) -> None:
        await reminders.save_policy(conn, policy, who.login or who.staff_id)
        await audit.write(
            conn,
            action="reminder_settings",
            outcome="done",
            address=address_of(request),
            actor_id=who.staff_id,
            actor_login=who.login,
            actor_role=who.role.value,
            detail=policy.described(),
        )

    await run_in_transaction(request.app[POOL], save)
    return web.json_response(await reminders.policy_record(request.app[POOL]))
