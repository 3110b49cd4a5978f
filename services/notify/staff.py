"""The staff notify may email: the directory the gateway keeps (``staff_recipients``) and the
emails the gateway asks for (the first sign-in link).

Both endpoints are signed calls of the gateway (its account relay, ``gateway.staff.
notify_outbox``), without a staff identity: the gateway pushes on behalf of the platform, from a
page or from ``milie users``.

- ``PUT /staff/recipients/<account_id>``: the account as it now is. Idempotent; the gateway's
  ``changed_at`` orders the pushes, so an older state delivered late never overwrites a newer
  one. ``role`` comes as ``shared.identity.Role`` spells it and is kept as the table's comment
  says (``focal_point``).
- ``POST /staff/messages``: one email to an account of the directory, queued in the delivery log
  like every other (SMTP, at least once, retried while the server is down). Keyed by the
  gateway's ``message_id``: posted twice, it is sent once.

The link a message carries is a secret: it goes into the email and nowhere else (not the logs).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from aiohttp import web
from pydantic import BaseModel, ConfigDict, EmailStr, Field, ValidationError

from services.notify import emails, repository
from shared import french
from shared.identity import Role
from shared.service import connection
from shared.web import CORRELATION_HEADER, json_error

routes = web.RouteTableDef()
FIRST_SIGN_IN = "first_sign_in"
ABOUT = "staff."  # deliveries.about_message_type: staff.first_sign_in
TABLE_ROLES = {r: r.value.replace("-", "_") for r in Role}


class RecipientIn(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    login: Annotated[str, Field(min_length=1, max_length=64)]
    display_name: Annotated[str, Field(max_length=120)] = ""
    email: EmailStr
    role: Role
    body_id: Annotated[str, Field(max_length=100)] | None = None
    alerts: Literal["immediate", "digest"] = "immediate"
    active: bool = True
    changed_at: datetime


class MessageIn(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    message_id: uuid.UUID
    account_id: Annotated[str, Field(min_length=1, max_length=64)]
    kind: Literal["first_sign_in"]
    link: Annotated[str, Field(min_length=10, max_length=500, pattern=r"^https?://")]
    expires_at: datetime


def _invalid(exc: ValidationError) -> web.Response:
    fields = sorted({".".join(str(p) for p in e["loc"]) for e in exc.errors()})
    return json_error(400, "invalid", "invalid fields: " + ", ".join(fields))


async def _body(request: web.Request, model: type[BaseModel]) -> BaseModel | web.Response:
    try:
        return model.model_validate_json(await request.read())
    except ValidationError as exc:
        return _invalid(exc)


@routes.put("/staff/recipients/{account_id}")
async def put_recipient(request: web.Request) -> web.Response:
    account_id = request.match_info["account_id"]
    if len(account_id) > 64:
        return json_error(400, "invalid_account_id", "account id too long")
    body = await _body(request, RecipientIn)
    if isinstance(body, web.Response):
        return body
    assert isinstance(body, RecipientIn)
    async with connection(request) as conn:
        kept = await conn.fetchval(
            """INSERT INTO staff_recipients AS s (account_id, login, display_name, email, role,
                                                  body_id, alerts, active, updated_at)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
               ON CONFLICT (account_id) DO UPDATE
               SET login = EXCLUDED.login, display_name = EXCLUDED.display_name,
                   email = EXCLUDED.email, role = EXCLUDED.role, body_id = EXCLUDED.body_id,
                   alerts = EXCLUDED.alerts, active = EXCLUDED.active,
                   updated_at = EXCLUDED.updated_at
               WHERE s.updated_at <= EXCLUDED.updated_at
               RETURNING true""",
            account_id,
            body.login,
            body.display_name,
            str(body.email),
            TABLE_ROLES[body.role],
            body.body_id if body.role == Role.FOCAL_POINT else None,
            body.alerts,
            body.active,
            body.changed_at,
        )
    # An older state than the one kept is answered 200 too: the gateway is done with it.
    return web.json_response({"account_id": account_id, "applied": bool(kept)})


def first_sign_in(name: str, login: str, link: str, expires_at: datetime) -> emails.Email:
    """« Votre compte Miliê » — the link to choose the password, French, readable on a phone
    (``emails.letter``: viewport, one column)."""
    return emails.letter(
        "Miliê — choisissez votre mot de passe",
        name,
        [
            f"Un compte agent vous a été ouvert (ou rouvert) sur le back-office de Miliê. "
            f"Votre login est : {login}",
            ("link", "Pour choisir votre mot de passe, ouvrez ce lien :", link),
            f"Ce lien ne sert qu'une fois et reste valable jusqu'au {french.moment(expires_at)}. "
            "Passé ce délai, demandez-en un nouveau à un administrateur.",
            "Si vous n'attendiez pas ce message, ignorez-le : sans ce lien, personne ne peut "
            "choisir votre mot de passe.",
        ],
    )


@routes.post("/staff/messages")
async def post_message(request: web.Request) -> web.Response:
    body = await _body(request, MessageIn)
    if isinstance(body, web.Response):
        return body
    assert isinstance(body, MessageIn)
    async with connection(request) as conn:
        person = await conn.fetchrow(
            "SELECT login, display_name, email, active FROM staff_recipients WHERE account_id = $1",
            body.account_id,
        )
        if person is None:
            return json_error(404, "unknown_recipient", "no such account in the directory")
        mail = first_sign_in(person["display_name"], person["login"], body.link, body.expires_at)
        delivery_id = await repository.add_delivery(
            conn,
            repository.NewDelivery(
                request_id=None,
                about_message_id=body.message_id,
                about_message_type=ABOUT + body.kind,
                correlation_id=request.headers.get(CORRELATION_HEADER),
                medium="email",
                recipient=person["email"],
                recipient_name=person["display_name"],
                subject=mail.subject,
                body_text=mail.text,
                body_html=mail.html,
            ),
        )
    return web.json_response(
        {"message_id": str(body.message_id), "queued": delivery_id is not None}, status=202
    )
