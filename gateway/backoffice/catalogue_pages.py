"""« Administration › Catalogue »: the administrators keep intake's catalogue — public bodies
(name, acronym, telephones, email, address, hours), the themes offered for each, themes and
sub-themes, places — through intake's catalogue API (``gateway.clients.intake``).

Nothing is ever deleted: a body, theme or place is *retired* (``active`` false), so that the
requests naming it keep it, and the citizens are no longer offered it. « Autre » is offered for
every body, whatever its list (intake's ``OTHER_THEME``), and cannot be retired.

Every change is one line of the gateway's audit log (« Journal d'audit »): who, when, from where,
the row (« organisme <id> », « thème <id> », « lieu <id> ») and what changed, field by field.
Intake's rows carry ``edited_at`` too (when the data files stop overwriting them).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from gateway.backoffice import access, shell
from gateway.backoffice.access import staff_required
from gateway.clients.catalogue import KEPT
from gateway.clients.intake import INTAKE
from gateway.clients.transport import ServiceUnavailable
from gateway.web.listing import listing_of
from shared.identity import Role

routes = web.RouteTableDef()
ADMIN = Role.ADMINISTRATOR
ID = "{row_id:[a-z0-9][a-z0-9-]{0,79}}"
OTHER_THEME = "autre"  # intake's catalogue.repository.OTHER_THEME
BASE = "/admin/catalogue"
PLACE_KINDS = [("commune", "Commune"), ("sous-prefecture", "Sous-préfecture")]
STATES = [("", "Tous"), ("actifs", "Proposés"), ("retires", "Retirés")]

BODY_LABELS = {
    "name": "Nom",
    "acronym": "Sigle",
    "phones": "Téléphones",
    "email": "Adresse électronique",
    "location": "Adresse",
    "hours": "Horaires d'accueil",
    "themes": "Thèmes proposés",
    "active": "État",
}
THEME_LABELS = {
    "label": "Intitulé",
    "parent_id": "Thème principal",
    "position": "Ordre d'affichage",
    "children": "Sous-thèmes",
    "active": "État",
}
PLACE_LABELS = {
    "region": "Région ou district",
    "name": "Nom",
    "kind": "Type",
    "active": "État",
}
DONE = {
    "cree": "L'organisme est ajouté au catalogue.",
    "modifie": "Les modifications sont enregistrées.",
    "inchange": "Rien n'a changé : aucune modification enregistrée.",
    "retire": "Retiré : il n'est plus proposé aux usagers ; les requêtes qui le citent le gardent.",
    "retabli": "Rétabli : il est de nouveau proposé aux usagers.",
    "themes": "Les thèmes proposés pour cet organisme sont enregistrés.",
    "theme": "Le thème est ajouté et proposé pour cet organisme.",
    "theme-cree": "Le thème est ajouté au catalogue.",
    "lieu-cree": "Le lieu est ajouté au catalogue.",
}
PHONE = re.compile(r"^\+?[0-9 .]{4,30}$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class Unavailable(Exception):
    """Intake did not answer as it should: the page says so (503)."""


def _see_other(location: str) -> web.Response:
    return web.Response(status=303, headers={"Location": location})


def _plain(text: str) -> str:
    """Lower-cased, without accents: what the bodies' search compares."""
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    return " ".join(re.split(r"[^a-z0-9]+", folded)).strip()


# --- intake ------------------------------------------------------------------------------------


async def _everything(request: web.Request) -> dict[str, list[dict[str, Any]]]:
    try:
        status, body = await request.app[INTAKE].catalogue_everything(
            identity=access.staff_identity(request)
        )
    except ServiceUnavailable as exc:
        raise Unavailable from exc
    if status != 200 or not isinstance(body, dict):
        raise Unavailable
    return body


async def _send(
    request: web.Request, kind: str, row_id: str | None, fields: dict[str, Any]
) -> tuple[int, Any]:
    """Create (``row_id`` None) or change one row; raises Unavailable."""
    client = request.app[INTAKE]
    try:
        if row_id is None:
            answer = await client.catalogue_create(
                kind, fields, identity=access.staff_identity(request)
            )
        else:
            answer = await client.catalogue_update(
                kind, row_id, fields, identity=access.staff_identity(request)
            )
    except ServiceUnavailable as exc:
        raise Unavailable from exc
    if answer[0] >= 500:
        raise Unavailable
    return answer


