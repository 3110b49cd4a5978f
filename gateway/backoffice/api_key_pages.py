"""« Administration › Clés d'API »: the keys of the ministries' systems (the ministry API,
``gateway.public_api.ministry``). Administrators only.

- ``GET /admin/cles-api``: every key (label, body, created, last used, revoked) and the form to
  make one; ``POST /admin/cles-api`` makes it and redirects (303) to ``GET /admin/cles-api/creee``,
  which shows the whole key once: it waits for that page server-side, tied to the administrator's
  session, and is forgotten as the page reads it (only its digest is kept), so reloading either
  page neither makes a second key nor shows the first again.
- ``GET /admin/cles-api/{id}``: one key and its last calls; with ``?confirmer=revoquer`` it asks
  « Êtes-vous sûr… ? » first, and only that question's form (``confirm=oui``) revokes through
  ``POST /admin/cles-api/{id}/revoquer``: the next call with the key is refused. Revoking cannot
  be undone (a ministry's system stops until it gets a new key), so no click does it alone.

The list is searched and paged: its forms, the key's page and the question carry its search and
page (``back_of``), so that a refused creation shows the list again there, and a key made or
revoked brings the administrator back there, as every other list of the administrator does.

Creations and revocations are lines of the « Journal d'audit » (``api_key_created``,
``api_key_revoked``; target « clé d'API <id> »), in the transaction that makes the change.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aiohttp import web

from gateway.backoffice import shell
from gateway.backoffice.access import staff_required
from gateway.backoffice.not_found import RowList
from gateway.staff import api_keys as keys
from gateway.staff import audit
from gateway.staff.auth import current_staff
from gateway.web import forms
from gateway.web.client_address import client_address
from gateway.web.keys import GATEWAY_SETTINGS
from gateway.web.listing import back_of, back_query, listing_at, listing_of
from shared import french
from shared.db import run_in_transaction
from shared.identity import Role
from shared.numbers import whole
from shared.service import POOL

routes = web.RouteTableDef()
BASE = "/admin/cles-api"
ID = r"{key_id:[0-9a-f]{12}}"
KEYS = RowList(
    BASE,
    "Clé d'API introuvable",
    "Cette clé d'API n'existe pas.",
    "Retour à la liste des clés d'API",
)
LABELS = {"body_id": "Organisme", "label": "Libellé", "calls_per_minute": "Appels par minute"}
MOST_CALLS = 1_000_000
# What each field takes, in characters: a body's identifier, the label, a number of calls.
KEY_MAX = {"body_id": 100, "label": keys.LABEL_MAX, "calls_per_minute": 20}


def _staff(request: web.Request):
    staff = current_staff(request)
    assert staff is not None, "behind staff_required"
    return staff


async def _list_page(
    request: web.Request,
    *,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    created: tuple[keys.ApiKey, str] | None = None,
    notice: str | None = None,
    status: int = 200,
    back: Mapping[str, str] | None = None,
) -> web.Response:
    """The list of keys; ``back``: the search, sort and page to show it at when it is answered at
    another address than its own (a refused creation, the key just made), its pager's and
    search's links then leading to the list."""
    if back is None:
        listing = listing_of(request, keys.SORTS, "etat")
    else:
        listing = listing_at(BASE, back, keys.SORTS, "etat")
    async with request.app[POOL].acquire() as conn:
        total, rows = await keys.listing(
            conn,
            words=listing.words,
            sort=listing.sort,
            descending=listing.descending,
            limit=listing.per_page,
            offset=listing.offset,
        )
    names = await shell.body_names(request)
    default = request.app[GATEWAY_SETTINGS].ministry_api_calls_per_minute
    done = {"revoquee": "La clé est révoquée : tout appel avec elle est refusé."}
    return await shell.render(
        request,
        "backoffice/api_keys.html",
        {
            "title": "Clés d'API",
            "rows": rows,
            "total": total,
            "listing": listing,
            # Carried by the creation's form and the way to a revocation, so each comes back here.
            "back": listing.back,
            "back_query": back_query(listing.back),
            "bodies": sorted(names.items(), key=lambda item: item[1]),
            "body_names": names,
            "values": forms.cut(values, KEY_MAX, forms.TYPED_ROOM)
            if values
            else {"calls_per_minute": str(default)},
            "errors": errors or {},
            "labels": LABELS,
            "created": created,
            "done": notice
            or (None if errors or created else done.get(request.query.get("fait", ""))),
        },
        status=status,
    )


@routes.get(BASE, name="bo-cles-api")
@staff_required(Role.ADMINISTRATOR)
async def key_list(request: web.Request) -> web.Response:
    return await _list_page(request)


