"""« Catalogue » › the public bodies: the list, searchable; a body's page, its form, its themes.

The list is searched, filtered and paged: the links to a body (and to « Ajouter un organisme »)
carry its search, state and page (``BODIES.back_of``), and so do the body's page, its form and
each of their forms, so that their breadcrumb leads back to the list there after any action,
done or refused, as « Clés d'API » does."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from aiohttp import web

from gateway.backoffice import shell
from gateway.backoffice.catalogue.common import (
    BASE,
    BODY_LABELS,
    DONE,
    ID,
    LISTS,
    OTHER_THEME,
    THEME_LABELS,
    changes,
    described,
    everything,
    guarded,
    holds,
    intake_errors,
    journal,
    plain,
    row_or_404,
    save,
    see_other,
    send,
)
from gateway.backoffice.catalogue.themes import THEME_MAX, theme_problems
from gateway.web import forms
from gateway.web.listing import back_query, listing_of

routes = web.RouteTableDef()
BODIES = LISTS["bodies"]  # the list's address and its own filter (« État »: etat)
STATES = [("", "Tous"), ("actifs", "Proposés"), ("retires", "Retirés")]
PHONE = re.compile(r"^\+?[0-9 .]{4,30}$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
# What each field of a body takes, in characters; the phones: 10 numbers of 30 and their commas.
BODY_MAX = {
    "name": 200,
    "acronym": 30,
    "phones": 400,
    "email": 254,
    "location": 300,
    "hours": 300,
}
# The new theme on a body's page, and its sub-themes: 50 lines of 200 characters.
NEW_THEME_MAX = {**THEME_MAX, "children": 50 * 201}


def body_page_at(body_id: str, back: Mapping[str, str], done: str = "") -> str:
    """The body's page, saying ``done``, at the list's search, sort and page ``back``."""
    return f"{BASE}/organismes/{body_id}{back_query({'fait': done, **back} if done else back)}"


def _matches(body: dict[str, Any], words: list[str]) -> bool:
    return holds(
        " ".join(
            [
                body["name"],
                body.get("acronym", ""),
                body["location"],
                body["email"],
                *body["phones"],
            ]
        ),
        words,
    )


@routes.get(BASE, name="bo-catalogue")
@guarded
async def body_list(request: web.Request) -> web.Response:
    listing = listing_of(request, ("nom",), "nom", filters=BODIES.filters)
    state = request.query.get("etat", "")
    state = state if state in dict(STATES) else ""
    data = await everything(request)
    words = plain(listing.words).split()
    found = [
        b
        for b in data["bodies"]
        if _matches(b, words) and (not state or b["active"] == (state == "actifs"))
    ]
    found.sort(key=lambda b: plain(b["name"]), reverse=listing.descending)
    rows = found[listing.offset : listing.offset + listing.per_page]
    return await shell.render(
        request,
        "backoffice/catalogue_bodies.html",
        {
            "title": "Catalogue",
            "listing": listing,
            # Carried by the links to each body and to a new one, so they lead back here.
            "back_query": back_query(listing.back),
            "rows": rows,
            "total": len(found),
            "state": state,
            "states": STATES,
        },
    )


def _body_values(form: Any) -> dict[str, str]:
    # Whole: checked against BODY_MAX as typed, cut only to be shown again (forms.cut).
    return {name: str(form.get(name, "")).strip() for name in BODY_MAX}


def _phones(text: str) -> list[str]:
    return [p.strip() for p in re.split(r"[,;/\n]+", text) if p.strip()]


def _body_problems(values: dict[str, str]) -> dict[str, str]:
    errors = forms.too_long(values, BODY_MAX)
    if not values["name"]:
        errors["name"] = "Indiquez le nom de l'organisme."
    phones = _phones(values["phones"])
    if "phones" in errors:
        pass
    elif len(phones) > 10:
        errors["phones"] = "10 numéros au plus."
    elif bad := [p for p in phones if not PHONE.match(p)]:
        errors["phones"] = (
            f"Numéro invalide : « {bad[0]} ». Des chiffres (espaces et points permis), "
            "séparés par des virgules."
        )
    if values["email"] and "email" not in errors and not EMAIL.match(values["email"]):
        errors["email"] = "Adresse électronique invalide (exemple : contact@budget.gouv.ci)."
    return errors


def _body_fields(values: dict[str, str]) -> dict[str, Any]:
    return {
        "name": values["name"],
        "acronym": values["acronym"],
        "phones": _phones(values["phones"]),
        "email": values["email"],
        "location": values["location"],
        "hours": values["hours"],
    }


def _body_form_values(body: dict[str, Any]) -> dict[str, str]:
    return {
        "name": body["name"],
        "acronym": body.get("acronym", ""),
        "phones": ", ".join(body["phones"]),
        "email": body["email"],
        "location": body["location"],
        "hours": body.get("hours", ""),
    }


async def _body_form(
    request: web.Request,
    values: dict[str, str],
    errors: dict[str, str],
    body: dict[str, Any] | None = None,
    status: int = 200,
    back: Mapping[str, str] | None = None,
) -> web.Response:
    """The form of a new body or of ``body``; ``back``: the list's search, sort and page, posted
    with a refused form (read from the address otherwise)."""
    back = BODIES.back_of(request.query) if back is None else back
    return await shell.render(
        request,
        "backoffice/catalogue_body_form.html",
        {
            "title": f"Modifier {body['name']}" if body else "Ajouter un organisme",
            "body": body,
            "action": f"{BASE}/organismes/{body['id']}/modifier"
            if body
            else f"{BASE}/organismes/nouveau",
            "values": forms.cut(values, BODY_MAX, forms.TYPED_ROOM),
            "errors": errors,
            "labels": BODY_LABELS,
            "back": back,
            "back_query": back_query(back),
        },
        status=status,
    )


@routes.get(f"{BASE}/organismes/nouveau", name="bo-catalogue-organisme-nouveau")
@guarded
async def new_body_form(request: web.Request) -> web.Response:
    return await _body_form(request, {}, {})


@routes.post(f"{BASE}/organismes/nouveau")
@guarded
async def create_body(request: web.Request) -> web.Response:
    posted = await request.post()
    values, back = _body_values(posted), BODIES.back_of(posted)
    if errors := _body_problems(values):
        return await _body_form(request, values, errors, status=422, back=back)
    fields = _body_fields(values)
    errors, answer = await save(
        request,
        "bodies",
        None,
        fields,
        values,
        conflict=lambda there: {
            "name": f"Un organisme porte déjà ce nom (identifiant « {there.get('id')} »)."
        },
    )
    if errors:
        return await _body_form(request, values, errors, status=422, back=back)
    await journal(
        request,
        "catalogue_created",
        f"organisme {answer['id']}",
        described(fields, BODY_LABELS),
    )
    return see_other(body_page_at(answer["id"], back, "cree"))


def _offered(
    body_id: str, themes: list[dict[str, Any]], pairs: list[dict[str, Any]]
) -> tuple[list[str], list[tuple[dict, list[dict]]]]:
    """(the body's list of themes, the active themes offered to its citizens as (theme,
    sub-themes)) — as intake's ``themes_for_body`` chooses them."""
    mapped = [p["theme_id"] for p in pairs if p["body_id"] == body_id]
    by_id = {t["id"]: t for t in themes}
    groups = []
    for theme in themes:
        if theme["parent_id"] or not theme["active"]:
            continue
        children = [t for t in themes if t["parent_id"] == theme["id"] and t["active"]]
        if mapped and theme["id"] != OTHER_THEME and theme["id"] not in mapped:
            children = [c for c in children if c["id"] in mapped]
            if not children:
                continue
        groups.append((theme, children))
    groups.sort(key=lambda g: (g[0]["id"] == OTHER_THEME, g[0]["position"], g[0]["id"]))
    return [m for m in mapped if m in by_id], groups


