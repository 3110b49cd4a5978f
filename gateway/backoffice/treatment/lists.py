"""The bodies' lists (after the guide, ../shared/seeds/000_*): « Traitements › En cours »,
« Retraitement », « Insatisfaits », and the focal point's « Consultations » (« Sans retour »,
« Satisfaits », each nature).

A focal point sees its own body's requests (treatment answers only those, whatever the address
asks); analysts and administrators read every body's, with an « Organisme » filter. Each list
has its search (a code, or words of the message or the contact), sorting, pages, the period
(when chosen: on the day the citizen submitted the request, as the dashboard's counters, so
that each card's figure is its list's total) and its « Exportation »: treatment's CSV with the
agents named (treatment knows logins), or the same rows as a workbook. The request's own page, with
its forms, is ``bo-pf-requete`` (``/admin/requetes/{code}``), built elsewhere: the lists link
to it.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import io
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import IO

import aiohttp
from aiohttp import web

from gateway.backoffice import access, shell
from gateway.backoffice.treatment.request import clarify_url
from gateway.clients import catalogue
from gateway.clients.transport import ServiceUnavailable
from gateway.clients.treatment import TREATMENT
from gateway.staff import accounts, auth
from gateway.web import downloads, phones, xlsx
from gateway.web.listing import Listing, listing_of
from shared import csv_cells, french, purge
from shared.identity import Role
from shared.lifecycle import BODY_LISTS, CONSULTATION_LISTS, LATE_LABEL, Status, deadline_text
from shared.service import POOL

routes = web.RouteTableDef()

READERS = (Role.FOCAL_POINT, Role.ANALYST, Role.ADMINISTRATOR)
PER_PAGE = 25
REQUEST_PAGE = "/admin/requetes/{code}"  # bo-pf-requete
# The list's sort keys (in the address) → treatment's.
SORTS = {
    "validation": "validated_at",
    "code": "code",
    "nature": "nature",
    "statut": "status",
    "echeance": "answer_due",  # « Échéance »: the answer's deadline
}
# The lists whose answer is awaited: an « Échéance » column and the « En retard » filter.
WITH_DEADLINE = ("en_cours", "retraitement")


@dataclass(frozen=True)
class Page:
    """One list: its address, treatment's view, the guide's titles and its table."""

    slug: str  # in the address
    view: str  # treatment's
    title: str
    heading: str
    columns: str  # which table: en_cours, retraitement, insatisfaits, consultation
    action: str  # the link to the request's page (a focal point's)
    empty_note: str = ""
    # « En retard seulement » where it narrows the list: not in « En retard », late already.
    late_filter: bool = True


TRAITEMENTS = {
    "en-cours": Page(
        "en-cours", "en_cours", BODY_LISTS["en_cours"], "Requêtes à traiter", "en_cours", "Traiter"
    ),
    "retraitement": Page(
        "retraitement",
        "retraitement",
        BODY_LISTS["retraitement"],
        "Liste des requêtes réouvertes",
        "retraitement",
        "Traiter à nouveau",
    ),
    "en-retard": Page(
        "en-retard",
        "en_retard",
        BODY_LISTS["en_retard"],
        "Requêtes dont le délai de réponse est dépassé",
        "en_cours",
        "Consulter",
        "Aucune requête en retard : chaque réponse attendue est encore dans son délai.",
        late_filter=False,
    ),
    "insatisfaits": Page(
        "insatisfaits",
        "insatisfaits",
        BODY_LISTS["insatisfaits"],
        "Liste des requêtes traitées Insatisfaites",
        "insatisfaits",
        "Répondre à l'usager",
    ),
}
CONSULTATIONS = {
    page.slug: page
    for page in (
        Page(
            "sans-retour",
            "sans_retour",
            CONSULTATION_LISTS["sans_retour"],
            "Liste des requêtes traitées sans retour",
            "consultation",
            "Consulter",
        ),
        Page(
            "avis-attendus",
            "avis_attendus",
            CONSULTATION_LISTS["avis_attendus"],
            "Liste des requêtes traitées en attente de l'avis de l'usager",
            "consultation",
            "Consulter",
        ),
        Page(
            "satisfaits",
            "satisfaits",
            CONSULTATION_LISTS["satisfaits"],
            "Liste des requêtes traitées satisfaisantes",
            "consultation",
            "Consulter",
        ),
        # The dashboard's cards (« Réclamations traitées », « Avis exprimés », « Total
        # requêtes »): each the list of the requests its figure counts.
        Page(
            "traitees",
            "traitees",
            CONSULTATION_LISTS["traitees"],
            "Liste des réclamations traitées",
            "consultation",
            "Consulter",
        ),
        Page(
            "avis-exprimes",
            "avis_exprimes",
            CONSULTATION_LISTS["avis_exprimes"],
            "Liste des requêtes traitées avec l'avis de l'usager",
            "consultation",
            "Consulter",
        ),
        Page(
            "toutes",
            "recues",
            CONSULTATION_LISTS["recues"],
            "Listing des requêtes validées",
            "consultation",
            "Consulter",
        ),
        Page(
            "reclamations",
            "reclamations",
            CONSULTATION_LISTS["reclamations"],
            "Listing des Réclamations",
            "consultation",
            "Consulter",
        ),
        Page(
            "demandes-information",
            "demandes_information",
            CONSULTATION_LISTS["demandes_information"],
            "Listing des Demandes d'information",
            "consultation",
            "Consulter",
        ),
        Page(
            "suggestions",
            "suggestions",
            CONSULTATION_LISTS["suggestions"],
            "Listing des Suggestions",
            "consultation",
            "Consulter",
        ),
        Page(
            "observations",
            "observations",
            CONSULTATION_LISTS["observations"],
            "Listing des Observations",
            "consultation",
            "Consulter",
        ),
        Page(
            "motions",
            "motions",
            CONSULTATION_LISTS["motions"],
            "Listing des Motions de félicitations",
            "consultation",
            "Consulter",
        ),
    )
}
CONSULTATIONS_PATH = "/admin/pf/consultations"


# --- what the address asks of treatment ----------------------------------------------------------


def _listing(request: web.Request) -> Listing:
    return listing_of(request, SORTS, "validation", per_page=PER_PAGE)


def _params(request: web.Request, listing: Listing) -> dict[str, str]:
    """Treatment's parameters, but the page: the search, the sort, the period when chosen,
    the body (treatment ignores it for a focal point)."""
    period = shell.period_of(request)
    params = {"sort": SORTS[listing.sort], "order": "desc" if listing.descending else "asc"}
    if listing.words:
        params["q"] = listing.words
    if period.explicit:  # on the submission day, as every count of the back office
        params["submitted_from"] = period.start.isoformat()
        params["submitted_to"] = period.end.isoformat()
    if request.query.get("retard") == "1":
        params["late"] = "true"
    body = request.query.get("organisme", "").strip()[:100]
    if body and _staff(request).role != Role.FOCAL_POINT:
        params["body_id"] = body
    return params


def _staff(request: web.Request):
    staff = auth.current_staff(request)
    assert staff is not None, "behind staff_required"
    return staff


async def _unavailable(request: web.Request) -> web.Response:
    return await shell.render(
        request,
        "backoffice/treatment_unavailable.html",
        {"title": "Service indisponible"},
        status=503,
    )


# --- the rows as the tables write them ---------------------------------------------------------


def _day(moment: str | None) -> str:
    return french.day(datetime.fromisoformat(moment)) if moment else ""


def _status_text(item: dict) -> str:
    """« En cours de traitement depuis le … », on hold or reopened likewise."""
    status = item["status"]
    if status == Status.ON_HOLD and item["on_hold_since"]:
        return f"Mise en attente depuis le {_day(item['on_hold_since'])}"
    if status == Status.REOPENED:
        since = item["reopened_at"] or item["validated_at"]
        return f"Réouverte pour un nouveau traitement depuis le {_day(since)}"
    if status == Status.IN_TREATMENT:
        return f"En cours de traitement depuis le {_day(item['validated_at'])}"
    return item["status_label"]


def _shown(item: dict, role: str) -> dict:
    item["contact_line"] = phones.contact_line(item["contact"])
    if item.get("purged_at"):  # the milestones stay; the message says when it went
        item["message"] = purge.purged_on(item["purged_at"])
    item["validated_day"] = _day(item["validated_at"])
    item["status_text"] = _status_text(item)
    item["answer_day"] = _day(item["answer_at"])
    item["opinion_day"] = _day(item["opinion_at"])
    item["further_answer_day"] = _day(item.get("further_answer_at"))
    item["opinion_until_text"] = french.until(item.get("opinion_until"))
    item["reopened"] = item["status"] == Status.REOPENED
    item["reopened_day"] = _day(item["reopened_at"])
    item["url"] = REQUEST_PAGE.format(code=item["code"])
    # « Insatisfaits » for an analyst: the clarification is on the analysts' page.
    item["clarify_url"] = clarify_url(item, role)
    due = item.get("answer_due")
    item["due_day"] = french.day(date.fromisoformat(due)) if due else ""
    paused = item["status"] == Status.ON_HOLD
    item["deadline_text"] = deadline_text(item["days_left"], item["late"], paused) if due else ""
    item["deadline_paused"] = paused
    return item


# --- the pages ----------------------------------------------------------------------------------


async def _agent_names(request: web.Request, items: list[dict]) -> dict[str, str]:
    """The agents' names (« Pris en compte par … »): people by name, never by login."""
    async with request.app[POOL].acquire(timeout=10) as conn:
        return await accounts.display_names(conn, (i.get("assignee_login") or "" for i in items))


