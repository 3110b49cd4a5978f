"""The back office's own « Page introuvable »: an unknown ``/admin/…`` address (or a page that
says « introuvable » itself) answered inside the back-office layout, with its menu, in French —
not the citizens' page.

A row an address names that is not there — a catalogue row, an account, a key, opened or acted
on from an old page or an old tab — raises :class:`Gone` with its list (:class:`RowList`): the
page is then that row's « … introuvable », with the way back to its list at the search, sort,
filters and page the address (a GET) or the posted form (an action) carried. An action so
refused changed nothing (each handler finds its row before it changes anything), and its page
says so. One place for every handler, GET or POST, rather than a try/except in each.

A middleware, innermost (after ``auth.load_staff``): it needs the signed-in staff member, and it
sees the 404 of a route that does not exist as well as one a handler raises. Someone not signed
in gets the site's usual 404 (gateway.web.errors), which says nothing of the back office.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

from aiohttp import web

from gateway.backoffice import shell
from gateway.staff import auth
from gateway.web import csrf
from gateway.web.listing import back_of, back_query

PREFIX = "/admin"
TEXT = (
    "L'adresse demandée n'existe pas dans l'espace d'administration. Vérifiez-la, ou repartez "
    "du menu."
)
NOTHING_CHANGED = (
    " Rien n'a été modifié : la page d'où venait l'action n'était peut-être plus à jour."
)


@dataclass(frozen=True)
class RowList:
    """A back-office list whose rows addresses name: where its rows' actions come back to, and
    what its « introuvable » page says of a row it does not have."""

    path: str  # the list's address
    title: str  # « Compte introuvable »
    text: str  # « Ce compte n'existe pas. »
    back_label: str  # « Retour à la liste des comptes »
    # The list's own filters, carried with its search, sort and page in its rows' links and forms: a
    # filter's name is none of those forms' own fields (the accounts' « filtre-role », not
    # « role », which their forms post as the role to give).
    filters: tuple[str, ...] = ()

    def back_of(self, source: Mapping[str, object]) -> dict[str, str]:
        """The list's search, sort, filters and page that ``source`` (an address's query, a
        posted form) carries: where an action on one of its rows comes back to."""
        return back_of(source, self.filters)

    def gone(self) -> Gone:
        return Gone(self)


class Gone(web.HTTPNotFound):
    """The row of ``rows`` the address names is not there: its « introuvable » page (plain text
    saying so where this middleware does not answer)."""

    def __init__(self, rows: RowList) -> None:
        super().__init__(text=rows.text, content_type="text/plain")
        self.rows = rows


def _own_words(exc: web.HTTPNotFound) -> str:
    given = exc.text or ""
    if exc.content_type == "text/plain" and given and given != f"{exc.status}: {exc.reason}":
        return given
    return TEXT


async def _sent(request: web.Request) -> Mapping[str, object]:
    """What the action posted (its hidden fields carry the list's search, sort and page); nothing
    from a body its handler streams itself."""
    if request.method in ("GET", "HEAD"):
        return request.query
    if csrf.streams_itself(request):
        return {}
    return await request.post()


async def _page(request: web.Request, exc: web.HTTPNotFound) -> web.Response:
    acted = request.method not in ("GET", "HEAD")
    if not isinstance(exc, Gone):
        context = {"title": "Page introuvable", "text": _own_words(exc)}
    else:
        rows = exc.rows
        back = rows.back_of(await _sent(request))
        context = {
            "title": rows.title,
            "text": rows.text + (NOTHING_CHANGED if acted else ""),
            "back_url": rows.path + back_query(back),
            "back_label": rows.back_label,
        }
    return await shell.render(request, "backoffice/not_found.html", context, status=404)


@web.middleware
async def admin_not_found(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    try:
        return await handler(request)
    except web.HTTPNotFound as exc:
        path = request.path
        if not (path == PREFIX or path.startswith(PREFIX + "/")):
            raise
        if auth.current_staff(request) is None:
            raise
        return await _page(request, exc)