async def _body_page(
    request: web.Request,
    body: dict[str, Any],
    data: dict[str, list],
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    status: int = 200,
    back: Mapping[str, str] | None = None,
) -> web.Response:
    """The body's page; ``back``: the list's search, sort and page, posted with a refused action
    (read from the address otherwise), that its breadcrumb and forms carry."""
    back = BODIES.back_of(request.query) if back is None else back
    mapped, groups = _offered(body["id"], data["themes"], data["body_themes"])
    choices = [
        t
        for t in data["themes"]
        if not t["parent_id"] and t["id"] != OTHER_THEME and (t["active"] or t["id"] in mapped)
    ]
    return await shell.render(
        request,
        "backoffice/catalogue_body.html",
        {
            "title": body["name"],
            "body": body,
            "mapped": mapped,
            "groups": groups,
            "choices": choices,
            "errors": errors or {},
            "values": forms.cut(values or {}, NEW_THEME_MAX, forms.TYPED_ROOM),
            "labels": {
                **THEME_LABELS,
                "label": "Intitulé du thème",
                "themes": "Thèmes de cet organisme",
            },
            "done": DONE.get(request.query.get("fait", "")),
            "back": back,
            "back_query": back_query(back),
        },
        status=status,
    )


@routes.get(f"{BASE}/organismes/{ID}", name="bo-catalogue-organisme")
@guarded
async def body_page(request: web.Request) -> web.Response:
    body, data = await row_or_404(request, "bodies")
    return await _body_page(request, body, data)


