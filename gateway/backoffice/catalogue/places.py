"""« Catalogue » › the places (regions and districts, communes, sous-préfectures)."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from gateway.backoffice import access, shell
from gateway.backoffice.catalogue.common import (
    BASE,
    DONE,
    ID,
    PLACE_LABELS,
    changes,
    described,
    everything,
    forget,
    guarded,
    intake_errors,
    not_found,
    plain,
    row_or_404,
    see_other,
    send,
)
from gateway.web import forms
from gateway.web.listing import listing_of

routes = web.RouteTableDef()
PLACE_KINDS = [("commune", "Commune"), ("sous-prefecture", "Sous-préfecture")]
# What each field of a place takes, in characters (intake's limits; the type, a choice).
PLACE_MAX = {"region": 100, "name": 100, "kind": 20}


# The country counts some 700 communes and sous-préfectures: a page of them at a time.
PLACES_PER_PAGE = 50


@routes.get(f"{BASE}/lieux", name="bo-catalogue-lieux")
@guarded
async def place_list(request: web.Request) -> web.Response:
    """The places in intake's order (by region), searchable by name or region and paged; each
    page grouped by region."""
    listing = listing_of(request, (), "", per_page=PLACES_PER_PAGE)
    words = plain(listing.words).split()
    found = [
        p
        for p in (await everything(request))["places"]
        if all(f" {w}" in " " + plain(f"{p['name']} {p['region']}") for w in words)
    ]
    regions: dict[str, list] = {}
    for place in found[listing.offset : listing.offset + listing.per_page]:
        regions.setdefault(place["region"], []).append(place)
    return await shell.render(
        request,
        "backoffice/catalogue_places.html",
        {
            "title": "Lieux",
            "regions": list(regions.items()),
            "kinds": dict(PLACE_KINDS),
            "done": DONE.get(request.query.get("fait", "")),
            "listing": listing,
            "total": len(found),
            "shown": sum(len(places) for places in regions.values()),
        },
    )


def _place_values(form: Any) -> dict[str, str]:
    # Whole: checked against PLACE_MAX as typed, cut only to be shown again (forms.cut).
    return {k: str(form.get(k, "")).strip() for k in PLACE_MAX}


def _place_problems(values: dict[str, str]) -> dict[str, str]:
    errors = forms.too_long(values, PLACE_MAX)
    if not values["region"]:
        errors["region"] = "Indiquez la région ou le district."
    if not values["name"]:
        errors["name"] = "Indiquez le nom de la commune ou de la sous-préfecture."
    if values["kind"] not in dict(PLACE_KINDS):
        errors["kind"] = "Choisissez Commune ou Sous-préfecture."
    return errors


async def _place_form(
    request: web.Request,
    data: dict[str, list],
    values: dict[str, str],
    errors: dict[str, str],
    place: dict[str, Any] | None = None,
    status: int = 200,
) -> web.Response:
    return await shell.render(
        request,
        "backoffice/catalogue_place_form.html",
        {
            "title": f"Modifier le lieu {place['name']}" if place else "Ajouter un lieu",
            "place": place,
            "action": f"{BASE}/lieux/{place['id']}/modifier" if place else f"{BASE}/lieux/nouveau",
            "regions": list(dict.fromkeys(p["region"] for p in data["places"])),
            "kinds": PLACE_KINDS,
            "values": forms.cut(values, PLACE_MAX, forms.TYPED_ROOM),
            "errors": errors,
            "labels": PLACE_LABELS,
        },
        status=status,
    )


@routes.get(f"{BASE}/lieux/nouveau", name="bo-catalogue-lieu-nouveau")
@guarded
async def new_place_form(request: web.Request) -> web.Response:
    return await _place_form(request, await everything(request), {"kind": "commune"}, {})


@routes.post(f"{BASE}/lieux/nouveau")
@guarded
async def create_place(request: web.Request) -> web.Response:
    data = await everything(request)
    values = _place_values(await request.post())
    if errors := _place_problems(values):
        return await _place_form(request, data, values, errors, status=422)
    status, place = await send(request, "places", None, values)
    if status == 409:
        errors = {"name": "Ce lieu existe déjà dans cette région."}
        return await _place_form(request, data, values, errors, status=422)
    if status != 201:
        return await _place_form(request, data, values, intake_errors(place, values), status=422)
    forget(request)
    await access.record_action(
        request, "catalogue_created", f"lieu {place['id']}", described(values, PLACE_LABELS)
    )
    return see_other(f"{BASE}/lieux?fait=lieu-cree#l-{place['id']}")


@routes.get(f"{BASE}/lieux/{ID}/modifier", name="bo-catalogue-lieu-modifier")
@guarded
async def edit_place_form(request: web.Request) -> web.Response:
    place, data = await row_or_404(request, "places")
    values = {k: place[k] for k in ("region", "name", "kind")}
    return await _place_form(request, data, values, {}, place)


@routes.post(f"{BASE}/lieux/{ID}/modifier")
@guarded
async def edit_place(request: web.Request) -> web.Response:
    place, data = await row_or_404(request, "places")
    values = _place_values(await request.post())
    if errors := _place_problems(values):
        return await _place_form(request, data, values, errors, place, status=422)
    changed = {k: v for k, v in values.items() if place.get(k) != v}
    if not changed:
        return see_other(f"{BASE}/lieux?fait=inchange#l-{place['id']}")
    status, answer = await send(request, "places", place["id"], changed)
    if status == 404:
        raise not_found("Ce lieu n'est pas dans le catalogue.")
    if status != 200:
        errors = intake_errors(answer, values)
        return await _place_form(request, data, values, errors, place, status=422)
    forget(request)
    await access.record_action(
        request, "catalogue_changed", f"lieu {place['id']}", changes(place, changed, PLACE_LABELS)
    )
    return see_other(f"{BASE}/lieux?fait=modifie#l-{place['id']}")
