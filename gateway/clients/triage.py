"""Triage's HTTP API as the back office calls it: the analysts' queue, one request, a decision,
the queue's CSV. Every call is on behalf of a staff member (``identity``), whose role and body
triage checks itself. Answers are ``(status, JSON body)``; anything but JSON, or no answer,
raises ``ServiceUnavailable``."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date
from typing import Any

import aiohttp
from aiohttp import web

from gateway.clients.transport import Services, ServiceUnavailable
from shared.identity import Identity

log = logging.getLogger(__name__)

SERVICE = "triage"

Answer = tuple[int, Any]

# Triage's sort keys for the queue.
SORT_KEYS = ("queued", "deadline", "code", "nature", "body", "theme", "channel", "status")


@dataclass(frozen=True)
class QueueQuery:
    """What a list of the queue asks of triage: words, sort, filters. A filter left empty is not
    sent; its field names are triage's (its 400 answer names a refused one the same way)."""

    words: str = ""
    sort: str = "queued"  # one of SORT_KEYS
    descending: bool = False
    body_id: str = ""
    nature: str = ""
    theme_id: str = ""
    channel: str = ""
    place_id: str = ""
    status: str = ""  # a queue status, "all", or empty: waiting
    overdue: bool = False
    submitted_from: date | None = None  # the period, when one was chosen
    submitted_to: date | None = None

    def params(self) -> dict[str, str]:
        params = {
            "q": self.words,
            "sort": self.sort,
            "order": "desc" if self.descending else "asc",
            "body_id": self.body_id,
            "nature": self.nature,
            "theme_id": self.theme_id,
            "channel": self.channel,
            "place_id": self.place_id,
            "status": self.status,
            "overdue": "true" if self.overdue else "",
            "from": self.submitted_from.isoformat() if self.submitted_from else "",
            "to": self.submitted_to.isoformat() if self.submitted_to else "",
        }
        return {k: v for k, v in params.items() if v}


# The fields of QueueQuery that filter the list.
FILTER_FIELDS = ("body_id", "nature", "theme_id", "channel", "place_id", "status")


class Triage:
    def __init__(self, services: Services) -> None:
        self.services = services

    async def _json(
        self,
        method: str,
        path: str,
        *,
        identity: Identity,
        json: Any = None,
        params: Any = None,
    ) -> Answer:
        return await self.services.call(
            method, SERVICE, path, json=json, params=params, identity=identity, json_only=True
        )

    async def queue(
        self,
        query: QueueQuery | None,
        *,
        identity: Identity,
        limit: int,
        offset: int | None = None,
    ) -> Answer:
        """``{"items", "total"}``: one page of the queue as ``query`` asks (None: triage's
        default, the requests waiting); 400 with ``errors`` naming a filter it refused."""
        params = query.params() if query is not None else {}
        params["limit"] = str(limit)
        if offset is not None:
            params["offset"] = str(offset)
        return await self._json("GET", "/queue", params=params, identity=identity)

    async def item(self, code: str, *, identity: Identity, contact: bool = True) -> Answer:
        """One request as the analysts see it (contact, history, ``version``); 404 if none.
        Its reading is in triage's audit log, unless ``contact`` is False (left out: only
        whether the request is there)."""
        params = None if contact else {"contact": "0"}
        return await self._json("GET", f"/queue/{code}", identity=identity, params=params)

    async def audit(self, params: dict[str, str], *, identity: Identity) -> Answer:
        """``{"total", "items"}``: triage's audit lines (``shared.audit.listing``'s filters)."""
        return await self._json("GET", "/audit", params=params, identity=identity)

    async def decide(
        self,
        code: str,
        action: str,
        message: str,
        *,
        identity: Identity,
        version: int | None = None,
        reindex_to: tuple[str, str | None] | None = None,
    ) -> Answer:
        """A decision on ``code`` (``action``: triage's word for it). ``version``: the one the
        analyst saw (409 if another decided since); ``reindex_to``: (body, theme or None)."""
        body: dict[str, Any] = {"message": message}
        if version is not None:
            body["version"] = version
        if reindex_to is not None:
            body["body_id"], body["theme_id"] = reindex_to
        return await self._json("POST", f"/queue/{code}/{action}", json=body, identity=identity)

    @contextlib.asynccontextmanager
    async def export_csv(
        self, query: QueueQuery, *, identity: Identity
    ) -> AsyncIterator[aiohttp.ClientResponse | None]:
        """The queue's CSV for ``query``, every page, open for reading; None when triage refused.
        Raises ServiceUnavailable."""
        try:
            async with self.services.request(
                "GET",
                SERVICE,
                "/queue/export.csv",
                params=query.params(),
                identity=identity,
                # A long export keeps coming: only a silence of a minute is a failure.
                timeout=aiohttp.ClientTimeout(total=None, sock_read=60),
            ) as resp:
                yield resp if resp.status == 200 else None
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise ServiceUnavailable(SERVICE) from exc

    # --- ready-made reasons (issue 12) ---------------------------------------------------------

    async def reasons(
        self, *, identity: Identity, kind: str = "", only_active: bool = False
    ) -> Answer:
        """``{"items": [{id, kind, label, text, position, active, ...}]}``."""
        params = {
            k: v for k, v in {"kind": kind, "active": "1" if only_active else ""}.items() if v
        }
        return await self._json("GET", "/reasons", params=params, identity=identity)

    async def create_reason(self, fields: dict[str, Any], *, identity: Identity) -> Answer:
        """201 with the new reason; 422 with the faulty fields (administrators)."""
        return await self._json("POST", "/reasons", json=fields, identity=identity)

    async def edit_reason(
        self, reason_id: int, fields: dict[str, Any], *, identity: Identity
    ) -> Answer:
        """200 with the reason; 404; 422 with the faulty fields (administrators)."""
        return await self._json("PUT", f"/reasons/{reason_id}", json=fields, identity=identity)


TRIAGE = web.AppKey("triage", Triage)
