"""« Administration › Délais »: the deadlines in working days (recevabilité by the analysts,
réponse by the body, avis of the citizen) per nature and per body, and the days declared off.
Kept by treatment (``services/treatment/policy.py``), which audits every change and tells triage
and intake; administrators only.

- ``GET /admin/delais``: the table natures × deadlines, the bodies' own values, the days
  declared off, the next public holidays (for information), and the forms.
- ``POST /admin/delais``: set a value (nature, deadline, body or none, working days).
- ``POST /admin/delais/supprimer``: remove a value (back to the nature's, or the default).
- ``POST /admin/delais/jours``: declare a day off (date, motif).
- ``POST /admin/delais/jours/supprimer``: remove a declared day off.

A refused form comes back (422) with the error beside its field and what was typed kept.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from aiohttp import web

from gateway.backoffice import access, shell
from gateway.backoffice.access import staff_required
from gateway.backoffice.catalogue.common import plain
from gateway.clients.transport import ServiceUnavailable
from gateway.clients.treatment import TREATMENT
from gateway.staff.auth import current_staff
from gateway.web import forms
from gateway.web.listing import back_of, back_query, listing_at, listing_of
from shared import french
from shared.deadline_policy import KIND_LABELS, applies
from shared.identity import Role
from shared.messages import DeadlineKind, Nature

routes = web.RouteTableDef()
BASE = "/admin/delais"
RULE_LABELS = {
    "nature": "Nature",
    "kind": "Délai",
    "body_id": "Organisme",
    "days": "Jours ouvrés",
}
DAY_LABELS = {"day": "Date du jour chômé", "label": "Motif"}
# What each field takes, in characters: the choices' values (a body's identifier, 80), the
# days (a number up to 365, with room for spaces), the date (JJ/MM/AAAA) and treatment's motif.
RULE_MAX = {"nature": 40, "kind": 20, "body_id": 100, "days": 20}
DAY_MAX = {"day": 20, "label": 200}
DONE = {
    "delai": "Le délai est enregistré ; les échéances des requêtes en cours sont recalculées.",
    "supprime": "La valeur est retirée : la valeur de la nature ou par défaut s'applique.",
    "jour": "Le jour chômé est déclaré ; les échéances sont reportées.",
    "jour-retire": "Le jour chômé est retiré ; les échéances sont recalculées.",
}


def _rule_detail(values: dict[str, str], days: str | None) -> str:
    kind = KIND_LABELS[DeadlineKind(values["kind"])]
    where = f" ({values['body_id']})" if values["body_id"] else ""
    now = f"{days} jours ouvrés" if days else "valeur retirée"
    return f"{Nature(values['nature']).label}{where}, {kind} : {now}"


def _identity(request: web.Request):
    staff = current_staff(request)
    assert staff is not None, "behind staff_required"
    return staff.identity


def _errors_of(answer: Any, fields: dict[str, str], fallback: str) -> dict[str, str]:
    """Treatment's 422 as {field: message}, on the page's fields."""
    errors: dict[str, str] = {}
    items = answer.get("errors", []) if isinstance(answer, dict) else []
    for e in items:
        field = e.get("field", "")
        errors.setdefault(field if field in fields else fallback, e.get("message", "Refusé."))
    return errors or {fallback: "Valeur refusée : vérifiez-la."}


def _table(state: dict) -> list[dict[str, Any]]:
    """One row per nature: each deadline's value for every body, and whether it is the
    default."""
    set_values = {
        (r["kind"], r["nature"]): r["days"] for r in state["rules"] if not r.get("body_id")
    }
    rows = []
    for nature in Nature:
        cells = []
        for kind in DeadlineKind:
            if not applies(kind, nature):
                cells.append({"applies": False})
                continue
            value = set_values.get((kind.value, nature.value))
            cells.append(
                {
                    "applies": True,
                    "days": value if value is not None else state["defaults"][kind.value],
                    "default": value is None,
                }
            )
        rows.append({"nature": nature.value, "label": nature.label, "cells": cells})
    return rows


async def _page(
    request: web.Request,
    *,
    rule: dict[str, str] | None = None,
    rule_errors: dict[str, str] | None = None,
    day: dict[str, str] | None = None,
    day_errors: dict[str, str] | None = None,
    status: int = 200,
) -> web.Response:
    try:
        found, state = await request.app[TREATMENT].deadlines(identity=_identity(request))
    except ServiceUnavailable:
        return await shell.unavailable(request, "Les délais")
    if found != 200:
        return await shell.unavailable(request, "Les délais")
    names = await _body_names(request)
    if request.method == "POST":
        # A refused form: the page again at the search, sort and page its form carried, the table's
        # links leading to the page, not to the form's address.
        listing = listing_at(BASE, back_of(await request.post()), (), "")
    else:
        listing = listing_of(request, (), "")
    words = plain(listing.words).split()
    overrides = [
        {
            **r,
            "body_name": names.get(r["body_id"], r["body_id"]),
            "nature_label": Nature(r["nature"]).label,
            "kind_label": KIND_LABELS[DeadlineKind(r["kind"])],
        }
        for r in state["rules"]
        if r.get("body_id")
    ]
    # Searched by body (its name or identifier), nature and deadline, accents and case aside.
    matching = [
        o
        for o in overrides
        if all(
            f" {w}"
            in " " + plain(f"{o['body_name']} {o['body_id']} {o['nature_label']} {o['kind_label']}")
            for w in words
        )
    ]
    # By body, then nature and deadline, in the pages' order: a page of the table at a time.
    natures, kinds = list(Nature), list(DeadlineKind)
    matching.sort(
        key=lambda o: (
            o["body_name"].lower(),
            natures.index(Nature(o["nature"])),
            kinds.index(DeadlineKind(o["kind"])),
        )
    )
    return await shell.render(
        request,
        "backoffice/deadlines.html",
        {
            "title": "Délais",
            "kinds": [(k.value, KIND_LABELS[k]) for k in DeadlineKind],
            "natures": [(n.value, n.label) for n in Nature],
            "bodies": sorted(names.items(), key=lambda item: item[1]),
            "table": _table(state),
            "overrides": matching[listing.offset : listing.offset + listing.per_page],
            "overrides_total": len(matching),
            "overrides_any": bool(overrides),
            "listing": listing,
            # Carried by every form of the page, so that it comes back to this search, sort and
            # page, done or refused.
            "back": listing.back,
            "days_off": [
                {**d, "day_text": french.day(date.fromisoformat(d["day"]))}
                for d in state["days_off"]
            ],
            "holidays": [
                {**h, "day_text": french.day(date.fromisoformat(h["day"]))}
                for h in state["holidays"]
            ],
            "rule": forms.cut(rule or {}, RULE_MAX, forms.TYPED_ROOM),
            "rule_errors": rule_errors or {},
            "rule_labels": RULE_LABELS,
            "day": forms.cut(day or {}, DAY_MAX, forms.TYPED_ROOM),
            "day_errors": day_errors or {},
            "day_labels": DAY_LABELS,
            "done": DONE.get(request.query.get("fait", "")) if status == 200 else None,
        },
        status=status,
    )


def _see_page(done: str, posted: Any) -> web.HTTPSeeOther:
    """The page after a change (post/redirect/get), saying ``done``, at the search, sort and page of
    the bodies' own values the form carried (back_of)."""
    return web.HTTPSeeOther(f"{BASE}{back_query({'fait': done, **back_of(posted)})}")