def _forget(request: web.Request) -> None:
    """This copy's kept catalogue (citizens' form, back-office body names) follows the change."""
    request.app[KEPT].forget()
    request.app[shell.BODY_NAMES].clear()


def _intake_errors(body: Any, fields: Iterable[str]) -> dict[str, str]:
    """Intake's 422 field errors, by the form's field (``phones.0`` → ``phones``); one it does
    not name goes to the first of ``fields``."""
    names = list(fields)
    errors: dict[str, str] = {}
    for error in (body or {}).get("errors", []) if isinstance(body, dict) else []:
        name = str(error.get("field", "")).split(".")[0]
        errors.setdefault(
            name if name in names else names[0], str(error.get("message") or "Valeur invalide.")
        )
    return errors or {names[0]: "Valeur refusée par le catalogue."}


def _shown(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    if isinstance(value, bool):
        return "proposé" if value else "retiré"
    return "" if value is None else str(value)


def _changes(before: dict[str, Any], after: dict[str, Any], labels: dict[str, str]) -> str:
    """« Nom : « avant » → « après » ; … » for the fields that differ."""
    return " ; ".join(
        f"{labels.get(k, k)} : « {_shown(before.get(k))} » → « {_shown(v)} »"
        for k, v in after.items()
        if before.get(k) != v
    )


def _described(values: dict[str, Any], labels: dict[str, str]) -> str:
    return " ; ".join(f"{labels.get(k, k)} : « {_shown(v)} »" for k, v in values.items() if v)


def _unavailable_page(request: web.Request) -> Awaitable[web.Response]:
    return shell.render(
        request, "backoffice/catalogue_unavailable.html", {"title": "Catalogue"}, status=503
    )


def _not_found(what: str) -> web.HTTPNotFound:
    return web.HTTPNotFound(text=what, content_type="text/plain")


def guarded(handler: Callable[[web.Request], Awaitable[web.StreamResponse]]):
    """Administrators only; intake not answering gives the « indisponible » page."""

    @staff_required(ADMIN)
    async def wrapped(request: web.Request) -> web.StreamResponse:
        try:
            return await handler(request)
        except Unavailable:
            return await _unavailable_page(request)

    wrapped.__name__ = handler.__name__
    wrapped.__doc__ = handler.__doc__
    return wrapped


def _row(rows: list[dict[str, Any]], row_id: str) -> dict[str, Any] | None:
    return next((r for r in rows if r["id"] == row_id), None)


# --- the bodies --------------------------------------------------------------------------------


def _matches(body: dict[str, Any], words: list[str]) -> bool:
    text = " " + _plain(
        " ".join(
            [
                body["name"],
                body.get("acronym", ""),
                body["location"],
                body["email"],
                *body["phones"],
            ]
        )
    )
    return all(f" {w}" in text for w in words)


@routes.get(BASE, name="bo-catalogue")
@guarded
async def body_list(request: web.Request) -> web.Response:
    listing = listing_of(request, ("nom",), "nom")
    state = request.query.get("etat", "")
    state = state if state in dict(STATES) else ""
    data = await _everything(request)
    words = _plain(listing.words).split()
    found = [
        b
        for b in data["bodies"]
        if _matches(b, words) and (not state or b["active"] == (state == "actifs"))
    ]
    found.sort(key=lambda b: _plain(b["name"]), reverse=listing.descending)
    rows = found[listing.offset : listing.offset + listing.per_page]
    return await shell.render(
        request,
        "backoffice/catalogue_bodies.html",
        {
            "title": "Catalogue",
            "listing": listing,
            "rows": rows,
            "total": len(found),
            "state": state,
            "states": STATES,
        },
    )


def _body_values(form: Any) -> dict[str, str]:
    return {
        name: str(form.get(name, ""))[:400].strip()
        for name in ("name", "acronym", "phones", "email", "location", "hours")
    }


def _phones(text: str) -> list[str]:
    return [p.strip() for p in re.split(r"[,;/\n]+", text) if p.strip()]


def _body_problems(values: dict[str, str]) -> dict[str, str]:
    errors: dict[str, str] = {}
    if not values["name"]:
        errors["name"] = "Indiquez le nom de l'organisme."
    elif len(values["name"]) > 200:
        errors["name"] = "200 caractères au plus."
    if len(values["acronym"]) > 30:
        errors["acronym"] = "30 caractères au plus."
    phones = _phones(values["phones"])
    if len(phones) > 10:
        errors["phones"] = "10 numéros au plus."
    elif bad := [p for p in phones if not PHONE.match(p)]:
        errors["phones"] = (
            f"Numéro invalide : « {bad[0]} ». Des chiffres (espaces et points permis), "
            "séparés par des virgules."
        )
    if values["email"] and (len(values["email"]) > 254 or not EMAIL.match(values["email"])):
        errors["email"] = "Adresse électronique invalide (exemple : contact@budget.gouv.ci)."
    if len(values["location"]) > 300:
        errors["location"] = "300 caractères au plus."
    if len(values["hours"]) > 300:
        errors["hours"] = "300 caractères au plus."
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
) -> web.Response:
    return await shell.render(
        request,
        "backoffice/catalogue_body_form.html",
        {
            "title": f"Modifier {body['name']}" if body else "Ajouter un organisme",
            "body": body,
            "action": f"{BASE}/organismes/{body['id']}/modifier"
            if body
            else f"{BASE}/organismes/nouveau",
            "values": values,
            "errors": errors,
            "labels": BODY_LABELS,
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
    values = _body_values(await request.post())
    if errors := _body_problems(values):
        return await _body_form(request, values, errors, status=422)
    fields = _body_fields(values)
    status, answer = await _send(request, "bodies", None, fields)
    if status == 409:
        errors = {"name": f"Un organisme porte déjà ce nom (identifiant « {answer.get('id')} »)."}
        return await _body_form(request, values, errors, status=422)
    if status != 201:
        return await _body_form(request, values, _intake_errors(answer, values), status=422)
    _forget(request)
    await access.record_action(
        request,
        "catalogue_created",
        f"organisme {answer['id']}",
        _described(fields, BODY_LABELS),
    )
    return _see_other(f"{BASE}/organismes/{answer['id']}?fait=cree")


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


async def _row_or_404(request: web.Request, table: str) -> tuple[dict[str, Any], dict[str, list]]:
    """The catalogue's row (``table``: bodies, themes or places) the address names, with the
    whole catalogue; the back office's 404 when it has no such row."""
    data = await _everything(request)
    row = _row(data[table], request.match_info["row_id"])
    if row is None:
        raise _not_found(_NOT_IN_CATALOGUE[table])
    return row, data


_NOT_IN_CATALOGUE = {
    "bodies": "Cet organisme n'est pas dans le catalogue.",
    "themes": "Ce thème n'est pas dans le catalogue.",
    "places": "Ce lieu n'est pas dans le catalogue.",
}


async def _body_page(
    request: web.Request,
    body: dict[str, Any],
    data: dict[str, list],
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    status: int = 200,
) -> web.Response:
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
            "values": values or {},
            "labels": {**THEME_LABELS, "label": "Intitulé du thème"},
            "done": DONE.get(request.query.get("fait", "")),
        },
        status=status,
    )