async def _bodies(request: web.Request) -> list[tuple[str, str]]:
    """The « Organisme » filter's choices (analysts, administrators); [] if intake is silent."""
    try:
        bodies = await catalogue.all_bodies(request)
    except ServiceUnavailable:
        return []
    return sorted(((b["id"], b["name"]) for b in bodies), key=lambda b: b[1])


async def _list_page(request: web.Request, page: Page, base: str) -> web.Response:
    staff = _staff(request)
    listing = _listing(request)
    params = {**_params(request, listing), "limit": str(PER_PAGE), "offset": str(listing.offset)}
    try:
        status, found = await request.app[TREATMENT].requests(
            page.view, identity=staff.identity, params=params
        )
    except ServiceUnavailable:
        return await _unavailable(request)
    if status != 200:
        return await _unavailable(request)
    focal = staff.role == Role.FOCAL_POINT
    bodies = [] if focal else await _bodies(request)
    chosen = request.query.get("organisme", "")
    if focal:
        body_name = (await shell.body_names(request)).get(staff.body_id or "", staff.body_id)
    else:
        body_name = dict(bodies).get(chosen, chosen) if chosen else "tous les organismes"
    return await shell.render(
        request,
        "backoffice/treatment_lists.html",
        {
            "title": page.title,
            "page": page,
            "base": base,
            "listing": listing,
            "items": [_shown(i, staff.role) for i in found["items"]],
            "names": await _agent_names(request, found["items"]),
            "total": found["total"],
            "focal": focal,
            "for_body": body_name,
            "bodies": bodies,
            "chosen_body": chosen,
            "tabs": CONSULTATIONS.values() if page.slug in CONSULTATIONS else (),
            "period_applies": shell.period_of(request).explicit,
            "late_filter": page.columns in WITH_DEADLINE and page.late_filter,
            "late_only": request.query.get("retard") == "1",
            "late_label": LATE_LABEL,
        },
    )


