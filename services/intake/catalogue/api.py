"""The catalogue over HTTP: what citizens pick from (bodies searchable and paged, the themes
offered for a body, places), and the administrators' edits (create, update, deactivate).

An update answers the row after it and, under ``before``, the row as it was when the update
locked it: what the change really changed, for the administrator's page and the audit log (the
page they edited from may be older than another administrator's change)."""

from __future__ import annotations

from typing import Annotated, Literal

import asyncpg
from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from services.intake import repository as repo
from services.intake.answers import Bodies, Places, Themes
from services.intake.catalogue import files as catalogue
from services.intake.catalogue import repository as cat
from services.intake.domain import normalize_email
from services.intake.keys import CATALOGUE_CACHE
from shared.answers import answer
from shared.identity import Role, requires
from shared.numbers import whole
from shared.service import connection, transaction
from shared.web import FieldErrors, field_error, json_error, not_found, read_model

routes = web.RouteTableDef()
PER_PAGE_MAX = 100


def body_json(row: asyncpg.Record) -> dict:
    return {
        "id": row["id"],
        "name": row["name"],
        "acronym": row["acronym"],
        "phones": list(row["phones"]),
        "location": row["location"],
        "email": row["email"],
        "hours": row["hours"],
    }


def _positive(request: web.Request, name: str, default: int | None, high: int) -> int | None:
    raw = request.query.get(name, "")
    if raw == "":
        return default
    value = whole(raw, 1, high)
    if value is None:
        raise FieldErrors(
            [field_error(name, f"Un nombre entier entre 1 et {high} est attendu.", "out_of_range")]
        )
    return value


@routes.get("/catalogue/bodies")
async def list_bodies(request: web.Request) -> web.Response:
    """``?q=`` words to find (name, location, telephone), ``?page=``/``?per_page=`` to page;
    without ``per_page`` every match comes back."""
    per_page = _positive(request, "per_page", None, PER_PAGE_MAX)
    page = _positive(request, "page", 1, 100_000) or 1
    words = catalogue.search_key(request.query.get("q", "")[:200]).split()
    offset = (page - 1) * per_page if per_page else 0
    async with connection(request) as conn:
        rows, total = await cat.search_bodies(conn, words, per_page, offset)
    return web.json_response(
        answer(
            Bodies, bodies=[body_json(r) for r in rows], total=total, page=page, per_page=per_page
        )
    )


def _theme_json(row: asyncpg.Record) -> dict:
    return {"id": row["id"], "parent_id": row["parent_id"], "label": row["label"]}


@routes.get("/catalogue/bodies/{body_id}")
async def get_body(request: web.Request) -> web.Response:
    """One active body with the themes offered for it."""
    body_id = request.match_info["body_id"]
    async with connection(request) as conn:
        row = await repo.body(conn, body_id)
        if row is None:
            return not_found("Cet organisme public n'existe pas.")
        full = await cat.row(conn, "bodies", body_id)
        themes = await cat.themes_for_body(conn, body_id)
    return web.json_response({"body": body_json(full), "themes": [_theme_json(t) for t in themes]})


@routes.get("/catalogue/themes")
async def list_themes(request: web.Request) -> web.Response:
    """Every active theme, or with ``?body_id=`` those offered for that body."""
    body_id = request.query.get("body_id")
    async with connection(request) as conn:
        rows = await (cat.themes_for_body(conn, body_id) if body_id else repo.themes(conn))
    return web.json_response(answer(Themes, themes=[_theme_json(r) for r in rows]))


@routes.get("/catalogue/places")
async def list_places(request: web.Request) -> web.Response:
    async with connection(request) as conn:
        rows = await repo.places(conn)
    return web.json_response(answer(Places, places=[dict(r) for r in rows]))


# -- administrators ----------------------------------------------------------------------------

Id = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{0,79}$")]
Label = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Phone = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^\+?[0-9 .]{4,30}$")]


