"""Intake's HTTP API as the gateway calls it: its paths, parameters and JSON field names, here
only. Every method answers ``(status, JSON body)`` as the service gave it (the page decides what a
status means) and raises ``ServiceUnavailable`` when intake does not answer."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import quote

import aiohttp
from aiohttp import web

from gateway.clients.transport import STREAMED_FILE, Services, ServiceUnavailable
from shared.identity import Identity
from shared.messages import Channel

log = logging.getLogger(__name__)

SERVICE = "intake"


def contact_fields(contact: str) -> dict[str, str]:
    """The tracking look-up's ``email`` or ``phone`` field for what the citizen typed: an
    address has an "@", a mobile number never does."""
    return {"email": contact} if "@" in contact else {"phone": contact}


# How the code reaches the citizen (intake's ``told_by``, in the answer to a submission and in a
# submitted draft): by email, by SMS (a mobile number), both, or neither.
MEDIA = ("email", "sms")


def told_by(value: object) -> list[str]:
    """Intake's ``told_by`` as a page may trust it: known media only, in ``MEDIA``'s order."""
    said = value if isinstance(value, list) else []
    return [m for m in MEDIA if m in said]


def _on_behalf(operator: Identity | None) -> dict[str, Any]:
    """The signed call's identity and channel when an operator asks for a caller."""
    return {"identity": operator, "channel": Channel.PHONE.value} if operator is not None else {}


# The draft's owner (a keyed hash of the browser's form cookie), signed into each draft call.
OWNER_HEADER = "X-Draft-Owner"

Answer = tuple[int, Any]


