"""« Catalogue » › the places (regions and districts, communes, sous-préfectures)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aiohttp import web

from gateway.backoffice import shell
from gateway.backoffice.catalogue.common import (
    BASE,
    DONE,
    ID,
    PLACE_LABELS,
    changes,
    described,
    everything,
    guarded,
    holds,
    journal,
    plain,
    row_or_404,
    save,
    see_other,
)
from gateway.web import forms
from gateway.web.listing import address_after, back_of, back_query, listing_of

routes = web.RouteTableDef()
PLACE_KINDS = [("commune", "Commune"), ("sous-prefecture", "Sous-préfecture")]
# What each field of a place takes, in characters (intake's limits; the type, a choice).
PLACE_MAX = {"region": 100, "name": 100, "kind": 20}


# The country counts some 700 communes and sous-préfectures: a page of them at a time.
PLACES_PER_PAGE = 50


def _found(places: list[dict[str, Any]], words: str) -> list[dict[str, Any]]:
    """The places whose name or region holds each of ``words`` (at a word's start, accents and
    case aside), in intake's order."""
    wanted = plain(words).split()
    return [p for p in places if holds(f"{p['name']} {p['region']}", wanted)]


def place_list_at(
    places: list[dict[str, Any]], place_id: str, done: str, back: Mapping[str, str]
) -> str:
    """The list's address after an action on ``place_id``, saying ``done``: with the search the
    administrator was on, at the page of it that shows the place (the page they were on, when
    the place no longer matches), and at the place itself."""
    found = _found(places, back.get("q", ""))
    at = next((n for n, p in enumerate(found) if p["id"] == place_id), None)
    return address_after(f"{BASE}/lieux", done, back, at, PLACES_PER_PAGE, f"l-{place_id}")


@routes.get(f"{BASE}/lieux", name="bo-catalogue-lieux")
@guarded
async def place_list(request: web.Request) -> web.Response:
    """The places in intake's order (by region), searchable by name or region and paged; each
    page grouped by region."""
    listing = listing_of(request, (), "", per_page=PLACES_PER_PAGE)
    found = _found((await everything(request))["places"], listing.words)
    back = listing.back
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
            # Carried by the actions' links and forms, so that each comes back here.
            "back": back,
            "back_query": back_query(back),
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
    back: Mapping[str, str] | None = None,
) -> web.Response:
    back = back if back is not None else back_of(request.query)
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
            "back": back,
            "back_query": back_query(back),
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
    posted = await request.post()
    values, back = _place_values(posted), back_of(posted)
    if errors := _place_problems(values):
        return await _place_form(request, data, values, errors, status=422, back=back)
    errors, place = await save(
        request,
        "places",
        None,
        values,
        values,
        conflict=lambda _: {"name": "Ce lieu existe déjà dans cette région."},
    )
    if errors:
        return await _place_form(request, data, values, errors, status=422, back=back)
    await journal(
        request, "catalogue_created", f"lieu {place['id']}", described(values, PLACE_LABELS)
    )
    places = (await everything(request))["places"]
    return see_other(place_list_at(places, place["id"], "lieu-cree", back))


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
    posted = await request.post()
    values, back = _place_values(posted), back_of(posted)
    if errors := _place_problems(values):
        return await _place_form(request, data, values, errors, place, status=422, back=back)
    changed = {k: v for k, v in values.items() if place.get(k) != v}
    if not changed:
        return see_other(place_list_at(data["places"], place["id"], "inchange", back))
    errors, answer = await save(request, "places", place["id"], changed, values)
    if errors:
        return await _place_form(request, data, values, errors, place, status=422, back=back)
    # What intake had when it changed it, not this page's older copy.
    said = changes(answer.get("before", place), changed, PLACE_LABELS)
    if not said:
        return see_other(place_list_at(data["places"], place["id"], "inchange", back))
    await journal(request, "catalogue_changed", f"lieu {place['id']}", said)
    places = (await everything(request))["places"]
    return see_other(place_list_at(places, place["id"], "modifie", back))