@routes.get(f"{BASE}/organismes/{ID}/modifier", name="bo-catalogue-organisme-modifier")
@guarded
async def edit_body_form(request: web.Request) -> web.Response:
    body, _ = await row_or_404(request, "bodies")
    return await _body_form(request, _body_form_values(body), {}, body)


@routes.post(f"{BASE}/organismes/{ID}/modifier")
@guarded
async def edit_body(request: web.Request) -> web.Response:
    body, _ = await row_or_404(request, "bodies")
    posted = await request.post()
    values, back = _body_values(posted), BODIES.back_of(posted)
    if errors := _body_problems(values):
        return await _body_form(request, values, errors, body, status=422, back=back)
    fields = _body_fields(values)
    before = {k: body.get(k, "") for k in fields}
    changed = {k: v for k, v in fields.items() if before[k] != v}
    if not changed:
        return see_other(body_page_at(body["id"], back, "inchange"))
    errors, answer = await save(request, "bodies", body["id"], changed, values)
    if errors:
        return await _body_form(request, values, errors, body, status=422, back=back)
    # What intake had when it changed it, not this page's older copy (an intake that does not
    # say it yet, during an upgrade: the copy).
    said = changes(answer.get("before", before), changed, BODY_LABELS)
    if not said:
        return see_other(body_page_at(body["id"], back, "inchange"))
    await journal(request, "catalogue_changed", f"organisme {body['id']}", said)
    return see_other(body_page_at(body["id"], back, "modifie"))


@routes.post(f"{BASE}/organismes/{ID}/themes", name="bo-catalogue-organisme-themes")
@guarded
async def body_themes(request: web.Request) -> web.Response:
    """The body's list of themes (none ticked: every theme is offered)."""
    body, data = await row_or_404(request, "bodies")
    form = await request.post()
    back = BODIES.back_of(form)
    known = {t["id"] for t in data["themes"] if not t["parent_id"] and t["id"] != OTHER_THEME}
    chosen = sorted({str(v) for v in form.getall("themes", []) if str(v) in known})
    mapped, _ = _offered(body["id"], data["themes"], data["body_themes"])
    # Sub-themes listed on their own stay listed (this form shows the main themes only).
    kept = sorted({m for m in mapped if m not in known} | set(chosen))
    if kept == sorted(mapped):
        return see_other(body_page_at(body["id"], back, "inchange"))
    # The body gone meanwhile: its « introuvable » page (``save``); a theme intake no longer
    # has: its refusal on the page, nothing saved.
    errors, answer = await save(request, "bodies", body["id"], {"themes": kept}, ["themes"])
    if errors:
        return await _body_page(request, body, data, errors, status=422, back=back)
    # What intake had when it changed it, not this page's older copy.
    said = changes(answer.get("before", {"themes": sorted(mapped)}), {"themes": kept}, BODY_LABELS)
    if not said:
        return see_other(body_page_at(body["id"], back, "inchange"))
    await journal(request, "catalogue_changed", f"organisme {body['id']}", said)
    return see_other(body_page_at(body["id"], back, "themes"))


