"""The call centre's form: an operator submits a request on behalf of a caller (channel
``phone``), with the citizen form's fields (``web.forms``) on one page, and reads the code
out from the page that follows. Only this page sends ``channel=phone``: a citizen never can.

A mobile number is enough (intake asks a phone channel for a mobile number or an email). The form
carries a key of its own (``submission_key``): posting it twice (a double click, a reload) gives
the same code, never a second request.
"""

from __future__ import annotations

import re
import secrets
from typing import Any

from aiohttp import web

from gateway.backoffice import access, shell
from gateway.clients import catalogue
from gateway.clients.intake import INTAKE, told_by
from gateway.clients.transport import ServiceUnavailable
from gateway.staff import audit, auth
from gateway.web import forms
from gateway.web.client_address import client_address
from shared.identity import Role
from shared.messages import NATURE_LABELS, Channel, Nature
from shared.service import POOL

routes = web.RouteTableDef()
PATH = "/admin/appel"
_KEY = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
PHONE_OR_EMAIL = "Donnez le téléphone portable de l'appelant, ou à défaut son email."
KEY_REUSED = (
    "Ce formulaire a déjà enregistré une autre requête. Vérifiez la saisie : l'envoyer à nouveau "
    "enregistrera une nouvelle requête."
)
# In the order of the fields on the page: the error summary lists them so.
FIELDS = (
    "nature",
    "body_id",
    "theme_id",
    "place_id",
    "message",
    "last_name",
    "first_names",
    "country",
    "phone",
    "email",
    "terms_accepted",
)
LABELS = {name: forms.FIELD_LABELS[name] for name in FIELDS}
# The lists the operator must choose from (the citizen chooses these on pages of their own).
REQUIRED_LISTS = ("nature", "body_id")


async def _choices(request: web.Request) -> dict[str, Any]:
    """Raises ServiceUnavailable."""
    bodies = await catalogue.all_bodies(request)
    status, themes = await request.app[INTAKE].themes()
    if status != 200:
        raise ServiceUnavailable("intake")
    return {
        "bodies": sorted(((b["id"], b["name"]) for b in bodies), key=lambda b: b[1]),
        "theme_groups": catalogue.theme_groups(themes["themes"]),
        "regions": await catalogue.regions(request),
    }


async def _form(
    request: web.Request, values: dict[str, str], errors: dict[str, str], status: int = 200
) -> web.Response:
    try:
        choices = await _choices(request)
    except ServiceUnavailable:
        return await _unavailable(request)
    return await shell.render(
        request,
        "backoffice/operator_form.html",
        {
            "title": "Saisie d'une requête",
            "values": values,
            "errors": errors,
            "labels": LABELS,
            "natures": [(n.value, NATURE_LABELS[n]) for n in Nature],
            "countries": forms.COUNTRIES,
            **choices,
        },
        status=status,
    )


async def _unavailable(request: web.Request) -> web.Response:
    return await shell.render(
        request,
        "backoffice/operator_unavailable.html",
        {"title": "Service indisponible"},
        status=503,
    )


@routes.get(PATH, name="bo-appel")
@access.staff_required(Role.OPERATOR)
async def form_page(request: web.Request) -> web.Response:
    values = {"country": "CI", "submission_key": secrets.token_urlsafe(24)}
    return await _form(request, values, {})


@routes.post(PATH, name="bo-appel-envoyer")
@access.staff_required(Role.OPERATOR)
async def submit(request: web.Request) -> web.Response:
    posted = await request.post()
    values = {name: str(posted.get(name, ""))[:5000] for name in forms.FORM_TO_API}
    values["country"] = values["country"] or "CI"
    key = str(posted.get("submission_key", ""))
    values["submission_key"] = key if _KEY.match(key) else secrets.token_urlsafe(24)
    fields = {**forms.draft_fields(posted), "submission_key": values["submission_key"]}
    staff = auth.current_staff(request)
    assert staff is not None
    try:
        status, body = await request.app[INTAKE].submit(
            fields, identity=staff.identity, channel=Channel.PHONE.value
        )
    except ServiceUnavailable:
        return await _unavailable(request)
    if status == 422:
        errors = forms.errors_by_field(body.get("errors", []))
        for name in REQUIRED_LISTS:
            if name in errors and not values[name].strip():
                errors[name] = forms.LIST_LEFT_EMPTY
        if "phone" in errors and not values["phone"].strip() and not values["email"].strip():
            errors["phone"] = PHONE_OR_EMAIL
        return await _form(request, values, errors, status=422)
    if status == 409:
        # The form was sent already with other values (edited after « Retour »): the page again,
        # with a new key, so that sending it once more records this request as a new one.
        values["submission_key"] = secrets.token_urlsafe(24)
        errors = {"message": KEY_REUSED}
        return await _form(request, values, errors, status=409)
    if status not in (200, 201):
        return await _unavailable(request)
    # The page shows the citizen's telephone and email with the code: a reading of personal
    # data, in the journal as the request pages' are.
    async with request.app[POOL].acquire(timeout=10) as conn:
        await audit.record(
            conn,
            "personal_data_read",
            actor_login=staff.login,
            actor_id=staff.account_id,
            address=client_address(request),
            target=audit.REQUEST_TARGET.format(code=body["code"]),
            detail="Requête saisie au téléphone : coordonnées de l'usager affichées",
        )
    return await shell.render(
        request,
        "backoffice/operator_done.html",
        {
            "title": "Requête enregistrée",
            "code": body["code"],
            "nature_label": body.get("nature_label", ""),
            "phone": values["phone"].strip(),
            "email": values["email"].strip(),
            # What intake will send, not what was typed: a landline gets no SMS.
            "told_by": told_by(body.get("told_by")),
        },
    )