async def _body_names(request: web.Request) -> dict[str, str]:
    return await shell.body_names(request)


@routes.get(BASE, name="bo-delais")
@staff_required(Role.ADMINISTRATOR)
async def deadlines_page(request: web.Request) -> web.Response:
    return await _page(request)


def _rule_values(posted: Any) -> dict[str, str]:
    # Whole: checked against RULE_MAX as typed, cut only to be shown again (forms.cut).
    return {k: str(posted.get(k, "")).strip() for k in RULE_LABELS}


def _rule_problems(values: dict[str, str]) -> dict[str, str]:
    errors = forms.too_long(values, RULE_MAX)
    if values["nature"] not in {n.value for n in Nature}:
        errors["nature"] = "Choisissez la nature."
    if values["kind"] not in {k.value for k in DeadlineKind}:
        errors["kind"] = "Choisissez le délai."
    if not values["days"]:
        errors["days"] = "Écrivez le nombre de jours ouvrés."
    return errors


@routes.post(BASE)
@staff_required(Role.ADMINISTRATOR)
async def set_deadline(request: web.Request) -> web.Response:
    values = _rule_values(await request.post())
    errors = _rule_problems(values)
    # A body's own value for a body that is not in the catalogue would be kept for nobody.
    if (
        values["body_id"]
        and "body_id" not in errors
        and (problem := await shell.body_problem(request, values["body_id"]))
    ):
        errors["body_id"] = problem
    if errors:
        return await _page(request, rule=values, rule_errors=errors, status=422)
    try:
        status, answer = await request.app[TREATMENT].set_deadline(
            kind=values["kind"],
            nature=values["nature"],
            body_id=values["body_id"] or None,
            days=values["days"],  # as typed: treatment says what is wrong with it
            identity=_identity(request),
        )
    except ServiceUnavailable:
        return await shell.unavailable(request, "Les délais")
    if status == 422:
        errors = _errors_of(answer, RULE_LABELS, "days")
        return await _page(request, rule=values, rule_errors=errors, status=422)
    if status != 200:
        return await shell.unavailable(request, "Les délais")
    await access.record_action(
        request, "deadline_set", f"délai {values['nature']}", _rule_detail(values, values["days"])
    )
    raise _see_page("delai", await request.post())


