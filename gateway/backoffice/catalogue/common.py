"""What every page of « Administration › Catalogue » shares: the guard (administrators only, the
« indisponible » page when intake does not answer), intake's catalogue calls, the labels of the
fields in the audit log and the pages' notices."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from aiohttp import web

from gateway.backoffice import access, shell
from gateway.backoffice.access import staff_required
from gateway.backoffice.not_found import RowList
from gateway.clients.catalogue import KEPT
from gateway.clients.intake import INTAKE
from gateway.clients.transport import ServiceUnavailable
from shared.identity import Role

ADMIN = Role.ADMINISTRATOR
ID = "{row_id:[a-z0-9][a-z0-9-]{0,79}}"
OTHER_THEME = "autre"  # intake's catalogue.repository.OTHER_THEME
BASE = "/admin/catalogue"

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
    "theme-retire": "Le thème est ajouté à la liste de cet organisme, qui est retiré : il ne "
    "sera proposé aux usagers qu'une fois l'organisme rétabli.",
    "theme-cree": "Le thème est ajouté au catalogue.",
    "lieu-cree": "Le lieu est ajouté au catalogue.",
}


# The journal's actions, as the page says them of its rows (« organisme », « thème », « lieu »).
DONE_WORDS = {
    "catalogue_created": "ajouté",
    "catalogue_changed": "modifié",
    "catalogue_retired": "retiré",
    "catalogue_restored": "rétabli",
}


def plain(text: str) -> str:
    """Lower-cased, without accents or punctuation: what the catalogue's searches compare
    (« education nationale » finds « Ministère de l'Education Nationale »)."""
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    return " ".join(re.split(r"[^a-z0-9]+", folded)).strip()


def holds(text: str, words: list[str]) -> bool:
    """Whether ``text`` holds each of ``words`` (already :func:`plain`) at a word's start,
    accents and case aside: the catalogue lists' search."""
    text = " " + plain(text)
    return all(f" {w}" in text for w in words)


class Unavailable(Exception):
    """Intake did not answer as it should: the page says so (503), or, when intake had already
    made the action's change, that the change is made (:func:`guarded`)."""


# The changes intake made for this request, as the journal wrote them: once there is one,
# intake not answering (to show the next page) must not say « réessayez » — the change is made,
# and doing it again would make it twice or be refused.
CHANGED = "catalogue.changed"


def see_other(location: str) -> web.Response:
    return web.Response(status=303, headers={"Location": location})


async def everything(request: web.Request) -> dict[str, list[dict[str, Any]]]:
    try:
        status, body = await request.app[INTAKE].catalogue_everything(
            identity=access.staff_identity(request)
        )
    except ServiceUnavailable as exc:
        raise Unavailable from exc
    if status != 200 or not isinstance(body, dict):
        raise Unavailable
    return body


async def send(
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


async def save(
    request: web.Request,
    kind: str,
    row_id: str | None,
    fields: dict[str, Any],
    shown: Iterable[str],
    conflict: Callable[[Any], dict[str, str]] | None = None,
) -> tuple[dict[str, str], Any]:
    """``send``, then (the errors to show beside the form's ``shown`` fields, intake's answer):
    no errors when it made the row (201) or changed it (200); ``conflict``'s, from its answer,
    for a 409 where given; its own (422) otherwise. A row to change that is gone, or the body
    a new theme is offered for: its « introuvable » page (:data:`LISTS`); intake changed
    nothing then."""
    status, answer = await send(request, kind, row_id, fields)
    if status == (201 if row_id is None else 200):
        return {}, answer
    if status == 404 and isinstance(answer, dict) and answer.get("error") == "body_not_found":
        raise LISTS["bodies"].gone()
    if row_id is not None and status == 404:
        raise LISTS[kind].gone()
    if status == 409 and conflict is not None:
        return conflict(answer), answer
    return intake_errors(answer, shown), answer


async def journal(request: web.Request, action: str, subject: str, text: str) -> None:
    """After a change intake made: this copy's kept catalogue follows it (:func:`forget`), the
    audit log says it, and so does the page if intake stops answering (:func:`guarded`)."""
    forget(request)
    await access.record_action(request, action, subject, text)
    said = f"{subject[:1].upper()}{subject[1:]} {DONE_WORDS.get(action, 'modifié')}"
    request.setdefault(CHANGED, []).append(f"{said} — {text}" if text else said)


def forget(request: web.Request) -> None:
    """This copy's kept catalogue (citizens' form, back-office body names) follows the change."""
    request.app[KEPT].forget()
    request.app[shell.BODY_NAMES].clear()


def intake_errors(body: Any, fields: Iterable[str]) -> dict[str, str]:
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


def changes(before: dict[str, Any], after: dict[str, Any], labels: dict[str, str]) -> str:
    """« Nom : « avant » → « après » ; … » for the fields that differ."""
    return " ; ".join(
        f"{labels.get(k, k)} : « {_shown(before.get(k))} » → « {_shown(v)} »"
        for k, v in after.items()
        if before.get(k) != v
    )


def described(values: dict[str, Any], labels: dict[str, str]) -> str:
    return " ; ".join(f"{labels.get(k, k)} : « {_shown(v)} »" for k, v in values.items() if v)


def _unavailable_page(request: web.Request) -> Awaitable[web.Response]:
    # After a change (CHANGED), the action did it: a 200 that says what, and no « réessayez ».
    changed = request.get(CHANGED, [])
    return shell.render(
        request,
        "backoffice/catalogue_unavailable.html",
        {"title": "Catalogue", "changed": changed},
        status=200 if changed else 503,
    )


def guarded(handler: Callable[[web.Request], Awaitable[web.StreamResponse]]):
    """Administrators only; intake not answering gives the « indisponible » page — or, when it
    stops answering after the action's change was made (to show the next page), the page saying
    the change is made."""

    @staff_required(ADMIN)
    async def wrapped(request: web.Request) -> web.StreamResponse:
        try:
            return await handler(request)
        except Unavailable:
            return await _unavailable_page(request)

    wrapped.__name__ = handler.__name__
    wrapped.__doc__ = handler.__doc__
    return wrapped


def find_row(rows: list[dict[str, Any]], row_id: str) -> dict[str, Any] | None:
    return next((r for r in rows if r["id"] == row_id), None)


async def row_or_404(request: web.Request, table: str) -> tuple[dict[str, Any], dict[str, list]]:
    """The catalogue's row (``table``: bodies, themes or places) the address names, with the
    whole catalogue; its « introuvable » page when it has no such row."""
    data = await everything(request)
    row = find_row(data[table], request.match_info["row_id"])
    if row is None:
        raise LISTS[table].gone()
    return row, data


# Each table's list: where its rows' actions come back to, its « introuvable » page (an action
# on a row intake no longer has, from an old page or tab), the filters its list carries.
LISTS = {
    "bodies": RowList(
        BASE,
        "Organisme introuvable",
        "Cet organisme n'est pas dans le catalogue.",
        "Retour à la liste des organismes",
        filters=("etat",),
    ),
    "themes": RowList(
        f"{BASE}/themes",
        "Thème introuvable",
        "Ce thème n'est pas dans le catalogue.",
        "Retour à la liste des thèmes",
    ),
    "places": RowList(
        f"{BASE}/lieux",
        "Lieu introuvable",
        "Ce lieu n'est pas dans le catalogue.",
        "Retour à la liste des lieux",
    ),
}