@routes.get(f"{BASE}/organismes/{ID}", name="bo-catalogue-organisme")
@guarded
async def body_page(request: web.Request) -> web.Response:
    body, data = await _row_or_404(request, "bodies")
    return await _body_page(request, body, data)


@routes.get(f"{BASE}/organismes/{ID}/modifier", name="bo-catalogue-organisme-modifier")
@guarded
async def edit_body_form(request: web.Request) -> web.Response:
    body, _ = await _row_or_404(request, "bodies")
    return await _body_form(request, _body_form_values(body), {}, body)


@routes.post(f"{BASE}/organismes/{ID}/modifier")
@guarded
async def edit_body(request: web.Request) -> web.Response:
    body, _ = await _row_or_404(request, "bodies")
    values = _body_values(await request.post())
    if errors := _body_problems(values):
        return await _body_form(request, values, errors, body, status=422)
    fields = _body_fields(values)
    before = {k: body.get(k, "") for k in fields}
    changed = {k: v for k, v in fields.items() if before[k] != v}
    if not changed:
        return _see_other(f"{BASE}/organismes/{body['id']}?fait=inchange")
    status, answer = await _send(request, "bodies", body["id"], changed)
    if status == 404:
        raise _not_found("Cet organisme n'est pas dans le catalogue.")
    if status != 200:
        errors = _intake_errors(answer, values)
        return await _body_form(request, values, errors, body, status=422)
    _forget(request)
    await access.record_action(
        request,
        "catalogue_changed",
        f"organisme {body['id']}",
        _changes(before, changed, BODY_LABELS),
    )
    return _see_other(f"{BASE}/organismes/{body['id']}?fait=modifie")


