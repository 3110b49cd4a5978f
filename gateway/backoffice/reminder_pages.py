"""« Administration › Rappels »: how often treatment's clock reminds the bodies' focal points of
the requests waiting for them (services/treatment/reminders.py), in working days. Kept in
treatment, which checks the values again and writes the change in its audit log.

- ``GET /admin/rappels``: the form with the present values (administrators);
- ``POST /admin/rappels`` (administrators): saves, or 422 with the faulty fields.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from gateway.backoffice import shell
from gateway.backoffice.access import staff_required
from gateway.clients.transport import ServiceUnavailable
from gateway.clients.treatment import TREATMENT
from gateway.staff.auth import current_staff
from shared import french
from shared.identity import Role
from shared.numbers import whole

routes = web.RouteTableDef()
BASE = "/admin/rappels"
# The fields in the form's order, with their labels and the smallest value each takes.
FIELDS = {
    "not_taken_days": ("Requête non prise en compte : premier rappel après (jours ouvrés)", 1),
    "in_progress_days": ("Requête prise en compte sans réponse : rappel après (jours ouvrés)", 1),
    "before_due_days": ("Avant la date limite de réponse : rappel (jours ouvrés avant)", 0),
    "repeat_days": ("Rappel répété tous les (jours ouvrés ; 0 : jamais répété)", 0),
}
LABELS = {name: label for name, (label, _) in FIELDS.items()}
MAXIMUM = 365
DONE = "Les rappels sont enregistrés : le prochain passage de l'horloge les applique."


def _values(posted: Any) -> dict[str, str]:
    return {name: str(posted.get(name, "")).strip() for name in FIELDS}


def _problems(values: dict[str, str]) -> dict[str, str]:
    errors = {}
    for name, (_, low) in FIELDS.items():
        raw = values[name]
        if not raw:
            errors[name] = "Ce champ est obligatoire."
        elif whole(raw, low, MAXIMUM) is None:
            errors[name] = f"Un nombre entier de {low} à {MAXIMUM}."
    return errors


def _treatment_errors(answer: Any) -> dict[str, str]:
    errors = {}
    for e in (answer or {}).get("errors", []) if isinstance(answer, dict) else []:
        field = e.get("field", "")
        errors[field if field in FIELDS else "not_taken_days"] = e.get("message") or (
            "Valeur refusée : vérifiez-la."
        )
    return errors or {"not_taken_days": "Valeur refusée : vérifiez-la."}


async def _page(
    request: web.Request,
    *,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> web.Response:
    staff = current_staff(request)
    assert staff is not None
    try:
        found, kept = await request.app[TREATMENT].reminder_settings(identity=staff.identity)
    except ServiceUnavailable:
        return await shell.unavailable(request, "Les rappels")
    if found != 200:
        return await shell.unavailable(request, "Les rappels")
    shown = values or {name: str(kept[name]) for name in FIELDS}
    return await shell.render(
        request,
        "backoffice/reminders.html",
        {
            "title": "Rappels aux points focaux",
            "values": shown,
            "errors": errors or {},
            "labels": LABELS,
            "fields": FIELDS,
            "updated_by": kept.get("updated_by"),
            "updated_on": french.moment(kept["updated_at"]) if kept.get("updated_at") else None,
            "done": DONE if request.query.get("fait") == "enregistre" and not errors else None,
        },
        status=status,
    )


@routes.get(BASE, name="bo-rappels")
@staff_required(Role.ADMINISTRATOR)
async def reminders_page(request: web.Request) -> web.Response:
    return await _page(request)


@routes.post(BASE)
@staff_required(Role.ADMINISTRATOR)
async def save_reminders(request: web.Request) -> web.Response:
    values = _values(await request.post())
    errors = _problems(values)
    if errors:
        return await _page(request, values=values, errors=errors, status=422)
    staff = current_staff(request)
    assert staff is not None
    try:
        status, answer = await request.app[TREATMENT].set_reminder_settings(
            {name: int(values[name]) for name in FIELDS}, identity=staff.identity
        )
    except ServiceUnavailable:
        return await shell.unavailable(request, "Les rappels")
    if status == 422:
        return await _page(request, values=values, errors=_treatment_errors(answer), status=422)
    if status != 200:
        return await shell.unavailable(request, "Les rappels")
    raise web.HTTPSeeOther(f"{BASE}?fait=enregistre")