def _consultation(request: web.Request) -> Page:
    return CONSULTATIONS.get(request.query.get("liste", ""), CONSULTATIONS["sans-retour"])


def _treatment_routes(page: Page) -> None:
    base = f"/admin/traitements/{page.slug}"

    @access.staff_required(*READERS)
    async def show(request: web.Request) -> web.Response:
        return await _list_page(request, page, base)

    @access.staff_required(*READERS)
    async def as_csv(request: web.Request) -> web.StreamResponse:
        return await _export_csv(request, page)

    @access.staff_required(*READERS)
    async def as_xlsx(request: web.Request) -> web.StreamResponse:
        return await _export_xlsx(request, page)

    name = f"bo-pf-{page.slug}"
    routes.get(base, name=name)(show)
    routes.get(f"{base}/export.csv", name=f"{name}-csv")(as_csv)
    routes.get(f"{base}/export.xlsx", name=f"{name}-xlsx")(as_xlsx)


for _page in TRAITEMENTS.values():
    _treatment_routes(_page)


@routes.get(CONSULTATIONS_PATH, name="bo-pf-consultations")
@access.staff_required(*READERS)
async def consultations(request: web.Request) -> web.Response:
    return await _list_page(request, _consultation(request), CONSULTATIONS_PATH)


@routes.get(f"{CONSULTATIONS_PATH}/export.csv", name="bo-pf-consultations-csv")
@access.staff_required(*READERS)
async def consultations_csv(request: web.Request) -> web.StreamResponse:
    return await _export_csv(request, _consultation(request))


@routes.get(f"{CONSULTATIONS_PATH}/export.xlsx", name="bo-pf-consultations-xlsx")
@access.staff_required(*READERS)
async def consultations_xlsx(request: web.Request) -> web.StreamResponse:
    return await _export_xlsx(request, _consultation(request))


