"""Treatment's HTTP API as the gateway calls it: the bodies' lists, one request, the focal
point's actions and documents (on behalf of a staff member, whose role and body treatment checks
itself), and what a citizen who gave the right code and email may read. Answers are
``(status, JSON body)``; anything but JSON, or no answer, raises ``ServiceUnavailable``.

Sections below belong to the pages that use them (lists, one request and its actions, the
citizen's reading); add a call to its section, spell treatment's paths and fields only here."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import quote

import aiohttp
from aiohttp import web

from gateway.clients.transport import STREAMED_FILE, Services, ServiceUnavailable
from shared import french
from shared.identity import Identity

log = logging.getLogger(__name__)

SERVICE = "treatment"

Answer = tuple[int, Any]


class Treatment:
    def __init__(self, services: Services) -> None:
        self.services = services

    async def _json(
        self,
        method: str,
        path: str,
        *,
        identity: Identity | None,
        json: Any = None,
        params: Any = None,
    ) -> Answer:
        return await self.services.call(
            method, SERVICE, path, json=json, params=params, identity=identity, json_only=True
        )

    # -- « Rappels »: the administrator's policy of the clock's reminders (reminder_pages) --------

    async def reminder_settings(self, *, identity: Identity) -> Answer:
        """``{not_taken_days, in_progress_days, before_due_days, repeat_days, updated_by,
        updated_at}``."""
        return await self._json("GET", "/reminders/settings", identity=identity)

    async def set_reminder_settings(self, values: dict[str, Any], *, identity: Identity) -> Answer:
        """200 with the policy kept; 422 with ``errors: [{field, code, message}]``."""
        return await self._json("PUT", "/reminders/settings", json=values, identity=identity)

    # -- the bodies' lists (« En cours », « Retraitement », « Insatisfaits », « Consultations ») --

    async def requests(self, view: str, *, identity: Identity, params: dict[str, str]) -> Answer:
        """``{"total", "limit", "offset", "items"}``: one page of a body's ``view``."""
        return await self._json(
            "GET", "/requests", params={"view": view, **params}, identity=identity
        )

    @contextlib.asynccontextmanager
    async def requests_csv(
        self, view: str, *, identity: Identity, params: dict[str, str]
    ) -> AsyncIterator[aiohttp.ClientResponse | None]:
        """Every row of a body's ``view`` (the same ``params`` but the page) as treatment's CSV,
        open for reading; None when treatment refused. Raises ServiceUnavailable."""
        try:
            async with self.services.request(
                "GET",
                SERVICE,
                "/requests/export.csv",
                params={"view": view, **params},
                identity=identity,
                # A long export keeps coming: only a silence of a minute is a failure.
                timeout=aiohttp.ClientTimeout(total=None, sock_read=60),
            ) as resp:
                yield resp if resp.status == 200 else None
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise ServiceUnavailable(SERVICE) from exc

    # -- one request and the focal point's actions on it ------------------------------------------

    async def audit(self, params: dict[str, str], *, identity: Identity) -> Answer:
        """``{"total", "items"}``: treatment's audit lines (``shared.audit.listing``'s filters)."""
        return await self._json("GET", "/audit", params=params, identity=identity)

    async def item(self, code: str, *, identity: Identity) -> Answer:
        """One request with its history, answers and what the caller may do; 404 if none (or
        another body's)."""
        return await self._json("GET", f"/requests/{code}", identity=identity)

    async def act(
        self, code: str, action: str, fields: dict[str, Any], *, identity: Identity
    ) -> Answer:
        """``action`` (treatment's word: take, hold, resume, reassign, answer, answer-again, tag)
        on ``code``; 409 with ``error`` (modified, not_allowed, already_assigned), 422 with
        ``errors``."""
        return await self._json(
            "POST", f"/requests/{code}/{action}", json=fields, identity=identity
        )

    async def upload_document(
        self, code: str, filename: str, data: bytes, *, identity: Identity
    ) -> Answer:
        """Keep a document (PDF, JPEG, PNG, 5 Mo) for the answer being written: 201
        ``{document_id, filename, content_type, size}``, named then in the answer's
        ``document_ids``; 422 ``document`` when treatment refuses the file; 404."""

        async def chunks() -> AsyncIterator[bytes]:
            yield data

        try:
            # Sent as a stream (signed UNSIGNED-STREAM, shared/signing.py), as treatment reads it.
            async with self.services.request(
                "POST",
                SERVICE,
                f"/requests/{code}/documents",
                params={"filename": filename[:1000]},
                stream=chunks(),
                identity=identity,
                headers={"Content-Type": "application/octet-stream"},
            ) as resp:
                if resp.content_type != "application/json":
                    raise ServiceUnavailable(SERVICE)
                return resp.status, await resp.json()
        except (aiohttp.ClientError, TimeoutError) as exc:
            log.warning("treatment unavailable: %r", exc)
            raise ServiceUnavailable(SERVICE) from exc

    def document(
        self, document_id: str, *, identity: Identity
    ) -> contextlib.AbstractAsyncContextManager[aiohttp.ClientResponse]:
        """A document of an answer, open for streaming (treatment checks the role and the
        body: 404 to another body); aiohttp's errors pass through."""
        return self.services.request(
            "GET",
            SERVICE,
            f"/documents/{document_id}",
            identity=identity,
            timeout=STREAMED_FILE,
        )

    # -- the ministry API's feed (gateway.public_api.ministry) ------------------------------------

    async def changes(self, *, identity: Identity, after: str, limit: int) -> Answer:
        """``{"items", "next"}``: history lines of the caller's body after the cursor ``after``
        (empty: from the start); 400 ``invalid_query`` for a cursor treatment did not give."""
        params = {"limit": str(limit), **({"after": after} if after else {})}
        return await self._json("GET", "/changes", params=params, identity=identity)

    # -- the deadline policy (« Délais », administrators only) -----------------------------------

    async def deadlines(self, *, identity: Identity) -> Answer:
        """``{revision, defaults, rules, days_off, holidays}``: the values set per kind
        (admissibility, answer, opinion) and nature, and per body; the days declared off; the
        next public holidays."""
        return await self._json("GET", "/deadlines", identity=identity)

    async def set_deadline(
        self,
        *,
        kind: str,
        nature: str,
        body_id: str | None,
        days: Any,
        identity: Identity,
    ) -> Answer:
        """Set a value (``days`` None: remove it; 404 when no such value is set); 422 ``errors``
        on ``days`` (not_an_integer, too_small, negative, too_large,
        answer_shorter_than_admissibility) or ``kind``."""
        fields = {"kind": kind, "nature": nature, "body_id": body_id, "days": days}
        return await self._json("PUT", "/deadlines/rules", json=fields, identity=identity)

    async def declare_day_off(self, day: str, label: str, *, identity: Identity) -> Answer:
        """201; 422 ``errors`` on ``day`` (invalid_date, already_declared) or ``label``."""
        return await self._json(
            "POST", "/deadlines/days-off", json={"day": day, "label": label}, identity=identity
        )

    async def remove_day_off(self, day: str, *, identity: Identity) -> Answer:
        """200; 404 when that day was not declared; 422 for a day that is no date."""
        return await self._json(
            "DELETE", f"/deadlines/days-off/{quote(day, safe='')}", identity=identity
        )

    # -- what a citizen reads (the gateway checked the code and the email with intake first) ----

    async def opinion_until(self, code: str) -> Answer:
        """``{"opinion_until"}``: until when the citizen's opinion on the answer to ``code`` is
        awaited (an ISO day or moment; None: none awaited); 404 for an unknown code. No staff
        identity: the gateway checked the code and the email with intake."""
        return await self._json(
            "GET", "/citizen/opinion-until", params={"code": code}, identity=None
        )

    async def opinion_until_day(self, view: dict) -> str:
        """« jusqu'au … » of intake's tracking ``view``: until when the opinion is awaited
        (treatment's clock; intake's view does not know it), in French; "" when no opinion is
        asked for or treatment does not answer — the form is there all the same."""
        if not view.get("can_give_opinion"):
            return ""
        try:
            status, body = await self.opinion_until(view["code"])
        except ServiceUnavailable:
            return ""
        if status != 200 or not isinstance(body, dict):
            return ""
        return french.until(body.get("opinion_until"))

    def citizen_document(
        self, document_id: str, code: str
    ) -> contextlib.AbstractAsyncContextManager[aiohttp.ClientResponse]:
        """A document of an answer sent on the request ``code``, open for streaming (no staff
        identity: the gateway checked the code and the email with intake); 404 otherwise.
        aiohttp's errors pass through."""
        return self.services.request(
            "GET",
            SERVICE,
            f"/citizen/documents/{quote(document_id, safe='')}",
            params={"code": code},
            timeout=STREAMED_FILE,
        )


TREATMENT = web.AppKey("treatment", Treatment)
