"""The analysts' queue: the list of requests to examine, searchable and sorted, and its
exports (CSV, .xlsx)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import tempfile
from urllib.parse import urlencode

import aiohttp
from aiohttp import web

from gateway.backoffice import access, shell
from gateway.backoffice.triage.common import (
    BASE,
    STAFF,
    catalogue_choices,
    deadline_of,
    unavailable,
)
from gateway.clients.transport import ServiceUnavailable
from gateway.clients.triage import TRIAGE, QueueQuery
from gateway.web import downloads, phones, xlsx
from gateway.web.listing import Listing, listing_of
from shared import french, lifecycle, purge
from shared.lifecycle import QueueStatus
from shared.messages import NATURE_LABELS, Nature

log = logging.getLogger(__name__)
routes = web.RouteTableDef()

PER_PAGE = 25

# The list's sort keys (in the address) → triage's (clients.triage.SORT_KEYS).
SORTS = {
    "depot": "queued",
    "echeance": "deadline",
    "code": "code",
    "nature": "nature",
    "organisme": "body",
    "theme": "theme",
    "canal": "channel",
    "statut": "status",
}
# The queue's filter: waiting (the default, no parameter), each decision, or every status.
STATUS_CHOICES = [
    ("", lifecycle.ANALYST_FILTERS[QueueStatus.WAITING]),
    *(
        (s.value, label)
        for s, label in lifecycle.ANALYST_FILTERS.items()
        if s != QueueStatus.WAITING
    ),
    ("all", "Tous les statuts"),
]
CHANNEL_CHOICES = [
    ("web", "Portail Miliê"),
    ("phone", "Téléphone (centre d'appels)"),
    ("api", "API"),
    ("broker", "Autre canal de l'État"),
    ("open311", "Open311"),
]
# The list's filters: address parameter → the query's field (clients.triage.FILTER_FIELDS).
FILTERS = {
    "organisme": "body_id",
    "nature": "nature",
    "theme": "theme_id",
    "canal": "channel",
    "lieu": "place_id",
    "statut": "status",
}


def _listing(request: web.Request) -> Listing:
    return listing_of(request, SORTS, "depot", per_page=PER_PAGE)


def _query(request: web.Request, listing: Listing) -> QueueQuery:
    """What the address asks of triage's queue."""
    period = shell.period_of(request)
    filters = {field: request.query.get(ours, "").strip()[:100] for ours, field in FILTERS.items()}
    return QueueQuery(
        words=listing.words,
        sort=SORTS[listing.sort],
        descending=listing.descending,
        overdue=request.query.get("retard") == "1",
        # The period is a filter on the submission date only when chosen: a queue shows every
        # request still waiting, whenever it came.
        submitted_from=period.start if period.explicit else None,
        submitted_to=period.end if period.explicit else None,
        **filters,
    )


def _exact_code(words: str) -> str | None:
    """The search is one request's code (« 5030529490 », « 503 052 9490 »): that code."""
    digits = "".join(words.split())
    return digits if len(digits) == 10 and digits.isdigit() and digits.isascii() else None