@routes.post(f"{BASE}/organismes/{ID}/themes", name="bo-catalogue-organisme-themes")
@guarded
async def body_themes(request: web.Request) -> web.Response:
    """The body's list of themes (none ticked: every theme is offered)."""
    body, data = await _row_or_404(request, "bodies")
    form = await request.post()
    known = {t["id"] for t in data["themes"] if not t["parent_id"] and t["id"] != OTHER_THEME}
    chosen = sorted({str(v) for v in form.getall("themes", []) if str(v) in known})
    mapped, _ = _offered(body["id"], data["themes"], data["body_themes"])
    # Sub-themes listed on their own stay listed (this form shows the main themes only).
    kept = sorted({m for m in mapped if m not in known} | set(chosen))
    if kept == sorted(mapped):
        return _see_other(f"{BASE}/organismes/{body['id']}?fait=inchange")
    status, _answer = await _send(request, "bodies", body["id"], {"themes": kept})
    if status != 200:
        raise Unavailable
    _forget(request)
    await access.record_action(
        request,
        "catalogue_changed",
        f"organisme {body['id']}",
        _changes({"themes": sorted(mapped)}, {"themes": kept}, BODY_LABELS),
    )
    return _see_other(f"{BASE}/organismes/{body['id']}?fait=themes")


def _children(text: str) -> list[str]:
    return list(dict.fromkeys(line.strip() for line in text.splitlines() if line.strip()))


@routes.post(f"{BASE}/organismes/{ID}/nouveau-theme", name="bo-catalogue-organisme-nouveau-theme")
@guarded
async def body_new_theme(request: web.Request) -> web.Response:
    """A new theme (and its sub-themes) offered for this body: added to its list; a body that
    had no list keeps every theme it offered, and the new one."""
    body, data = await _row_or_404(request, "bodies")
    form = await request.post()
    values = {
        "label": str(form.get("label", ""))[:300].strip(),
        "children": str(form.get("children", ""))[:5000],
    }
    errors = _theme_problems(values["label"])
    children = _children(values["children"])
    if len(children) > 50 or any(len(c) > 200 for c in children):
        errors["children"] = "50 sous-thèmes au plus, de 200 caractères chacun au plus."
    if errors:
        return await _body_page(request, body, data, errors, values, status=422)
    status, theme = await _send(request, "themes", None, {"label": values["label"]})
    if status == 409:
        errors = {"label": "Un thème porte déjà cet intitulé : cochez-le dans la liste ci-dessus."}
        return await _body_page(request, body, data, errors, values, status=422)
    if status != 201:
        errors = _intake_errors(theme, ["label"])
        return await _body_page(request, body, data, errors, values, status=422)
    created = [theme["id"]]
    await access.record_action(
        request, "catalogue_created", f"thème {theme['id']}", f"Intitulé : « {theme['label']} »"
    )
    for label in children:
        status, child = await _send(
            request, "themes", None, {"label": label, "parent_id": theme["id"]}
        )
        if status == 201:
            created.append(child["id"])
            await access.record_action(
                request,
                "catalogue_created",
                f"thème {child['id']}",
                f"Intitulé : « {label} » ; Thème principal : « {theme['label']} »",
            )
    mapped, _ = _offered(body["id"], data["themes"], data["body_themes"])
    if not mapped:
        mapped = [
            t["id"]
            for t in data["themes"]
            if not t["parent_id"] and t["active"] and t["id"] != OTHER_THEME
        ]
    themes = sorted({*mapped, theme["id"]})
    status, _answer = await _send(request, "bodies", body["id"], {"themes": themes})
    if status != 200:
        raise Unavailable
    _forget(request)
    await access.record_action(
        request,
        "catalogue_changed",
        f"organisme {body['id']}",
        _changes({"themes": sorted(mapped)}, {"themes": themes}, BODY_LABELS),
    )
    return _see_other(f"{BASE}/organismes/{body['id']}?fait=theme")


