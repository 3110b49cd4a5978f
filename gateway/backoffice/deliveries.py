"""The messages sent to the citizen about a request (notify's delivery log), for the request's
page in the back office: each email or SMS, when, to whom, and whether it went out — or why it
could not (« Non envoyé — pas d'adresse email, et la plateforme n'envoie pas de SMS »).

Asked with the staff member's signed identity: notify itself lets only analysts and
administrators read the log, which names the citizen's email and phone number.
"""

from __future__ import annotations

from aiohttp import web

from gateway.clients.notify import NOTIFY
from gateway.clients.transport import ServiceUnavailable
from gateway.staff import auth
from gateway.web import phones
from shared import french

MEDIA = {"email": "Email", "sms": "SMS"}
STATUSES = {
    "pending": "En attente d'envoi",
    "sent": "Envoyé",
    "failed": "Échec de l'envoi",
    # Notify could not send it at all (no email, no SMS possible): why follows.
    "unsent": "Non envoyé",
}


def _status(row: dict) -> str:
    status = STATUSES.get(row["status"], row["status"])
    if row["status"] == "unsent" and row.get("last_error"):
        return f"{status} — {row['last_error']}"
    return status


def _recipient(row: dict) -> str:
    recipient = row.get("recipient") or ""
    return phones.telephone(recipient) if row["medium"] == "sms" and recipient else recipient


def lines(rows: list[dict]) -> list[dict[str, str]]:
    """What the page shows of each delivery, oldest first."""
    return [
        {
            "when": french.moment(r.get("sent_at") or r.get("failed_at") or r.get("created_at")),
            "medium": MEDIA.get(r["medium"], r["medium"]),
            "recipient": _recipient(r),
            "subject": r.get("subject") or "",
            "status": _status(r),
        }
        for r in rows
    ]


async def of_request(request: web.Request, request_id: str) -> list[dict[str, str]] | None:
    """The request's deliveries; None when notify does not answer (the page still shows)."""
    staff = auth.current_staff(request)
    assert staff is not None
    try:
        status, body = await request.app[NOTIFY].deliveries(request_id, identity=staff.identity)
    except ServiceUnavailable:
        return None
    return lines(body) if status == 200 and isinstance(body, list) else None
