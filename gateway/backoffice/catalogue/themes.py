"""« Catalogue » › the themes and sub-themes: the tree, a theme's form."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aiohttp import web

from gateway.backoffice import shell
from gateway.backoffice.catalogue.common import (
    BASE,
    DONE,
    ID,
    OTHER_THEME,
    THEME_LABELS,
    changes,
    described,
    everything,
    find_row,
    guarded,
    holds,
    journal,
    plain,
    row_or_404,
    save,
    see_other,
)
from gateway.web import forms
from gateway.web.listing import address_after, back_of, back_query, listing_at, listing_of
from shared.numbers import whole

routes = web.RouteTableDef()
# Main themes a page of the list shows, each with its sub-themes.
THEMES_PER_PAGE = 25
# What each field of a theme takes, in characters.
THEME_MAX = {"label": 200, "parent_id": 100, "position": 10}


def theme_problems(label: str) -> dict[str, str]:
    """The intitulé's refusal, beside it: empty or longer than it takes."""
    if not label:
        return {"label": "Indiquez l'intitulé du thème."}
    return forms.too_long({"label": label}, THEME_MAX)


def _tree(themes: list[dict[str, Any]]) -> list[tuple[dict, list[dict]]]:
    parents = [t for t in themes if not t["parent_id"]]
    parents.sort(key=lambda t: (t["id"] == OTHER_THEME, t["position"], t["id"]))
    return [
        (p, sorted((t for t in themes if t["parent_id"] == p["id"]), key=lambda t: t["position"]))
        for p in parents
    ]


def _found(tree: list[tuple[dict, list[dict]]], words: str) -> list[tuple[dict, list[dict]]]:
    """The main themes whose label, or one of whose sub-themes' labels, holds each of ``words``
    (at a word's start, accents and case aside), each with all its sub-themes."""
    wanted = plain(words).split()
    return [
        (theme, children)
        for theme, children in tree
        if any(holds(t["label"], wanted) for t in [theme, *children])
    ]


def theme_list_at(
    themes: list[dict[str, Any]],
    theme_id: str,
    done: str,
    back: Mapping[str, str] | None = None,
) -> str:
    """The list's address after an action on ``theme_id``, saying ``done``: with the search
    the administrator was on (``back``), at the page of it that shows the theme (a sub-theme:
    its theme's; the page they were on when it no longer matches), and at the theme itself."""
    back = back or {}
    row = find_row(themes, theme_id)
    top = (row or {}).get("parent_id") or theme_id
    found = _found(_tree(themes), back.get("q", ""))
    at = next((n for n, (t, _) in enumerate(found) if t["id"] == top), None)
    return address_after(f"{BASE}/themes", done, back, at, THEMES_PER_PAGE, f"t-{theme_id}")


async def render_theme_list(
    request: web.Request,
    data: dict[str, list],
    errors: dict[str, str] | None = None,
    status: int = 200,
    back: Mapping[str, str] | None = None,
) -> web.Response:
    """The themes' list; ``back``: the search, sort and page posted with an action refused at its
    own address (``…/retirer``), the list shown again there and its links leading to the list."""
    if back is None:
        listing = listing_of(request, (), "", per_page=THEMES_PER_PAGE)
    else:
        listing = listing_at(f"{BASE}/themes", back, (), "", per_page=THEMES_PER_PAGE)
    tree = _found(_tree(data["themes"]), listing.words)
    names = {b["id"]: b["name"] for b in data["bodies"]}
    offered_by: dict[str, list[str]] = {}
    for pair in data["body_themes"]:
        offered_by.setdefault(pair["theme_id"], []).append(names.get(pair["body_id"], ""))
    return await shell.render(
        request,
        "backoffice/catalogue_themes.html",
        {
            "title": "Thèmes",
            "tree": tree[listing.offset : listing.offset + listing.per_page],
            "listing": listing,
            "total": len(tree),
            "offered_by": offered_by,
            "other": OTHER_THEME,
            "errors": errors or {},
            "done": DONE.get(request.query.get("fait", "")),
            # Carried by the actions' links and forms, so that each comes back here.
            "back": listing.back,
            "back_query": back_query(listing.back),
        },
        status=status,
    )


@routes.get(f"{BASE}/themes", name="bo-catalogue-themes")
@guarded
async def theme_list(request: web.Request) -> web.Response:
    return await render_theme_list(request, await everything(request))


def _theme_values(form: Any) -> dict[str, str]:
    return {
        # Whole: checked as typed, cut only to be shown again (forms.cut).
        name: str(form.get(name, "")).strip()
        for name in THEME_MAX
    }


def _theme_form_problems(values: dict[str, str], parents: set[str]) -> dict[str, str]:
    errors = {**forms.too_long(values, THEME_MAX), **theme_problems(values["label"])}
    if values["parent_id"] and values["parent_id"] not in parents:
        errors["parent_id"] = "Choisissez un thème principal de la liste."
    if (
        "position" not in errors
        and values["position"]
        and whole(values["position"], 0, 10_000) is None
    ):
        errors["position"] = "Un nombre entier entre 0 et 10 000."
    return errors