# --- retiring and restoring, any kind ----------------------------------------------------------


@dataclass(frozen=True)
class Kind:
    path: str  # in the back office's addresses
    service: str  # intake's
    word: str  # in the audit log's target
    anchor: str  # a row's id on its list, before its identifier
    route: str  # in the route names
    missing: str
    back: str  # where to go after


KINDS = {
    "organismes": Kind(
        "organismes",
        "bodies",
        "organisme",
        "o",
        "organisme",
        "Cet organisme n'est pas dans le catalogue.",
        "",
    ),
    "themes": Kind(
        "themes", "themes", "thème", "t", "theme", "Ce thème n'est pas dans le catalogue.", "themes"
    ),
    "lieux": Kind(
        "lieux", "places", "lieu", "l", "lieu", "Ce lieu n'est pas dans le catalogue.", "lieux"
    ),
}


async def _set_active(request: web.Request, active: bool) -> web.Response:
    kind = KINDS[request.path.split("/")[3]]  # /admin/catalogue/<kind>/<id>/retirer
    row_id = request.match_info["row_id"]
    if kind.service == "themes" and row_id == OTHER_THEME and not active:
        data = await _everything(request)
        return await _theme_list(
            request,
            data,
            {"active": "« Autre » est proposé pour tout organisme : il ne peut être retiré."},
            status=409,
        )
    status, answer = await _send(request, kind.service, row_id, {"active": active})
    if status == 404:
        raise _not_found(kind.missing)
    if status != 200:
        raise Unavailable
    _forget(request)
    await access.record_action(
        request,
        "catalogue_restored" if active else "catalogue_retired",
        f"{kind.word} {row_id}",
        str(answer.get("name") or answer.get("label") or ""),
    )
    done = "retabli" if active else "retire"
    if kind.back:
        return _see_other(f"{BASE}/{kind.back}?fait={done}#{kind.anchor}-{row_id}")
    return _see_other(f"{BASE}/organismes/{row_id}?fait={done}")


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


# --- the themes --------------------------------------------------------------------------------


def _theme_problems(label: str) -> dict[str, str]:
    if not label:
        return {"label": "Indiquez l'intitulé du thème."}
    if len(label) > 200:
        return {"label": "200 caractères au plus."}
    return {}


def _tree(themes: list[dict[str, Any]]) -> list[tuple[dict, list[dict]]]:
    parents = [t for t in themes if not t["parent_id"]]
    parents.sort(key=lambda t: (t["id"] == OTHER_THEME, t["position"], t["id"]))
    return [
        (p, sorted((t for t in themes if t["parent_id"] == p["id"]), key=lambda t: t["position"]))
        for p in parents
    ]