@routes.get(BASE, name="bo-traitements")
@access.staff_required(*STAFF)
async def queue_page(request: web.Request) -> web.Response:
    listing = _listing(request)
    if code := _exact_code(listing.words):
        # Searching an exact code opens that request, whatever its status and the filters.
        try:
            found, _ = await request.app[TRIAGE].item(
                code, identity=access.staff_identity(request), contact=False
            )
        except ServiceUnavailable:
            return await unavailable(request)
        if found == 200:
            back = listing.url(q="", page="")
            raise web.HTTPSeeOther(f"{BASE}/{code}?{urlencode({'retour': back})}")
    try:
        status, found = await request.app[TRIAGE].queue(
            _query(request, listing),
            identity=access.staff_identity(request),
            limit=PER_PAGE,
            offset=listing.offset,
        )
    except ServiceUnavailable:
        return await unavailable(request)
    errors: dict[str, str] = {}
    if status == 400:
        # A hand-edited address: say which criterion is wrong, show the unfiltered first page.
        names = {v: k for k, v in FILTERS.items()}
        for e in found.get("errors", []):
            errors[names.get(e["field"], e["field"])] = (
                "Valeur inconnue : choisissez dans la liste."
            )
        try:
            status, found = await request.app[TRIAGE].queue(
                None, identity=access.staff_identity(request), limit=PER_PAGE
            )
        except ServiceUnavailable:
            return await unavailable(request)
    if status != 200:
        return await unavailable(request)
    items = found["items"]
    for item in items:
        item["waiting"] = item["status"] == QueueStatus.WAITING
        item["deadline_text"] = deadline_of(item)
        item["contact_line"] = phones.contact_line(item["contact"])
        if item.get("purged_at"):  # the milestones stay; the message says when it went
            item["message"] = purge.purged_on(item["purged_at"])
        item["submitted_day"] = french.day(item["submitted_at"])
    period = shell.period_of(request)
    return await shell.render(
        request,
        "backoffice/triage_queue.html",
        {
            "title": "Requêtes à examiner",
            "listing": listing,
            "items": items,
            "total": found["total"],
            "filters": {k: request.query.get(k, "") for k in (*FILTERS, "retard")},
            "errors": errors,
            "natures": [(n.value, NATURE_LABELS[n]) for n in Nature],
            "statuses": STATUS_CHOICES,
            "channels": CHANNEL_CHOICES,
            "period_applies": period.explicit,
            **(await catalogue_choices(request)),
        },
    )


def _triage_csv(
    request: web.Request,
) -> contextlib.AbstractAsyncContextManager[aiohttp.ClientResponse | None]:
    """Triage's CSV of what the address asks, open for reading; None when triage refused.
    Raises ServiceUnavailable."""
    query = _query(request, _listing(request))
    return request.app[TRIAGE].export_csv(query, identity=access.staff_identity(request))


async def _refused(request: web.Request) -> web.StreamResponse:
    """Triage gave no export: a filter it refuses (a hand-edited ``statut=tous``) leads back to
    the queue with the same address, where the message stands beside that filter; otherwise
    « Service indisponible »."""
    listing = _listing(request)
    try:
        status, _ = await request.app[TRIAGE].queue(
            _query(request, listing), identity=access.staff_identity(request), limit=1
        )
    except ServiceUnavailable:
        return await unavailable(request)
    if status == 400:
        raise web.HTTPSeeOther(listing.url(BASE, page=""))
    return await unavailable(request)


CSV_FILE = "requetes-milie.csv"


@routes.get(f"{BASE}/export.csv", name="bo-traitements-csv")
@access.staff_required(*STAFF)
async def export_csv(request: web.Request) -> web.StreamResponse:
    """The list, every page, as CSV: streamed from triage as it comes."""
    try:
        async with _triage_csv(request) as resp:
            if resp is None:
                return await _refused(request)
            return await downloads.relay(request, resp, downloads.csv_headers(CSV_FILE))
    except ServiceUnavailable:
        return await unavailable(request)


# Columns of triage's CSV that the workbook holds as dates (« 17/01/2019 14:32 ») and as numbers;
# the others stay text (a code or a phone number is not a number).
_DATE_COLUMNS = frozenset({"Soumise le", "Entrée dans la file le", "Échéance"})
_NUMBER_COLUMNS = frozenset({"Jours restants"})


@routes.get(f"{BASE}/export.xlsx", name="bo-traitements-xlsx")
@access.staff_required(*STAFF)
async def export_xlsx(request: web.Request) -> web.StreamResponse:
    """The same rows as a spreadsheet file (built from triage's CSV, on disk past 8 Mo)."""
    with (
        tempfile.SpooledTemporaryFile(max_size=8 * 1024**2) as source,
        tempfile.SpooledTemporaryFile(max_size=8 * 1024**2) as target,
    ):
        try:
            async with _triage_csv(request) as resp:
                if resp is None:
                    return await _refused(request)
                await downloads.spool(resp, source)
        except ServiceUnavailable:
            return await unavailable(request)
        await asyncio.to_thread(
            xlsx.from_csv, source, target, dates=_DATE_COLUMNS, numbers=_NUMBER_COLUMNS
        )
        return await xlsx.stream(request, "requetes-milie.xlsx", target)
