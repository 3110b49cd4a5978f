"""Retiring and restoring a body, a theme or a place: never deleted, so that the requests
naming it keep it; « Autre » is offered for every body and cannot be retired."""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web

from gateway.backoffice.catalogue.bodies import body_page_at
from gateway.backoffice.catalogue.common import (
    BASE,
    ID,
    LISTS,
    OTHER_THEME,
    Unavailable,
    everything,
    guarded,
    journal,
    see_other,
    send,
)
from gateway.backoffice.catalogue.places import place_list_at
from gateway.backoffice.catalogue.themes import render_theme_list, theme_list_at

routes = web.RouteTableDef()


@dataclass(frozen=True)
class Kind:
    path: str  # in the back office's addresses
    service: str  # intake's
    word: str  # in the audit log's target
    route: str  # in the route names


KINDS = {
    "organismes": Kind("organismes", "bodies", "organisme", "organisme"),
    "themes": Kind("themes", "themes", "thème", "theme"),
    "lieux": Kind("lieux", "places", "lieu", "lieu"),
}


async def _set_active(request: web.Request, active: bool) -> web.Response:
    kind = KINDS[request.path.split("/")[3]]  # /admin/catalogue/<kind>/<id>/retirer
    row_id = request.match_info["row_id"]
    # The lists are searched and paged: back at the search and the page the action came from.
    back = LISTS[kind.service].back_of(await request.post())
    if kind.service == "themes" and row_id == OTHER_THEME and not active:
        data = await everything(request)
        return await render_theme_list(
            request,
            data,
            {"active": "« Autre » est proposé pour tout organisme : il ne peut être retiré."},
            status=409,
            back=back,
        )
    status, answer = await send(request, kind.service, row_id, {"active": active})
    if status == 404:
        # Gone (an old page): said in the back office, with the way back to the list.
        raise LISTS[kind.service].gone()
    if status != 200:
        raise Unavailable
    # Already so when intake locked it (an old page, another administrator): nothing changed,
    # and neither the page nor the journal says it did.
    changed = answer.get("before", {}).get("active") != active
    if changed:
        await journal(
            request,
            "catalogue_restored" if active else "catalogue_retired",
            f"{kind.word} {row_id}",
            str(answer.get("name") or answer.get("label") or ""),
        )
    done = ("retabli" if active else "retire") if changed else "inchange"
    if kind.service == "themes":
        return see_other(theme_list_at((await everything(request))["themes"], row_id, done, back))
    if kind.service == "places":
        return see_other(place_list_at((await everything(request))["places"], row_id, done, back))
    return see_other(body_page_at(row_id, back, done))


@guarded
async def retire(request: web.Request) -> web.Response:
    return await _set_active(request, False)


@guarded
async def restore(request: web.Request) -> web.Response:
    return await _set_active(request, True)


# /admin/catalogue/organismes/{id}/retirer, …: bo-catalogue-organisme-retirer, -theme-, -lieu-.
for _path, _kind in KINDS.items():
    routes.post(f"{BASE}/{_path}/{ID}/retirer", name=f"bo-catalogue-{_kind.route}-retirer")(retire)
    routes.post(f"{BASE}/{_path}/{ID}/retablir", name=f"bo-catalogue-{_kind.route}-retablir")(
        restore
    )