async def _theme_list(
    request: web.Request,
    data: dict[str, list],
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> web.Response:
    names = {b["id"]: b["name"] for b in data["bodies"]}
    offered_by: dict[str, list[str]] = {}
    for pair in data["body_themes"]:
        offered_by.setdefault(pair["theme_id"], []).append(names.get(pair["body_id"], ""))
    return await shell.render(
        request,
        "backoffice/catalogue_themes.html",
        {
            "title": "Thèmes",
            "tree": _tree(data["themes"]),
            "offered_by": offered_by,
            "other": OTHER_THEME,
            "errors": errors or {},
            "done": DONE.get(request.query.get("fait", "")),
        },
        status=status,
    )


@routes.get(f"{BASE}/themes", name="bo-catalogue-themes")
@guarded
async def theme_list(request: web.Request) -> web.Response:
    return await _theme_list(request, await _everything(request))


def _theme_values(form: Any) -> dict[str, str]:
    return {
        "label": str(form.get("label", ""))[:300].strip(),
        "parent_id": str(form.get("parent_id", ""))[:100].strip(),
        "position": str(form.get("position", ""))[:10].strip(),
    }


def _theme_form_problems(values: dict[str, str], parents: set[str]) -> dict[str, str]:
    errors = _theme_problems(values["label"])
    if values["parent_id"] and values["parent_id"] not in parents:
        errors["parent_id"] = "Choisissez un thème principal de la liste."
    if values["position"] and not (
        values["position"].isdigit() and int(values["position"]) <= 10_000
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
) -> web.Response:
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
            "values": values,
            "errors": errors,
            "labels": THEME_LABELS,
        },
        status=status,
    )


def _parent_ids(data: dict[str, list]) -> set[str]:
    return {t["id"] for t in data["themes"] if not t["parent_id"] and t["id"] != OTHER_THEME}


@routes.get(f"{BASE}/themes/nouveau", name="bo-catalogue-theme-nouveau")
@guarded
async def new_theme_form(request: web.Request) -> web.Response:
    data = await _everything(request)
    parent = request.query.get("parent", "")
    values = {"parent_id": parent if parent in _parent_ids(data) else ""}
    return await _theme_form(request, data, values, {})


@routes.post(f"{BASE}/themes/nouveau")
@guarded
async def create_theme(request: web.Request) -> web.Response:
    data = await _everything(request)
    values = _theme_values(await request.post())
    if errors := _theme_form_problems(values, _parent_ids(data)):
        return await _theme_form(request, data, values, errors, status=422)
    fields: dict[str, Any] = {"label": values["label"]}
    if values["parent_id"]:
        fields["parent_id"] = values["parent_id"]
    if values["position"]:
        fields["position"] = int(values["position"])
    status, theme = await _send(request, "themes", None, fields)
    if status == 409:
        errors = {"label": "Un thème porte déjà cet intitulé (au même niveau)."}
        return await _theme_form(request, data, values, errors, status=422)
    if status != 201:
        errors = _intake_errors(theme, values)
        return await _theme_form(request, data, values, errors, status=422)
    _forget(request)
    parent = _row(data["themes"], values["parent_id"]) if values["parent_id"] else None
    await access.record_action(
        request,
        "catalogue_created",
        f"thème {theme['id']}",
        _described(
            {
                "label": theme["label"],
                "parent_id": parent["label"] if parent else "",
                "position": theme["position"],
            },
            THEME_LABELS,
        ),
    )
    return _see_other(f"{BASE}/themes?fait=theme-cree#t-{theme['id']}")


@routes.get(f"{BASE}/themes/{ID}/modifier", name="bo-catalogue-theme-modifier")
@guarded
async def edit_theme_form(request: web.Request) -> web.Response:
    theme, data = await _row_or_404(request, "themes")
    values = {"label": theme["label"], "position": str(theme["position"])}
    return await _theme_form(request, data, values, {}, theme)


@routes.post(f"{BASE}/themes/{ID}/modifier")
@guarded
async def edit_theme(request: web.Request) -> web.Response:
    theme, data = await _row_or_404(request, "themes")
    values = _theme_values(await request.post())
    values["parent_id"] = ""  # a theme keeps its place in the tree
    if errors := _theme_form_problems(values, set()):
        return await _theme_form(request, data, values, errors, theme, status=422)
    fields: dict[str, Any] = {"label": values["label"]}
    if values["position"]:
        fields["position"] = int(values["position"])
    changed = {k: v for k, v in fields.items() if theme.get(k) != v}
    if not changed:
        return _see_other(f"{BASE}/themes?fait=inchange#t-{theme['id']}")
    status, answer = await _send(request, "themes", theme["id"], changed)
    if status == 404:
        raise _not_found("Ce thème n'est pas dans le catalogue.")
    if status != 200:
        errors = _intake_errors(answer, ["label", "position"])
        return await _theme_form(request, data, values, errors, theme, status=422)
    _forget(request)
    await access.record_action(
        request,
        "catalogue_changed",
        f"thème {theme['id']}",
        _changes(theme, changed, THEME_LABELS),
    )
    return _see_other(f"{BASE}/themes?fait=modifie#t-{theme['id']}")


