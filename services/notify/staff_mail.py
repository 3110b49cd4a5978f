"""The staff's emails: what reaches a body's focal points and the analysts (issue 13).

- request.validated: an **alert** to each active focal point of the body who chose
  ``alerts = 'immediate'``; the request is kept (``staff_new_requests``) for those who chose one
  digest a day (staff_digests.py);
- request.deadline_warning: the **reminder** to every active focal point of the body;
- request.reassigned: the **handing over** to the agent the request now belongs to (« Réaffecter »:
  without it the request changes hands in silence);
- request.deadline_missed: kept (``staff_late_requests``) for the analysts' daily mail;
  request.treated marks it answered (no longer late), in whichever order two copies of notify
  apply them (``staff_answers``).

Recipients are notify's ``staff_recipients`` (the gateway keeps them from its accounts). One
delivery per event and recipient: its ``about_message_id`` is derived from the event's id and the
account (:func:`about`), so with ``UNIQUE (about_message_id, medium)`` and the inbox a
redelivered event never sends an email twice. French, one column, links to the back office.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace

import asyncpg

from services.notify import emails, repository
from shared import french
from shared.consumer import Delivery, Handler
from shared.identity import is_api_key
from shared.messages import (
    ReminderKind,
    RequestDeadlineMissedV1,
    RequestDeadlineWarningV1,
    RequestReassignedV1,
    RequestTreatedV1,
    RequestValidatedV1,
)

FOCAL_POINT = "focal_point"
ANALYST = "analyst"
IMMEDIATE = "immediate"
DIGEST = "digest"
# The back office's pages the emails link to (gateway/backoffice).
REQUEST_PAGE = "/admin/requetes/{code}"
WAITING_PAGE = "/admin/traitements/en-cours"
LATE_PAGE = "/admin/traitements/en-retard"


@dataclass(frozen=True)
class Person:
    account_id: str
    email: str
    name: str
    body_id: str | None


def about(delivery: Delivery, account_id: str, what: str = "") -> Delivery:
    """The delivery to one account because of one message (or one daily mail): its own id, the
    same on every redelivery."""
    key = uuid.uuid5(delivery.message_id, f"{account_id}:{what}")
    return replace(delivery, message_id=key)


def back_office(public_url: str, path: str) -> str:
    return public_url.rstrip("/") + path


async def people(
    conn: asyncpg.Connection, role: str, body_id: str | None = None, alerts: str | None = None
) -> list[Person]:
    """The active staff of ``role`` (of ``body_id``, choosing ``alerts``) with an address."""
    rows = await conn.fetch(
        """SELECT account_id, email, display_name, login, body_id FROM staff_recipients
           WHERE active AND role = $1 AND email <> ''
             AND ($2::text IS NULL OR body_id = $2) AND ($3::text IS NULL OR alerts = $3)
           ORDER BY account_id""",
        role,
        body_id,
        alerts,
    )
    return [
        Person(r["account_id"], r["email"], r["display_name"] or r["login"], r["body_id"])
        for r in rows
    ]


async def person(conn: asyncpg.Connection, account_id: str) -> Person | None:
    """The active account ``account_id`` with an address, None otherwise."""
    row = await conn.fetchrow(
        """SELECT account_id, email, display_name, login, body_id FROM staff_recipients
           WHERE account_id = $1 AND active AND email <> ''""",
        account_id,
    )
    if row is None:
        return None
    return Person(
        row["account_id"], row["email"], row["display_name"] or row["login"], row["body_id"]
    )


async def _send(
    conn: asyncpg.Connection,
    delivery: Delivery,
    request_id: uuid.UUID | None,
    to: list[Person],
    mail,
    what: str = "",
) -> None:
    for person in to:
        await repository.add_delivery(
            conn,
            repository.NewDelivery.email(
                about(delivery, person.account_id, what),
                request_id,
                person.email,
                person.name,
                mail(person.name),
            ),
        )


# --- the emails ----------------------------------------------------------------------------------


def new_request(event: RequestValidatedV1, name: str, public_url: str) -> emails.Email:
    label = event.nature.label
    return emails.letter(
        f"Miliê — nouvelle requête n° {event.code} pour {event.body_name}",
        name,
        [
            f"Une nouvelle requête est arrivée pour {event.body_name} le "
            f"{french.day(event.decided_at)} : {label} n° {event.code}"
            + (f", thème « {event.theme_label} »." if event.theme_label else "."),
            (
                "link",
                "Consultez-la dans l'espace de traitement :",
                back_office(public_url, REQUEST_PAGE.format(code=event.code)),
            ),
        ],
    )


def reminder(event: RequestDeadlineWarningV1, name: str, public_url: str) -> emails.Email:
    label, code = event.nature.label, event.code
    since = french.day(event.validated_at)
    if event.kind == ReminderKind.NOT_TAKEN:
        subject = f"Miliê — rappel : requête n° {code} à prendre en compte"
        said = (
            f"La requête n° {code} ({label}), transmise à {event.body_name} le {since}, n'a "
            "encore été prise en compte par aucun agent."
        )
    elif event.kind == ReminderKind.IN_PROGRESS:
        subject = f"Miliê — rappel : requête n° {code} toujours sans réponse"
        said = (
            f"La requête n° {code} ({label}), transmise à {event.body_name} le {since}, est "
            "prise en compte mais attend toujours sa réponse."
        )
    else:
        due = french.day(event.answer_due) if event.answer_due else ""
        subject = f"Miliê — rappel : réponse à la requête n° {code} attendue le {due}"
        said = (
            f"La réponse à la requête n° {code} ({label}), transmise à {event.body_name} le "
            f"{since}, est attendue au plus tard le {due}."
        )
    paragraphs: list[emails.Paragraph] = [said]
    if event.answer_due and event.kind != ReminderKind.ANSWER_DUE:
        paragraphs.append(f"Réponse attendue au plus tard le {french.day(event.answer_due)}.")
    paragraphs.append(
        (
            "link",
            "Traitez-la dans l'espace de traitement :",
            back_office(public_url, REQUEST_PAGE.format(code=code)),
        )
    )
    return emails.letter(subject, name, paragraphs)


def handed_over(event: RequestReassignedV1, name: str, by: str, public_url: str) -> emails.Email:
    code = event.code
    return emails.letter(
        f"Miliê — la requête n° {code} vous est réaffectée",
        name,
        [
            f"{by} vous a réaffecté la requête n° {code} le {french.day(event.reassigned_at)} : "
            "elle est désormais la vôtre.",
            (
                "link",
                "Traitez-la dans l'espace de traitement :",
                back_office(public_url, REQUEST_PAGE.format(code=code)),
            ),
        ],
    )


# --- the handlers --------------------------------------------------------------------------------


def handlers(public_url: str) -> dict[str, Handler]:
    """Message type → handler, merged into notify's registry (``handlers.make_handlers``; the
    ones of request.validated and request.treated run after the citizen's)."""

    async def on_validated(
        conn: asyncpg.Connection, event: RequestValidatedV1, delivery: Delivery
    ) -> None:
        await conn.execute(
            """INSERT INTO staff_new_requests (request_id, code, nature, body_id, body_name,
                                               reached_at)
               VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (request_id) DO NOTHING""",
            event.request_id,
            event.code,
            event.nature.value,
            event.body_id,
            event.body_name,
            event.decided_at,
        )
        to = await people(conn, FOCAL_POINT, event.body_id, IMMEDIATE)
        await _send(
            conn,
            delivery,
            event.request_id,
            to,
            lambda name: new_request(event, name, public_url),
        )

    async def on_warning(
        conn: asyncpg.Connection, event: RequestDeadlineWarningV1, delivery: Delivery
    ) -> None:
        to = await people(conn, FOCAL_POINT, event.body_id)
        await _send(
            conn, delivery, event.request_id, to, lambda name: reminder(event, name, public_url)
        )

    async def on_reassigned(
        conn: asyncpg.Connection, event: RequestReassignedV1, delivery: Delivery
    ) -> None:
        if event.assignee_id == event.actor.staff_id:
            return  # taken back by the agent themselves: they know
        to = await person(conn, event.assignee_id)
        if to is None or to.body_id != event.body_id:
            return  # gone, without an address, or not of the body: nobody to tell
        giver = await conn.fetchval(
            "SELECT coalesce(nullif(display_name, ''), login) FROM staff_recipients"
            " WHERE account_id = $1",
            event.actor.staff_id,
        )
        if giver:
            by = giver
        elif is_api_key(event.actor.staff_id):  # the ministry API: no person of the directory
            # Named by its key's label (« clé d'API « SI Passeports » »), when the event says it.
            by = "Le système d'information de votre organisme"
            if event.actor_name:
                by += f" ({event.actor_name})"
        else:
            by = "Un agent de votre organisme"
        await _send(
            conn,
            delivery,
            event.request_id,
            [to],
            lambda name: handed_over(event, name, by, public_url),
        )

    async def on_missed(
        conn: asyncpg.Connection, event: RequestDeadlineMissedV1, delivery: Delivery
    ) -> None:
        # Answered already when the answer came after the miss (the clock publishes a miss
        # only for a request unanswered then), and another copy of notify applied it first; an
        # answer before the miss (the one a reopening undid) does not count.
        await conn.execute(
            """INSERT INTO staff_late_requests (request_id, answer_due, code, nature, body_id,
                                                body_name, missed_at, answered_at)
               VALUES ($1, $2, $3, $4, $5, $6, $7,
                       (SELECT answered_at FROM staff_answers
                        WHERE request_id = $1 AND answered_at >= $7))
               ON CONFLICT DO NOTHING""",
            event.request_id,
            event.answer_due,
            event.code,
            event.nature.value,
            event.body_id,
            event.body_name,
            event.missed_at,
        )

    async def on_treated(
        conn: asyncpg.Connection, event: RequestTreatedV1, delivery: Delivery
    ) -> None:
        await conn.execute(
            """UPDATE staff_late_requests SET answered_at = $2
               WHERE request_id = $1 AND answered_at IS NULL""",
            event.request_id,
            event.treated_at,
        )
        await conn.execute(
            """INSERT INTO staff_answers (request_id, answered_at) VALUES ($1, $2)
               ON CONFLICT (request_id) DO UPDATE
               SET answered_at = GREATEST(staff_answers.answered_at, EXCLUDED.answered_at)""",
            event.request_id,
            event.treated_at,
        )

    return {
        RequestValidatedV1.type_name(): on_validated,
        RequestDeadlineWarningV1.type_name(): on_warning,
        RequestReassignedV1.type_name(): on_reassigned,
        RequestDeadlineMissedV1.type_name(): on_missed,
        RequestTreatedV1.type_name(): on_treated,
    }


def both(first: Handler, second: Handler) -> Handler:
    """One registry entry for two handlers of one message, in one transaction."""

    async def handle(conn: asyncpg.Connection, event, delivery: Delivery) -> None:
        await first(conn, event, delivery)
        await second(conn, event, delivery)

    return handle