def _problems(values: dict[str, str], bodies: dict[str, str]) -> dict[str, str]:
    # As typed (the values are whole): too long is said beside the field, never cut first.
    errors = forms.too_long(values, KEY_MAX)
    if not values["body_id"]:
        errors["body_id"] = "Choisissez l'organisme de la clé."
    elif bodies and "body_id" not in errors and values["body_id"] not in bodies:
        errors["body_id"] = "Organisme inconnu."
    if not values["label"]:
        errors["label"] = "Ce champ est obligatoire."
    calls = values["calls_per_minute"]
    if "calls_per_minute" not in errors and whole(calls, 1, MOST_CALLS) is None:
        errors["calls_per_minute"] = f"Un nombre entier de 1 à {french.number(MOST_CALLS)}."
    return errors


@routes.post(BASE)
@staff_required(Role.ADMINISTRATOR)
async def create_key(request: web.Request) -> web.Response:
    posted = await request.post()
    values = {name: str(posted.get(name, "")).strip() for name in LABELS}
    back = back_of(posted)
    bodies = await shell.body_names(request)
    if not bodies:
        return await shell.unavailable(request, "La liste des organismes")
    errors = _problems(values, bodies)
    if errors:
        return await _list_page(request, values=values, errors=errors, status=422, back=back)
    staff = _staff(request)

    async def work(conn: Any) -> tuple[keys.ApiKey, str]:
        made = await keys.create(
            conn,
            body_id=values["body_id"],
            label=values["label"],
            calls_per_minute=int(values["calls_per_minute"]),
            created_by=staff.login,
        )
        await audit.record(
            conn,
            "api_key_created",
            actor_login=staff.login,
            actor_id=staff.account_id,
            address=client_address(request),
            target=f"clé d'API {made[0].id}",
            detail=f"« {values['label']} » pour {bodies[values['body_id']]}",
        )
        await keys.keep_to_show(conn, staff.session_hash, made[0].id, made[1])
        return made

    await run_in_transaction(request.app[POOL], work)
    raise web.HTTPSeeOther(f"{BASE}/creee{back_query(back)}")


@routes.get(f"{BASE}/creee", name="bo-cle-api-creee")
@staff_required(Role.ADMINISTRATOR)
async def created_key(request: web.Request) -> web.Response:
    staff = _staff(request)
    back = back_of(request.query)
    async with request.app[POOL].acquire() as conn:
        async with conn.transaction():
            held = await keys.take_to_show(conn, staff.session_hash)
            key = await keys.one(conn, held[0]) if held else None
    if held is None or key is None:
        return await _list_page(
            request,
            back=back,
            notice="La clé n'est montrée qu'une fois : elle n'est plus affichable. "
            "Si elle n'a pas été copiée, révoquez-la et créez-en une autre.",
        )
    # The whole key is in this answer only (and the answer is not kept: no-store for staff).
    return await _list_page(request, created=(key, held[1]), back=back)


@routes.get(f"{BASE}/{ID}", name="bo-cle-api")
@staff_required(Role.ADMINISTRATOR)
async def key_page(request: web.Request) -> web.Response:
    key_id = request.match_info["key_id"]
    async with request.app[POOL].acquire() as conn:
        key = await keys.one(conn, key_id)
        calls = await keys.recent_calls(conn, key_id) if key else []
    if key is None:
        raise KEYS.gone()
    names = await shell.body_names(request)
    # The list's search, sort and page, carried to the question and back to the list.
    back = back_of(request.query)
    return await shell.render(
        request,
        "backoffice/api_key.html",
        {
            "title": f"Clé d'API « {key.label} »",
            "key": key,
            "body_name": names.get(key.body_id, key.body_id),
            "calls": calls,
            "confirm_revoke": request.query.get("confirmer") == "revoquer",
            "back": back,
            "back_query": back_query(back),
        },
    )


@routes.post(f"{BASE}/{ID}/revoquer")
@staff_required(Role.ADMINISTRATOR)
async def revoke_key(request: web.Request) -> web.Response:
    key_id = request.match_info["key_id"]
    staff = _staff(request)
    async with request.app[POOL].acquire() as conn:
        if await keys.one(conn, key_id) is None:
            raise KEYS.gone()
    posted = await request.post()
    back = back_of(posted)
    if posted.get("confirm") != "oui":
        # Not through the question (an old form, a second click): ask it.
        raise web.HTTPSeeOther(f"{BASE}/{key_id}{back_query({'confirmer': 'revoquer', **back})}")

    async def work(conn: Any) -> keys.ApiKey | None:
        revoked = await keys.revoke(conn, key_id, by=staff.login)
        if revoked is not None:
            await audit.record(
                conn,
                "api_key_revoked",
                actor_login=staff.login,
                actor_id=staff.account_id,
                address=client_address(request),
                target=f"clé d'API {key_id}",
                detail=f"« {revoked.label} » ({revoked.body_id})",
            )
        return revoked

    await run_in_transaction(request.app[POOL], work)
    raise web.HTTPSeeOther(f"{BASE}{back_query({'fait': 'revoquee', **back})}")
