"""What every back-office list shares: search words, sorting, pagination, CSV export.

The parameters live in the address (``q``, ``tri``, ``ordre``, ``page`` and the list's own
filters, beside the period ``du``/``au``), so a list works without JavaScript, can be bookmarked,
and its export gives exactly what is on screen, every page. A row opened from the list, and each
action on it, carries them (:func:`back_of`: those a list gives, and only those) so that the
administrator comes back to the list as they left it.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import urlencode

from aiohttp import web

from shared import csv_cells, french

PER_PAGE = 25
# The largest offset the services take (treatment's lists, triage's queue, the audit log): a page
# typed past it is the last they can give, empty, not a refusal the page would show as « Service
# momentanément indisponible ».
MAX_OFFSET = 10_000_000
EXPORT_LIMIT = 100_000
# What listing_of reads of a parameter (the words of a search among them).
PARAMETER_MAX = 200
# What a list's own filter carries back (a role, a state, a body's identifier: none longer).
FILTER_MAX = 100
SORT_KEY = re.compile(r"[a-z][a-z-]{0,29}")


@dataclass(frozen=True)
class Listing:
    path: str
    query: dict[str, str]  # every parameter of the address, as given
    words: str
    sort: str
    descending: bool
    page: int
    per_page: int = PER_PAGE
    filters: tuple[str, ...] = ()  # the names of the list's own filters (back_of)

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.per_page

    def url(self, path: str | None = None, **changes: object) -> str:
        query = {**self.query, **{k: str(v) for k, v in changes.items() if v is not None}}
        query = {k: v for k, v in query.items() if v != ""}
        return f"{path or self.path}?{urlencode(query)}" if query else (path or self.path)

    def sort_url(self, key: str) -> str:
        """Sort by ``key``; a second click on the sorted column reverses it."""
        descending = not self.descending if key == self.sort else False
        return self.url(tri=key, ordre="desc" if descending else "asc", page="")

    def page_url(self, page: int) -> str:
        return self.url(page=page if page > 1 else "")

    @property
    def back(self) -> dict[str, str]:
        """This list's search, sort, filters and page, that its actions' links and forms carry
        (back_of)."""
        return back_of(self.query, self.filters)

    def export_url(self, path: str) -> str:
        return self.url(path, page="")

    def pages(self, total: int) -> int:
        return max(1, math.ceil(total / self.per_page))

    def summary(self, total: int, shown: int) -> str:
        """The guide's line under a table: « Affichage 1 à 25 sur 130 lignes »; "" for an empty
        list, whose table's one row says « Pas d'enregistrement » (said twice, before)."""
        if total == 0:
            return ""
        if shown == 0:  # a page past the last (the list shrank since, or a typed address)
            lines = f"{french.number(total)} ligne{'s' if total > 1 else ''}"
            return f"Aucune ligne sur cette page : la liste compte {lines}."
        first, last = french.number(self.offset + 1), french.number(self.offset + shown)
        return (
            f"Affichage {first} à {last} sur {french.number(total)} ligne{'s' if total > 1 else ''}"
        )


def listing_of(
    request: web.Request,
    sorts: Iterable[str],
    default_sort: str,
    default_descending: bool = False,
    per_page: int = PER_PAGE,
    filters: Iterable[str] = (),
) -> Listing:
    """The list parameters of this request, ``per_page`` rows a page; unknown sorts and bad page
    numbers fall back. ``filters``: the names of the list's own filters, that its rows' links
    and forms carry with its search, sort and page (``Listing.back``)."""
    return listing_at(
        request.path, request.query, sorts, default_sort, default_descending, per_page, filters
    )


def listing_at(
    path: str,
    parameters: Mapping[str, str],
    sorts: Iterable[str],
    default_sort: str,
    default_descending: bool = False,
    per_page: int = PER_PAGE,
    filters: Iterable[str] = (),
) -> Listing:
    """The list at ``path`` with ``parameters`` (as :func:`listing_of` reads an address's). A
    refused action, answered at its own POST address, shows its list again with
    ``listing_at(the list's path, back_of(the posted form), …)``: at the search, sort and page the
    administrator was on, its pager's and search's links leading to the list, not to the action."""
    query = {k: v[:PARAMETER_MAX] for k, v in parameters.items()}
    sort = query.get("tri", "")
    if sort not in set(sorts):
        sort = default_sort
    order = query.get("ordre", "")
    descending = default_descending if order not in ("asc", "desc") else order == "desc"
    try:
        page = max(1, min(int(query.get("page", "1")), MAX_OFFSET // per_page + 1))
    except ValueError:
        page = 1
    return Listing(
        path=path,
        query=query,
        words=query.get("q", "").strip(),
        sort=sort,
        descending=descending,
        page=page,
        per_page=per_page,
        filters=tuple(filters),
    )


def back_of(source: Mapping[str, object], filters: Iterable[str] = ()) -> dict[str, str]:
    """The search (``q``), the list's own ``filters`` (their names: the accounts'
    ``filtre-role``, the bodies' ``etat``), the sort (``tri``, ``ordre``) and the page of the
    list an action started from — its address, or the hidden fields its form carries — where the
    action brings the administrator back. Only those names, each within what the list gives (a
    page 1, an empty value, a longer one or an order other than asc/desc left out): nothing else
    travels. A value holding a NUL character is left out too: no list's address holds one
    (gateway.web.reading refuses it, PostgreSQL stores none), and a posted form could."""
    back = {}
    words = str(source.get("q", "")).strip()
    if words and len(words) <= PARAMETER_MAX and "\x00" not in words:
        back["q"] = words
    for name in filters:
        value = str(source.get(name, "")).strip()
        if value and len(value) <= FILTER_MAX and "\x00" not in value:
            back[name] = value
    sort = str(source.get("tri", ""))
    if SORT_KEY.fullmatch(sort):
        back["tri"] = sort
    if (order := str(source.get("ordre", ""))) in ("asc", "desc"):
        back["ordre"] = order
    page = str(source.get("page", ""))
    if page.isascii() and page.isdigit() and len(page) <= 7 and int(page) > 1:
        back["page"] = str(int(page))
    return back


def back_query(back: Mapping[str, str]) -> str:
    """``back`` as an address's query (« ?q=…&page=2 »), "" when empty."""
    return f"?{urlencode(back)}" if back else ""


def address_after(
    path: str, done: str, back: Mapping[str, str], at: int | None, per_page: int, anchor: str
) -> str:
    """A list's address after an action (post/redirect/get): saying ``done``, with the search
    and filters of ``back``, at the page of it that shows the row found ``at`` (counted from 0;
    None when the row no longer matches the search: the page ``back`` names), and at
    ``#anchor``."""
    page = at // per_page + 1 if at is not None else int(back.get("page", "1"))
    query = {"fait": done, **{k: v for k, v in back.items() if k != "page"}}
    if page > 1:
        query["page"] = str(page)
    return f"{path}?{urlencode(query)}#{anchor}"


def csv_response(
    filename: str, header: Sequence[str], rows: Iterable[Sequence[object]]
) -> web.Response:
    """A whole export as one answer (shared.csv_cells.lines: what French Excel opens cleanly)."""
    return web.Response(
        body=csv_cells.lines([header, *rows], first=True),
        content_type="text/csv",
        charset="utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