@routes.post(f"{BASE}/supprimer")
@staff_required(Role.ADMINISTRATOR)
async def remove_deadline(request: web.Request) -> web.Response:
    values = _rule_values(await request.post())
    errors = {k: v for k, v in _rule_problems({**values, "days": "-"}).items()}
    if errors:
        return await _page(request, rule_errors=errors, status=422)
    try:
        status, answer = await request.app[TREATMENT].set_deadline(
            kind=values["kind"],
            nature=values["nature"],
            body_id=values["body_id"] or None,
            days=None,
            identity=_identity(request),
        )
    except ServiceUnavailable:
        return await shell.unavailable(request, "Les délais")
    if status == 422:
        return await _page(request, rule_errors=_errors_of(answer, RULE_LABELS, "days"), status=422)
    if status == 404:
        # Not « retirée »: there was nothing to remove (another administrator was first, or an
        # old page); no journal line.
        errors = (
            {"body_id": "Aucune valeur n'est fixée pour cet organisme : rien n'est retiré."}
            if values["body_id"]
            else {"nature": "Aucune valeur n'est fixée pour cette nature : rien n'est retiré."}
        )
        return await _page(request, rule=values, rule_errors=errors, status=422)
    if status != 200:
        return await shell.unavailable(request, "Les délais")
    await access.record_action(
        request, "deadline_set", f"délai {values['nature']}", _rule_detail(values, None)
    )
    raise _see_page("supprime", await request.post())


@routes.post(f"{BASE}/jours")
@staff_required(Role.ADMINISTRATOR)
async def declare_day_off(request: web.Request) -> web.Response:
    posted = await request.post()
    # Whole: checked against DAY_MAX as typed, cut only to be shown again (forms.cut).
    values = {k: str(posted.get(k, "")).strip() for k in DAY_LABELS}
    errors = forms.too_long(values, DAY_MAX)
    day = shell.parse_day(values["day"]) if values["day"] else None
    if not values["day"]:
        errors["day"] = "Écrivez la date du jour chômé."
    elif day is None:
        errors.setdefault("day", "Date invalide : écrivez-la JJ/MM/AAAA (par exemple 07/08/2026).")
    if not values["label"]:
        errors["label"] = "Écrivez le motif du jour chômé."
    if errors or day is None:
        return await _page(request, day=values, day_errors=errors, status=422)
    try:
        status, answer = await request.app[TREATMENT].declare_day_off(
            day.isoformat(), values["label"], identity=_identity(request)
        )
    except ServiceUnavailable:
        return await shell.unavailable(request, "Les délais")
    if status == 422:
        errors = _errors_of(answer, DAY_LABELS, "day")
        return await _page(request, day=values, day_errors=errors, status=422)
    if status != 201:
        return await shell.unavailable(request, "Les délais")
    await access.record_action(
        request, "day_off_declared", f"jour {day.isoformat()}", values["label"]
    )
    raise _see_page("jour", posted)


@routes.post(f"{BASE}/jours/supprimer")
@staff_required(Role.ADMINISTRATOR)
async def remove_day_off(request: web.Request) -> web.Response:
    posted = await request.post()
    typed = str(posted.get("day", ""))
    # As posted, not cut: « 2031-08-07 » and anything after it is not that day.
    day = None if forms.too_long({"day": typed}, DAY_MAX) else shell.parse_day(typed)
    if day is None:
        errors = {"day": "Date invalide : choisissez un jour de la liste."}
        return await _page(request, day_errors=errors, status=422)
    try:
        status, _ = await request.app[TREATMENT].remove_day_off(
            day.isoformat(), identity=_identity(request)
        )
    except ServiceUnavailable:
        return await shell.unavailable(request, "Les délais")
    if status == 404:
        # Not « retiré »: there was nothing to remove (another administrator was first, or an
        # old page).
        errors = {"day": "Ce jour n'est pas (ou plus) déclaré chômé : rien n'est retiré."}
        return await _page(request, day_errors=errors, status=422)
    if status != 200:
        return await shell.unavailable(request, "Les délais")
    await access.record_action(request, "day_off_removed", f"jour {day.isoformat()}", "")
    raise _see_page("jour-retire", posted)