class Intake:
    def __init__(self, services: Services) -> None:
        self.services = services

    async def _call(self, method: str, path: str, **kwargs: Any) -> Answer:
        return await self.services.call(method, SERVICE, path, **kwargs)

    # --- submitting ------------------------------------------------------------------------

    async def submit(
        self,
        fields: Any,
        *,
        identity: Identity | None = None,
        channel: str | None = None,
    ) -> Answer:
        """A request: the JSON API's body as sent, or the call centre's form's fields
        (``channel`` phone, on behalf of ``identity``)."""
        return await self._call(
            "POST", "/requests", json=fields, identity=identity, channel=channel
        )

    def drafts(self, owner: str) -> Drafts:
        """The draft endpoints for the browser whose draft owner is ``owner``."""
        return Drafts(self.services, owner)

    # --- the catalogue ----------------------------------------------------------------------

    async def bodies(self) -> Answer:
        """``{"bodies": [{"id", "name", …}]}``: every active public body."""
        return await self._call("GET", "/catalogue/bodies")

    async def search_bodies(self, q: str, page: int, per_page: int) -> Answer:
        """``{"bodies", "total"}``: one page of the bodies whose name matches ``q``."""
        params = {"q": q, "page": str(page), "per_page": str(per_page)}
        return await self._call("GET", "/catalogue/bodies", params=params)

    async def body(self, body_id: str) -> Answer:
        """``{"body", "themes"}`` of one active body; 404 when there is none."""
        return await self._call("GET", f"/catalogue/bodies/{body_id}")

    async def themes(self, body_id: str | None = None) -> Answer:
        """``{"themes": [{"id", "parent_id", …}]}``: every active theme, or those offered for
        ``body_id``."""
        params = {"body_id": body_id} if body_id else None
        return await self._call("GET", "/catalogue/themes", params=params)

    async def places(self) -> Answer:
        """``{"places": [{"id", "name", "region"}]}``."""
        return await self._call("GET", "/catalogue/places")

    # --- the catalogue's administration (administrators' identity) ---------------------------
    # ``kind`` is "bodies", "themes" or "places"; ``row_id`` one of the catalogue's identifiers
    # (the caller checks it against gateway.clients.catalogue.CATALOGUE_ID first).

    # --- the configuration table (administrators) --------------------------------------------

    async def config(self, *, identity: Identity) -> Answer:
        """Every setting of intake's configuration table (``services/intake/limits.py``)."""
        return await self._call("GET", "/config", identity=identity)

    async def change_config(self, values: dict[str, Any], *, identity: Identity) -> Answer:
        """200 with every setting; 422 naming the refused one."""
        return await self._call("PUT", "/config", json=values, identity=identity)

    async def catalogue_everything(self, *, identity: Identity) -> Answer:
        """``{"bodies", "themes", "places", "body_themes"}``, the retired rows too."""
        return await self._call("GET", "/catalogue/admin", identity=identity)

    async def catalogue_create(self, kind: str, fields: dict, *, identity: Identity) -> Answer:
        """201 with the row; 409 when its id is taken; 422 with field errors."""
        return await self._call("POST", f"/catalogue/{kind}", json=fields, identity=identity)

    async def catalogue_update(
        self, kind: str, row_id: str, fields: dict, *, identity: Identity
    ) -> Answer:
        """200 with the row (only ``fields`` change); 404; 422 with field errors."""
        return await self._call(
            "PATCH", f"/catalogue/{kind}/{quote(row_id)}", json=fields, identity=identity
        )

    # --- the citizen's tracking: code and email or mobile number, throttled by intake --------
    #
    # ``contact``: what the citizen typed in « Adresse e-mail ou numéro de mobile »: sent to
    # intake as ``email`` when it holds an "@", as ``phone`` otherwise (see contact_fields).
    # ``operator``: the call centre's operator who asks for a caller (« Suivi d'un appel »):
    # signed into the call with the channel ``phone``; intake counts its limits per operator and
    # records a reply as given by telephone.

    async def track(self, code: str, contact: str, *, operator: Identity | None = None) -> Answer:
        payload = {"code": code, **contact_fields(contact)}
        return await self._call("POST", "/tracking", json=payload, **_on_behalf(operator))

    async def rewrite(self, code: str, contact: str, message: str) -> Answer:
        """The request rewritten after « reformulation demandée »."""
        payload = {"code": code, **contact_fields(contact), "message": message}
        return await self.rewrite_as_sent(payload)

    async def remind_codes(self, contact: str) -> Answer:
        """« Code oublié »: the codes sent again to ``contact``, by email or by SMS (202 whether
        any or none)."""
        return await self.remind_codes_as_sent(contact_fields(contact))

    async def give_opinion(
        self,
        code: str,
        email: str,
        opinion: str,
        comment: str | None = None,
        *,
        operator: Identity | None = None,
    ) -> Answer:
        """The citizen's opinion of the body's answer (satisfied, partly_satisfied,
        not_satisfied): 202 ``{message, view}``; 409 ``{error, message, view}`` (not_answered,
        already_given, already_reopened, closed); 422 ``{errors, view}``."""
        payload = {"code": code, **contact_fields(email), "opinion": opinion, "comment": comment}
        return await self._call("POST", "/tracking/opinion", json=payload, **_on_behalf(operator))

    async def reopen(
        self, code: str, email: str, message: str, *, operator: Identity | None = None
    ) -> Answer:
        """« Relancer »: the request reopened for a new treatment; answers as ``give_opinion``."""
        payload = {"code": code, **contact_fields(email), "message": message}
        return await self._call("POST", "/tracking/reopen", json=payload, **_on_behalf(operator))

    async def api_schemas(self) -> Answer:
        """The JSON Schemas of what /api/v1 takes (submission, tracking) and what intake answers
        it, keyed by model name, referencing each other as ``#/components/schemas/…``."""
        return await self._call("GET", "/api-schemas")

    async def open311_schemas(self) -> Answer:
        """The JSON Schemas of what intake answers Open311 (services, a definition, requests),
        keyed by model name, referencing each other as ``#/components/schemas/…``."""
        return await self._call("GET", "/api-schemas/open311")

    # The tracking API's bodies, passed on as the client sent them (intake checks them).
    async def track_as_sent(self, payload: Any) -> Answer:
        return await self._call("POST", "/tracking", json=payload)

    async def rewrite_as_sent(self, payload: Any) -> Answer:
        return await self._call("POST", "/tracking/rewrite", json=payload)

    async def give_opinion_as_sent(self, payload: Any) -> Answer:
        return await self._call("POST", "/tracking/opinion", json=payload)

    async def reopen_as_sent(self, payload: Any) -> Answer:
        return await self._call("POST", "/tracking/reopen", json=payload)

    async def remind_codes_as_sent(self, payload: Any) -> Answer:
        return await self._call("POST", "/tracking/codes-reminder", json=payload)

    def citizen_attachment(
        self, attachment_id: str, code: str
    ) -> contextlib.AbstractAsyncContextManager[aiohttp.ClientResponse]:
        """A file the citizen attached to the request ``code``, open for streaming (no staff
        identity: the gateway checked the code and the email with the look-up first); 404
        otherwise. aiohttp's errors pass through."""
        return self.services.request(
            "GET",
            SERVICE,
            f"/citizen/attachments/{quote(attachment_id, safe='')}",
            params={"code": code},
            timeout=STREAMED_FILE,
        )

    # --- staff ------------------------------------------------------------------------------

    def attachment(
        self, attachment_id: str, *, identity: Identity
    ) -> contextlib.AbstractAsyncContextManager[aiohttp.ClientResponse]:
        """A request's file, open for streaming (intake checks the role and the body); aiohttp's
        errors pass through."""
        return self.services.request(
            "GET",
            SERVICE,
            f"/attachments/{attachment_id}",
            identity=identity,
            timeout=STREAMED_FILE,
        )

    # --- Open311 GeoReport v2 -----------------------------------------------------------------

    async def open311_services(self) -> Answer:
        return await self._call("GET", "/open311/services")

    async def open311_service(self, service_code: str) -> Answer:
        return await self._call("GET", f"/open311/services/{quote(service_code, safe='')}")

    async def open311_submit(self, payload: dict[str, Any], *, channel_name: str) -> Answer:
        return await self._call(
            "POST", "/open311/requests", json=payload, channel_name=channel_name
        )

    async def open311_requests(self, params: dict[str, str], *, channel_name: str | None) -> Answer:
        return await self._call(
            "GET", "/open311/requests", params=params, channel_name=channel_name
        )

    async def open311_request(self, code: str, *, channel_name: str | None) -> Answer:
        path = f"/open311/requests/{quote(code, safe='')}"
        return await self._call("GET", path, channel_name=channel_name)


