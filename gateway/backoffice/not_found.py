"""The back office's own « Page introuvable »: an unknown ``/admin/…`` address (or a page that
says « introuvable » itself, such as an account that does not exist) answered inside the
back-office layout, with its menu, in French — not the citizens' page.

A middleware, innermost (after ``auth.load_staff``): it needs the signed-in staff member, and it
sees the 404 of a route that does not exist as well as one a handler raises. Someone not signed
in gets the site's usual 404 (gateway.web.errors), which says nothing of the back office.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

from gateway.backoffice import shell
from gateway.staff import auth

PREFIX = "/admin"
TEXT = (
    "L'adresse demandée n'existe pas dans l'espace d'administration. Vérifiez-la, ou repartez "
    "du menu."
)


def _own_words(exc: web.HTTPNotFound) -> str:
    given = exc.text or ""
    if exc.content_type == "text/plain" and given and given != f"{exc.status}: {exc.reason}":
        return given
    return TEXT


@web.middleware
async def admin_not_found(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    try:
        return await handler(request)
    except web.HTTPNotFound as exc:
        path = request.path
        if not (path == PREFIX or path.startswith(PREFIX + "/")) or request.method not in (
            "GET",
            "HEAD",
        ):
            raise
        if auth.current_staff(request) is None:
            raise
        return await shell.render(
            request,
            "backoffice/not_found.html",
            {"title": "Page introuvable", "text": _own_words(exc)},
            status=404,
        )