async def _theme_form(
    request: web.Request,
    data: dict[str, list],
    values: dict[str, str],
    errors: dict[str, str],
    theme: dict[str, Any] | None = None,
    status: int = 200,
    back: Mapping[str, str] | None = None,
) -> web.Response:
    back = back if back is not None else back_of(request.query)
    parents = [
        t
        for t in data["themes"]
        if not t["parent_id"]
        and t["id"] != OTHER_THEME
        and (theme is None or t["id"] != theme["id"])
    ]
    return await shell.render(
        request,
        "backoffice/catalogue_theme_form.html",
        {
            "title": f"Modifier le thème {theme['label']}" if theme else "Ajouter un thème",
            "theme": theme,
            "action": f"{BASE}/themes/{theme['id']}/modifier"
            if theme
            else f"{BASE}/themes/nouveau",
            "parents": parents,
            "values": forms.cut(values, THEME_MAX, forms.TYPED_ROOM),
            "errors": errors,
            "labels": THEME_LABELS,
            "back": back,
            "back_query": back_query(back),
        },
        status=status,
    )


def _parent_ids(data: dict[str, list]) -> set[str]:
    return {t["id"] for t in data["themes"] if not t["parent_id"] and t["id"] != OTHER_THEME}


@routes.get(f"{BASE}/themes/nouveau", name="bo-catalogue-theme-nouveau")
@guarded
async def new_theme_form(request: web.Request) -> web.Response:
    data = await everything(request)
    parent = request.query.get("parent", "")
    values = {"parent_id": parent if parent in _parent_ids(data) else ""}
    return await _theme_form(request, data, values, {})


@routes.post(f"{BASE}/themes/nouveau")
@guarded
async def create_theme(request: web.Request) -> web.Response:
    data = await everything(request)
    posted = await request.post()
    values, back = _theme_values(posted), back_of(posted)
    if errors := _theme_form_problems(values, _parent_ids(data)):
        return await _theme_form(request, data, values, errors, status=422, back=back)
    fields: dict[str, Any] = {"label": values["label"]}
    if values["parent_id"]:
        fields["parent_id"] = values["parent_id"]
    if values["position"]:
        fields["position"] = int(values["position"])
    errors, theme = await save(
        request,
        "themes",
        None,
        fields,
        values,
        conflict=lambda _: {"label": "Un thème porte déjà cet intitulé (au même niveau)."},
    )
    if errors:
        return await _theme_form(request, data, values, errors, status=422, back=back)
    parent = find_row(data["themes"], values["parent_id"]) if values["parent_id"] else None
    await journal(
        request,
        "catalogue_created",
        f"thème {theme['id']}",
        described(
            {
                "label": theme["label"],
                "parent_id": parent["label"] if parent else "",
                "position": theme["position"],
            },
            THEME_LABELS,
        ),
    )
    themes = (await everything(request))["themes"]
    return see_other(theme_list_at(themes, theme["id"], "theme-cree", back))


@routes.get(f"{BASE}/themes/{ID}/modifier", name="bo-catalogue-theme-modifier")
@guarded
async def edit_theme_form(request: web.Request) -> web.Response:
    theme, data = await row_or_404(request, "themes")
    values = {"label": theme["label"], "position": str(theme["position"])}
    return await _theme_form(request, data, values, {}, theme)


@routes.post(f"{BASE}/themes/{ID}/modifier")
@guarded
async def edit_theme(request: web.Request) -> web.Response:
    theme, data = await row_or_404(request, "themes")
    posted = await request.post()
    values, back = _theme_values(posted), back_of(posted)
    values["parent_id"] = ""  # a theme keeps its place in the tree
    if errors := _theme_form_problems(values, set()):
        return await _theme_form(request, data, values, errors, theme, status=422, back=back)
    fields: dict[str, Any] = {"label": values["label"]}
    if values["position"]:
        fields["position"] = int(values["position"])
    changed = {k: v for k, v in fields.items() if theme.get(k) != v}
    if not changed:
        return see_other(theme_list_at(data["themes"], theme["id"], "inchange", back))
    errors, answer = await save(request, "themes", theme["id"], changed, ["label", "position"])
    if errors:
        return await _theme_form(request, data, values, errors, theme, status=422, back=back)
    # What intake had when it changed it, not this page's older copy.
    said = changes(answer.get("before", theme), changed, THEME_LABELS)
    if not said:
        return see_other(theme_list_at(data["themes"], theme["id"], "inchange", back))
    await journal(request, "catalogue_changed", f"thème {theme['id']}", said)
    return see_other(theme_list_at(data["themes"], theme["id"], "modifie", back))