def _children(text: str) -> list[str]:
    return list(dict.fromkeys(line.strip() for line in text.splitlines() if line.strip()))


@routes.post(f"{BASE}/organismes/{ID}/nouveau-theme", name="bo-catalogue-organisme-nouveau-theme")
@guarded
async def body_new_theme(request: web.Request) -> web.Response:
    """A new theme (and its sub-themes) offered for this body: added to its list; a body that
    had no list keeps every theme it offered, and the new one."""
    body, data = await row_or_404(request, "bodies")
    form = await request.post()
    back = BODIES.back_of(form)
    values = {
        "label": str(form.get("label", "")).strip(),
        "children": str(form.get("children", "")),
    }
    errors = {**forms.too_long(values, NEW_THEME_MAX), **theme_problems(values["label"])}
    children = _children(values["children"])
    if "children" in errors:
        pass
    elif len(children) > 50 or any(len(c) > 200 for c in children):
        errors["children"] = "50 sous-thèmes au plus, de 200 caractères chacun au plus."
    if errors:
        return await _body_page(request, body, data, errors, values, status=422, back=back)
    # One call: intake makes the theme and adds it to the body's list in one transaction, or
    # does neither (the body gone meanwhile: its « introuvable » page, raised by ``save``).
    errors, theme = await save(
        request,
        "themes",
        None,
        {"label": values["label"], "body_id": body["id"]},
        ["label"],
        conflict=lambda _: {
            "label": "Un thème porte déjà cet intitulé : cochez-le dans la liste ci-dessus."
        },
    )
    if errors:
        return await _body_page(request, body, data, errors, values, status=422, back=back)
    offered = theme["body"]
    await journal(
        request, "catalogue_created", f"thème {theme['id']}", f"Intitulé : « {theme['label']} »"
    )
    await journal(
        request,
        "catalogue_changed",
        f"organisme {body['id']}",
        changes({"themes": offered["themes_before"]}, {"themes": offered["themes"]}, BODY_LABELS),
    )
    refused = await _add_children(request, theme, children)
    # A body retired meanwhile has the theme in its list, and offers nothing: said so.
    done = "theme" if offered["active"] else "theme-retire"
    if refused:
        # The theme is made and offered; the refused sub-themes are said beside their field,
        # left in it (and only they) for the administrator to correct.
        said = " ; ".join(f"« {label} » : {why}" for label, why in refused)
        errors = {
            "children": f"Le thème « {theme['label']} » est ajouté, mais le catalogue refuse "
            f"ces sous-thèmes : {said} Corrigez-les depuis la liste des thèmes."
        }
        values = {"children": "\n".join(label for label, _ in refused)}
        data = await everything(request)
        return await _body_page(request, body, data, errors, values, status=422, back=back)
    return see_other(body_page_at(body["id"], back, done))


async def _add_children(
    request: web.Request, theme: dict[str, Any], labels: list[str]
) -> list[tuple[str, str]]:
    """The sub-themes of the new ``theme``, each made and written in the journal; those intake
    refuses, as (label, why in French)."""
    refused: list[tuple[str, str]] = []
    for label in labels:
        status, child = await send(
            request, "themes", None, {"label": label, "parent_id": theme["id"]}
        )
        if status == 409:
            refused.append((label, f"un thème de même nom existe déjà (« {child.get('id')} »)."))
            continue
        if status != 201:
            refused.append((label, intake_errors(child, ["label"])["label"]))
            continue
        await journal(
            request,
            "catalogue_created",
            f"thème {child['id']}",
            f"Intitulé : « {label} » ; Thème principal : « {theme['label']} »",
        )
    return refused