class Drafts:
    """Intake's draft endpoints, for one browser. The owner header is signed into each call."""

    def __init__(self, services: Services, owner: str) -> None:
        self.services = services
        self.owner = owner

    async def _call(self, method: str, path: str, json: Any = None) -> Answer:
        try:
            async with self.services.request(
                method, SERVICE, path, json=json, signed_headers={OWNER_HEADER: self.owner}
            ) as resp:
                if resp.content_type == "application/json":
                    return resp.status, await resp.json()
                return resp.status, {"error": "unexpected_answer"}
        except (aiohttp.ClientError, TimeoutError) as exc:
            log.warning("intake unavailable: %r", exc)
            raise ServiceUnavailable(SERVICE) from exc

    async def create(self, fields: dict | None = None) -> Answer:
        return await self._call("POST", "/drafts", {"fields": fields} if fields else {})

    async def get(self, draft_id: str) -> Answer:
        """The draft: its fields, files and summary; 404 when it is gone (or not this owner's)."""
        return await self._call("GET", f"/drafts/{draft_id}")

    async def save(self, draft_id: str, fields: dict[str, Any], remove_files: list[str]) -> Answer:
        return await self._call(
            "PUT", f"/drafts/{draft_id}", {"fields": fields, "remove_files": remove_files}
        )

    async def submit(
        self,
        draft_id: str,
        challenge: str | None = None,
        nonce: str | None = None,
        version: int | None = None,
    ) -> Answer:
        """« OK »: the draft becomes a request (once, however many times it is pressed).

        ``version``: the draft's version the confirmation page showed; 409 ``draft_changed``
        when the draft changed since. ``challenge``/``nonce``: the proof of work the page asked
        for (a 428 answer, past the suspicion threshold of the citizen's address); a 429 is a
        submission limit passed."""
        sent: dict[str, Any] = {}
        if version is not None:
            sent["version"] = version
        if challenge is not None:
            sent["proof"] = {"challenge": challenge[:200], "nonce": (nonce or "")[:32]}
        return await self._call("POST", f"/drafts/{draft_id}/submit", sent or None)

    async def rewrite(self, code: str, contact: str, message: str, draft_id: str | None) -> Answer:
        """« Modifier » after a reformulation request, with the documents kept in ``draft_id``
        (this owner's): as :meth:`Intake.rewrite`, the documents added to the request."""
        payload = {"code": code, **contact_fields(contact), "message": message}
        if draft_id:
            payload["draft_id"] = draft_id
        return await self._call("POST", "/tracking/rewrite", payload)

    async def send_file(
        self,
        draft_id: str,
        name: str,
        chunks: AsyncIterator[bytes],
        timeout: aiohttp.ClientTimeout,
    ) -> Answer:
        try:
            # Streamed as it comes from the browser: signed UNSIGNED-STREAM (shared/signing.py).
            async with self.services.request(
                "POST",
                SERVICE,
                f"/drafts/{draft_id}/files",
                params={"filename": name[:1000]},
                stream=chunks,
                signed_headers={OWNER_HEADER: self.owner},
                headers={"Content-Type": "application/octet-stream"},
                timeout=timeout,
            ) as resp:
                return resp.status, await resp.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            log.warning("intake unavailable: %r", exc)
            raise ServiceUnavailable(SERVICE) from exc


INTAKE = web.AppKey("intake", Intake)
