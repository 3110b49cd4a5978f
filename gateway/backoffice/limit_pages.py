"""« Administration › Limites et SMS »: intake's configuration table (``services/intake/limits.py``)
— how many requests the anonymous channels (form, JSON API, Open311) take per client address,
per email and per mobile number, when the form asks a proof of work, and the countries SMS may
go to. Administrators change them here; every change is a line of the « Journal d'audit »
(``config_changed``, target « configuration »).

- ``GET /admin/limites``: the settings in a form; ``POST /admin/limites`` saves them.
"""

from __future__ import annotations

import re
from typing import Any

from aiohttp import web

from gateway.backoffice import shell
from gateway.backoffice.access import staff_required
from gateway.clients.intake import INTAKE
from gateway.clients.transport import ServiceUnavailable
from gateway.staff import audit
from gateway.staff.auth import current_staff
from gateway.web.client_address import client_address
from shared.db import run_in_transaction
from shared.identity import Role
from shared.numbers import whole
from shared.service import POOL

routes = web.RouteTableDef()
BASE = "/admin/limites"
# The settings as the page shows them, in its order: (name, label, hint).
NUMBERS = [
    ("submission_window_seconds", "Durée de la fenêtre de comptage (secondes)", None),
    (
        "submissions_per_client",
        "Requêtes par adresse de connexion",
        "Généreux : beaucoup d'usagers partagent une adresse derrière un opérateur mobile.",
    ),
    ("submissions_per_email", "Requêtes par adresse électronique", None),
    ("submissions_per_phone", "Requêtes par numéro de téléphone portable", None),
    ("suspicion_window_seconds", "Durée de la fenêtre de vérification (secondes)", None),
    (
        "suspicion_per_client",
        "Requêtes par adresse de connexion avant la vérification anti-robot",
        None,
    ),
    ("proof_difficulty_bits", "Difficulté du calcul anti-robot (bits, 0 à 24)", None),
    ("proof_wait_seconds", "Attente demandée sans JavaScript (secondes)", None),
    ("proof_lifetime_seconds", "Validité d'une vérification (secondes)", None),
]
COUNTRIES = "sms_country_codes"
LABELS = {
    **{name: label for name, label, _ in NUMBERS},
    COUNTRIES: "Indicatifs des pays où les SMS sont envoyés",
}
_CODES = re.compile(r"^\s*\+?\d{1,3}(\s*,\s*\+?\d{1,3})*\s*$")


def _staff(request: web.Request):
    staff = current_staff(request)
    assert staff is not None, "behind staff_required"
    return staff


def _shown(config: dict[str, Any]) -> dict[str, str]:
    values = {name: str(config.get(name, "")) for name, _, _ in NUMBERS}
    values[COUNTRIES] = ", ".join(f"+{c}" for c in config.get(COUNTRIES, []))
    return values


def _parsed(values: dict[str, str]) -> tuple[dict[str, Any], dict[str, str]]:
    parsed: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for name, _, _ in NUMBERS:
        value = whole(values[name], 0, 999_999_999)
        if value is None:
            errors[name] = "Un nombre entier, 0 ou plus."
        else:
            parsed[name] = value
    if values[COUNTRIES].strip() == "":
        parsed[COUNTRIES] = []
    elif _CODES.match(values[COUNTRIES]):
        parsed[COUNTRIES] = [int(c.strip().lstrip("+")) for c in values[COUNTRIES].split(",")]
    else:
        errors[COUNTRIES] = "Des indicatifs séparés par des virgules, par exemple « +225, +226 »."
    return parsed, errors


async def _page(
    request: web.Request,
    values: dict[str, str],
    errors: dict[str, str] | None = None,
    done: bool = False,
    status: int = 200,
) -> web.Response:
    return await shell.render(
        request,
        "backoffice/limits.html",
        {
            "title": "Limites et SMS",
            "numbers": NUMBERS,
            "values": values,
            "errors": errors or {},
            "labels": LABELS,
            "done": done,
        },
        status=status,
    )


@routes.get(BASE, name="bo-limites")
@staff_required(Role.ADMINISTRATOR)
async def show(request: web.Request) -> web.Response:
    try:
        status, config = await request.app[INTAKE].config(identity=_staff(request).identity)
    except ServiceUnavailable:
        status, config = 503, None
    if status != 200:
        return await shell.unavailable(request, "La configuration des limites")
    return await _page(request, _shown(config), done=request.query.get("fait") == "1")


@routes.post(BASE)
@staff_required(Role.ADMINISTRATOR)
async def change(request: web.Request) -> web.Response:
    posted = await request.post()
    values = {name: str(posted.get(name, "")).strip() for name in LABELS}
    parsed, errors = _parsed(values)
    if errors:
        return await _page(request, values, errors, status=422)
    intake = request.app[INTAKE]
    identity = _staff(request).identity
    try:
        found, before = await intake.config(identity=identity)
        status, after = await intake.change_config(parsed, identity=identity)
    except ServiceUnavailable:
        return await shell.unavailable(request, "La configuration des limites")
    if status == 422:
        # Intake's bounds, in its words (« un nombre entier de 1 à 10 000 000. »), beside the
        # field it names.
        errors = {
            (e.get("field") if e.get("field") in LABELS else COUNTRIES): str(
                e.get("message") or "Valeur refusée : vérifiez-la."
            )
            for e in after.get("errors", [])
        } or {COUNTRIES: "Valeur refusée : vérifiez-la."}
        return await _page(request, values, errors, status=422)
    if status != 200 or found != 200:
        return await shell.unavailable(request, "La configuration des limites")
    # Said with the page's labels and values, as the administrator reading the log knows them.
    shown_before, shown_after = _shown(before), _shown(after)
    changed = [
        f"{label} : « {shown_before[name]} » → « {shown_after[name]} »"
        for name, label in LABELS.items()
        if before.get(name) != after.get(name)
    ]
    if changed:
        staff = _staff(request)

        async def work(conn):
            await audit.record(
                conn,
                "config_changed",
                actor_login=staff.login,
                actor_id=staff.account_id,
                address=client_address(request),
                target="configuration",
                detail=" ; ".join(changed)[:1000],
            )

        await run_in_transaction(request.app[POOL], work)
    raise web.HTTPSeeOther(f"{BASE}?fait=1")