# --- the places --------------------------------------------------------------------------------


@routes.get(f"{BASE}/lieux", name="bo-catalogue-lieux")
@guarded
async def place_list(request: web.Request) -> web.Response:
    data = await _everything(request)
    regions: dict[str, list] = {}
    for place in data["places"]:
        regions.setdefault(place["region"], []).append(place)
    return await shell.render(
        request,
        "backoffice/catalogue_places.html",
        {
            "title": "Lieux",
            "regions": list(regions.items()),
            "kinds": dict(PLACE_KINDS),
            "done": DONE.get(request.query.get("fait", "")),
        },
    )


def _place_values(form: Any) -> dict[str, str]:
    return {k: str(form.get(k, ""))[:200].strip() for k in ("region", "name", "kind")}


def _place_problems(values: dict[str, str]) -> dict[str, str]:
    errors = {}
    if not values["region"]:
        errors["region"] = "Indiquez la région ou le district."
    elif len(values["region"]) > 100:
        errors["region"] = "100 caractères au plus."
    if not values["name"]:
        errors["name"] = "Indiquez le nom de la commune ou de la sous-préfecture."
    elif len(values["name"]) > 100:
        errors["name"] = "100 caractères au plus."
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
            "values": values,
            "errors": errors,
            "labels": PLACE_LABELS,
        },
        status=status,
    )


@routes.get(f"{BASE}/lieux/nouveau", name="bo-catalogue-lieu-nouveau")
@guarded
async def new_place_form(request: web.Request) -> web.Response:
    return await _place_form(request, await _everything(request), {"kind": "commune"}, {})


@routes.post(f"{BASE}/lieux/nouveau")
@guarded
async def create_place(request: web.Request) -> web.Response:
    data = await _everything(request)
    values = _place_values(await request.post())
    if errors := _place_problems(values):
        return await _place_form(request, data, values, errors, status=422)
    status, place = await _send(request, "places", None, values)
    if status == 409:
        errors = {"name": "Ce lieu existe déjà dans cette région."}
        return await _place_form(request, data, values, errors, status=422)
    if status != 201:
        return await _place_form(request, data, values, _intake_errors(place, values), status=422)
    _forget(request)
    await access.record_action(
        request, "catalogue_created", f"lieu {place['id']}", _described(values, PLACE_LABELS)
    )
    return _see_other(f"{BASE}/lieux?fait=lieu-cree#l-{place['id']}")


@routes.get(f"{BASE}/lieux/{ID}/modifier", name="bo-catalogue-lieu-modifier")
@guarded
async def edit_place_form(request: web.Request) -> web.Response:
    place, data = await _row_or_404(request, "places")
    values = {k: place[k] for k in ("region", "name", "kind")}
    return await _place_form(request, data, values, {}, place)


@routes.post(f"{BASE}/lieux/{ID}/modifier")
@guarded
async def edit_place(request: web.Request) -> web.Response:
    place, data = await _row_or_404(request, "places")
    values = _place_values(await request.post())
    if errors := _place_problems(values):
        return await _place_form(request, data, values, errors, place, status=422)
    changed = {k: v for k, v in values.items() if place.get(k) != v}
    if not changed:
        return _see_other(f"{BASE}/lieux?fait=inchange#l-{place['id']}")
    status, answer = await _send(request, "places", place["id"], changed)
    if status == 404:
        raise _not_found("Ce lieu n'est pas dans le catalogue.")
    if status != 200:
        errors = _intake_errors(answer, values)
        return await _place_form(request, data, values, errors, place, status=422)
    _forget(request)
    await access.record_action(
        request, "catalogue_changed", f"lieu {place['id']}", _changes(place, changed, PLACE_LABELS)
    )
    return _see_other(f"{BASE}/lieux?fait=modifie#l-{place['id']}")