class _Edit(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class BodyPatch(_Edit):
    name: Label | None = None
    acronym: Annotated[str, StringConstraints(max_length=30)] | None = None
    hours: Annotated[str, StringConstraints(max_length=300)] | None = None
    phones: Annotated[list[Phone], Field(max_length=10)] | None = None
    location: Annotated[str, StringConstraints(max_length=300)] | None = None
    email: Annotated[str, StringConstraints(max_length=254)] | None = None
    active: bool | None = None
    # The themes offered for the body; an empty list offers every theme.
    themes: Annotated[list[Id], Field(max_length=200)] | None = None

    @field_validator("email")
    @classmethod
    def _email(cls, value: str | None) -> str | None:
        if not value:
            return value
        try:
            return normalize_email(value)
        except ValueError:
            raise ValueError("Cette adresse électronique n'est pas valide.") from None


class BodyIn(BodyPatch):
    id: Id | None = None
    name: Label
    phones: Annotated[list[Phone], Field(max_length=10)] = []
    location: Annotated[str, StringConstraints(max_length=300)] = ""
    email: Annotated[str, StringConstraints(max_length=254)] = ""
    acronym: Annotated[str, StringConstraints(max_length=30)] = ""
    hours: Annotated[str, StringConstraints(max_length=300)] = ""
    active: bool = True


class ThemePatch(_Edit):
    label: Label | None = None
    position: Annotated[int, Field(ge=0, le=10_000)] | None = None
    active: bool | None = None


class ThemeIn(ThemePatch):
    id: Id | None = None
    label: Label
    parent_id: Id | None = None
    position: Annotated[int, Field(ge=0, le=10_000)] = 0
    active: bool = True
    # The body the new theme is offered for, added to its list in the same transaction: the
    # theme is never made for a body that is gone (nor the list saved without the theme).
    body_id: Id | None = None


class PlacePatch(_Edit):
    region: Annotated[str, StringConstraints(min_length=1, max_length=100)] | None = None
    name: Annotated[str, StringConstraints(min_length=1, max_length=100)] | None = None
    kind: Literal["commune", "sous-prefecture"] | None = None
    active: bool | None = None


class PlaceIn(PlacePatch):
    id: Id | None = None
    region: Annotated[str, StringConstraints(min_length=1, max_length=100)]
    name: Annotated[str, StringConstraints(min_length=1, max_length=100)]
    kind: Literal["commune", "sous-prefecture"] = "commune"
    active: bool = True


def _set(model: BaseModel) -> dict:
    """The fields the administrator sent (a PATCH leaves the others as they are)."""
    return model.model_dump(exclude_unset=True)


async def _check_themes(conn: asyncpg.Connection, theme_ids: list[str]) -> None:
    missing = set(theme_ids) - await cat.existing_ids(conn, "themes", theme_ids)
    if missing:
        raise FieldErrors(
            [field_error("themes", f"Thèmes inconnus : {', '.join(sorted(missing))}.")]
        )


def _new_id(given: str | None, made_from: str, field: str, named: str) -> str:
    """A new row's identifier: the one given, else one made from ``made_from`` (its name). A
    name without a letter or a digit (« !!! ») would make an empty identifier, whose row no page
    can name: refused on ``field`` (``named``: what the administrator typed there)."""
    if given:
        return given
    if not catalogue.search_key(named):
        raise FieldErrors(
            [field_error(field, "Écrivez au moins une lettre ou un chiffre.", "no_identifier")]
        )
    return catalogue.slug(made_from)


def _body_gone(body_id: str) -> web.Response:
    """The body an edit names is not (or no longer) in the catalogue: nothing was written."""
    return json_error(404, "body_not_found", "Cet organisme public n'existe pas.", body_id=body_id)


def _conflict(what: str, row_id: str) -> web.Response:
    return json_error(409, "conflict", f"{what} « {row_id} » existe déjà.", id=row_id)


@routes.get("/catalogue/admin")
@requires(Role.ADMINISTRATOR)
async def everything(request: web.Request) -> web.Response:
    async with connection(request) as conn:
        data = await cat.all_catalogue(conn)

    def plain(row: asyncpg.Record) -> dict:
        out = dict(row)
        if "phones" in out:
            out["phones"] = list(out["phones"])
        if out.get("edited_at") is not None:
            out["edited_at"] = out["edited_at"].isoformat()
        return out

    return web.json_response({name: [plain(r) for r in rows] for name, rows in data.items()})


@routes.post("/catalogue/bodies")
@requires(Role.ADMINISTRATOR)
async def create_body(request: web.Request) -> web.Response:
    new = await read_model(request, BodyIn)
    body_id = _new_id(new.id, new.name, "name", new.name)

    async def work(conn: asyncpg.Connection) -> web.Response:
        if new.themes:
            await _check_themes(conn, new.themes)
        created = await cat.insert_row(
            conn,
            "bodies",
            {
                "id": body_id,
                "name": new.name,
                "acronym": new.acronym,
                "phones": new.phones,
                "location": new.location,
                "email": new.email,
                "hours": new.hours,
                "active": new.active,
                "search_text": catalogue.body_search_text(
                    new.name, new.location, new.phones, new.email, new.acronym
                ),
            },
        )
        if not created:
            return _conflict("L'organisme", body_id)
        if new.themes:
            await cat.set_body_themes(conn, body_id, new.themes)
        return web.json_response(await _body_view(conn, body_id), status=201)

    return await _run(request, work)


async def _body_view(conn: asyncpg.Connection, body_id: str) -> dict:
    row = await cat.row(conn, "bodies", body_id)
    return {
        **body_json(row),
        "active": row["active"],
        "themes": await cat.body_theme_ids(conn, body_id),
    }


async def _run(request: web.Request, work) -> web.Response:
    answer = await transaction(request, work)
    # This copy forgets at once; the others when the trigger's notification reaches them.
    request.app[CATALOGUE_CACHE].forget()
    return answer


@routes.patch("/catalogue/bodies/{body_id}")
@requires(Role.ADMINISTRATOR)
async def update_body(request: web.Request) -> web.Response:
    body_id = request.match_info["body_id"]
    patch = await read_model(request, BodyPatch)
    changes = _set(patch)
    themes = changes.pop("themes", None)

    async def work(conn: asyncpg.Connection) -> web.Response:
        # Locked: a body deleted meanwhile is a 404 here, not an UPDATE of nothing followed
        # by its list written for no body.
        current = await cat.row(conn, "bodies", body_id, lock=True)
        if current is None:
            return not_found("Cet organisme public n'existe pas.")
        if themes:
            await _check_themes(conn, themes)
        merged = {
            "name": changes.get("name", current["name"]),
            "location": changes.get("location", current["location"]),
            "phones": changes.get("phones", list(current["phones"])),
            "email": changes.get("email", current["email"]),
            "acronym": changes.get("acronym", current["acronym"]),
        }
        changes["search_text"] = catalogue.body_search_text(**merged)
        before = await _body_view(conn, body_id)
        await cat.update_row(conn, "bodies", body_id, changes)
        if themes is not None:
            await cat.set_body_themes(conn, body_id, themes)
        return web.json_response({**await _body_view(conn, body_id), "before": before})

    return await _run(request, work)


def _theme_view(row: asyncpg.Record) -> dict:
    return {
        "id": row["id"],
        "parent_id": row["parent_id"],
        "label": row["label"],
        "position": row["position"],
        "active": row["active"],
    }


@routes.post("/catalogue/themes")
@requires(Role.ADMINISTRATOR)
async def create_theme(request: web.Request) -> web.Response:
    new = await read_model(request, ThemeIn)
    made_from = f"{new.parent_id}-{new.label}" if new.parent_id else new.label
    theme_id = _new_id(new.id, made_from, "label", new.label)

    async def work(conn: asyncpg.Connection) -> web.Response:
        body = None
        if new.body_id:
            # Locked until the end: a body deleted meanwhile is seen gone here, before anything
            # is written; one retired meanwhile is seen retired, and said so in the answer.
            body = await cat.row(conn, "bodies", new.body_id, lock=True)
            if body is None:
                return _body_gone(new.body_id)
        if new.parent_id:
            parent = await cat.row(conn, "themes", new.parent_id)
            if parent is None or parent["parent_id"] is not None:
                # Two levels only: a theme and its sub-themes.
                raise FieldErrors(
                    [field_error("parent_id", "Choisissez un thème principal existant.")]
                )
        values = {
            "id": theme_id,
            "parent_id": new.parent_id,
            "label": new.label,
            "position": new.position,
            "active": new.active,
        }
        if not await cat.insert_row(conn, "themes", values):
            return _conflict("Le thème", theme_id)
        made = _theme_view(await cat.row(conn, "themes", theme_id))
        if body is not None:
            before = await cat.body_theme_ids(conn, body["id"])
            await cat.offer_theme(conn, body["id"], theme_id)
            # A retired body keeps its list (its « Thèmes proposés » form works too), ready for
            # when it is restored; its state tells the administrator it offers nothing yet.
            made["body"] = {
                "id": body["id"],
                "active": body["active"],
                "themes_before": before,
                "themes": await cat.body_theme_ids(conn, body["id"]),
            }
        return web.json_response(made, status=201)

    return await _run(request, work)


@routes.patch("/catalogue/themes/{theme_id}")
@requires(Role.ADMINISTRATOR)
async def update_theme(request: web.Request) -> web.Response:
    theme_id = request.match_info["theme_id"]
    patch = await read_model(request, ThemePatch)

    if theme_id == cat.OTHER_THEME and patch.active is False:
        raise FieldErrors(
            [field_error("active", "« Autre » est proposé pour tout organisme : gardez-le.")]
        )

    async def work(conn: asyncpg.Connection) -> web.Response:
        before = await cat.row(conn, "themes", theme_id, lock=True)
        if before is None:
            return not_found("Ce thème n'existe pas.")
        await cat.update_row(conn, "themes", theme_id, _set(patch))
        after = await cat.row(conn, "themes", theme_id)
        return web.json_response({**_theme_view(after), "before": _theme_view(before)})

    return await _run(request, work)


def _place_view(row: asyncpg.Record) -> dict:
    return {k: row[k] for k in ("id", "region", "name", "kind", "active")}


@routes.post("/catalogue/places")
@requires(Role.ADMINISTRATOR)
async def create_place(request: web.Request) -> web.Response:
    new = await read_model(request, PlaceIn)
    place_id = _new_id(new.id, f"{new.region}-{new.name}", "name", new.name)

    async def work(conn: asyncpg.Connection) -> web.Response:
        # A new place joins its region where the region is listed; a new region goes last.
        position = await conn.fetchval(
            """SELECT COALESCE(min(region_position) FILTER (WHERE region = $1),
                               max(region_position) + 1, 0) FROM places""",
            new.region,
        )
        values = {**_set(new), "id": place_id, "region_position": position}
        values.setdefault("kind", new.kind)
        values.setdefault("active", new.active)
        if not await cat.insert_row(conn, "places", values):
            return _conflict("Le lieu", place_id)
        return web.json_response(_place_view(await cat.row(conn, "places", place_id)), status=201)

    return await _run(request, work)


@routes.patch("/catalogue/places/{place_id}")
@requires(Role.ADMINISTRATOR)
async def update_place(request: web.Request) -> web.Response:
    place_id = request.match_info["place_id"]
    patch = await read_model(request, PlacePatch)

    async def work(conn: asyncpg.Connection) -> web.Response:
        before = await cat.row(conn, "places", place_id, lock=True)
        if before is None:
            return not_found("Ce lieu n'existe pas.")
        await cat.update_row(conn, "places", place_id, _set(patch))
        after = await cat.row(conn, "places", place_id)
        return web.json_response({**_place_view(after), "before": _place_view(before)})

    return await _run(request, work)
