"""The notify service's HTTP API as the gateway calls it: the delivery log (back office), and the
staff directory and staff emails (``staff.notify_outbox`` relays them)."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from gateway.clients.transport import Services
from shared.identity import Identity

SERVICE = "notify"


class Notify:
    def __init__(self, services: Services) -> None:
        self.services = services

    async def deliveries(self, request_id: str, *, identity: Identity) -> tuple[int, Any]:
        """The emails and SMS sent (or failed) about one request: a JSON list."""
        return await self.services.call(
            "GET", SERVICE, "/deliveries", params={"request_id": request_id}, identity=identity
        )

    async def put_staff_recipient(self, account_id: str, recipient: dict) -> tuple[int, Any]:
        """``PUT /staff/recipients/<account_id>``: the account as notify may email it
        (login, display_name, email, role, body_id, alerts, active, changed_at); idempotent,
        and an older state never overwrites a newer one. Raises ServiceUnavailable."""
        return await self.services.call(
            "PUT", SERVICE, f"/staff/recipients/{account_id}", json=recipient, json_only=True
        )

    async def send_staff_message(self, message: dict) -> tuple[int, Any]:
        """``POST /staff/messages``: an email to a staff member of notify's directory
        (message_id, account_id, kind, link, expires_at); the same message_id twice sends one
        email. Raises ServiceUnavailable."""
        return await self.services.call(
            "POST", SERVICE, "/staff/messages", json=message, json_only=True
        )


NOTIFY = web.AppKey("notify", Notify)