# --- « Exportation »: CSV (treatment's, streamed through) and the workbook -----------------------


def _csv_of(
    request: web.Request, page: Page, kind: str = "csv"
) -> contextlib.AbstractAsyncContextManager[aiohttp.ClientResponse | None]:
    """Treatment's CSV of the list; ``kind``: the file the agent asked for, for the journal."""
    params = _params(request, _listing(request))
    if kind != "csv":
        params["format"] = kind
    return request.app[TREATMENT].requests_csv(
        page.view, identity=_staff(request).identity, params=params
    )


def _filename(page: Page, extension: str) -> str:
    return f"requetes-{page.slug}.{extension}"


ASSIGNEE = "Pris en compte par"


def _named(source: IO[bytes], target: IO[bytes], names: dict[str, str]) -> None:
    """Treatment's CSV (which knows agents by login) with each agent in « Pris en compte par »
    by name, as the pages show them; every other cell as it came (inert already)."""
    source.seek(0)
    reading = io.TextIOWrapper(source, encoding="utf-8-sig", newline="")
    writing = io.TextIOWrapper(target, encoding="utf-8-sig", newline="")
    rows = csv.reader(reading, delimiter=";")
    out = csv.writer(writing, delimiter=";", quoting=csv_cells.QUOTING, lineterminator="\r\n")
    header = next(rows, [])
    out.writerow(header)
    column = header.index(ASSIGNEE) if ASSIGNEE in header else None
    for row in rows:
        if column is not None and column < len(row) and row[column] in names:
            row[column] = csv_cells.inert(names[row[column]])
        out.writerow(row)
    writing.flush()
    writing.detach()
    reading.detach()


@contextlib.asynccontextmanager
async def _export(request: web.Request, page: Page, kind: str) -> AsyncIterator[IO[bytes] | None]:
    """Every row of the list as treatment writes it (formulas made inert), the agents named, in
    a file (on disk past 8 Mo) read from its start; None when treatment does not answer."""
    staff = _staff(request)
    body_id = staff.body_id if staff.role == Role.FOCAL_POINT else None
    async with request.app[POOL].acquire(timeout=10) as conn:
        names = await accounts.focal_point_names(conn, body_id)
    with (
        tempfile.SpooledTemporaryFile(max_size=8 * 1024**2) as source,
        tempfile.SpooledTemporaryFile(max_size=8 * 1024**2) as named,
    ):
        if not await _spooled(request, page, kind, source):
            yield None
            return
        await asyncio.to_thread(_named, source, named, names)
        named.seek(0)
        yield named


async def _spooled(request: web.Request, page: Page, kind: str, into: IO[bytes]) -> bool:
    """Treatment's CSV of the list written to ``into``; False when treatment does not answer."""
    try:
        async with _csv_of(request, page, kind) as resp:
            if resp is None:
                return False
            await downloads.spool(resp, into)
    except ServiceUnavailable:
        return False
    return True


async def _export_csv(request: web.Request, page: Page) -> web.StreamResponse:
    """The list's rows as CSV (BOM, « ; »: Excel opens it as it is)."""
    async with _export(request, page, "csv") as named:
        if named is None:
            return await _unavailable(request)
        out = web.StreamResponse(headers=downloads.csv_headers(_filename(page, "csv")))
        await out.prepare(request)
        while chunk := named.read(downloads.CHUNK):
            await out.write(chunk)
        await out.write_eof()
        return out


# Columns of treatment's CSV that the workbook holds as dates; the others stay text (a code or a
# phone number is not a number).
_DATE_COLUMNS = frozenset(
    {
        "Validée le",
        "Échéance de la réponse",
        "Mise en attente le",
        "Traitée le",
        "Avis attendu jusqu'au",
        "Avis donné le",
        "Nouvelle réponse le",
        "Réouverte le",
    }
)


async def _export_xlsx(request: web.Request, page: Page) -> web.StreamResponse:
    """The same rows as a workbook (on disk past 8 Mo)."""
    async with _export(request, page, "xlsx") as named:
        if named is None:
            return await _unavailable(request)
        with tempfile.SpooledTemporaryFile(max_size=8 * 1024**2) as target:
            await asyncio.to_thread(xlsx.from_csv, named, target, dates=_DATE_COLUMNS)
            return await xlsx.stream(request, _filename(page, "xlsx"), target)
