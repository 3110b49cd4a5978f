"""« Administration › Motifs »: the ready-made reasons for rejection and reformulation that the
analysts pick on a request's page (``backoffice.triage``) and complete. Kept in triage
(``services/triage/reasons.py``); administrators add, edit and withdraw them here (never delete:
a withdrawn reason is no longer offered). Every change is a line of the « Journal d'audit »
(``reason_created``, ``reason_changed``; target « motif <id> »).

- ``GET /admin/motifs``: both lists and the form to add one; ``POST /admin/motifs`` adds.
- ``GET /admin/motifs/{id}``: the edit form; ``POST /admin/motifs/{id}`` saves it.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from gateway.backoffice import access, shell
from gateway.backoffice.access import staff_required
from gateway.backoffice.not_found import RowList
from gateway.clients.transport import ServiceUnavailable
from gateway.clients.triage import TRIAGE
from gateway.staff.auth import current_staff
from gateway.web import forms
from shared.identity import Role
from shared.numbers import whole

routes = web.RouteTableDef()
BASE = "/admin/motifs"
REASONS = RowList(
    BASE, "Motif introuvable", "Ce motif n'existe pas.", "Retour à la liste des motifs"
)
KINDS = {"reject": "Motifs de rejet", "reformulate": "Motifs de reformulation"}
# The decisions a reason serves, named as the analysts' page names them.
KIND_CHOICES = [("reject", "Rejeter"), ("reformulate", "Renvoyer pour reformulation")]
LABELS = {
    "kind": "Usage",
    "label": "Intitulé",
    "text": "Texte envoyé à l'usager",
    "position": "Ordre d'affichage",
    "active": "État",
}
DONE = {
    "ajoute": "Le motif est ajouté : les analystes peuvent le choisir.",
    "modifie": "Les modifications sont enregistrées.",
    "inchange": "Rien n'a changé : aucune modification enregistrée.",
}


def _staff(request: web.Request):
    staff = current_staff(request)
    assert staff is not None, "behind staff_required"
    return staff


async def _unavailable(request: web.Request) -> web.Response:
    return await shell.unavailable(request, "La liste des motifs")


# What each field takes (triage's own limits for the label and the text).
REASON_MAX = {"kind": 40, "label": 120, "text": 2000, "position": 20, "active": 10}


def _values(posted: Any) -> dict[str, str]:
    # Whole: checked against REASON_MAX as typed, cut only to be shown again (_shown).
    return {k: str(posted.get(k, "")).strip() for k in REASON_MAX}


def _shown(values: dict[str, str]) -> dict[str, str]:
    return forms.cut(values, REASON_MAX, forms.TYPED_ROOM)


def _problems(values: dict[str, str], *, new: bool) -> dict[str, str]:
    errors = forms.too_long(values, REASON_MAX)
    if new and values["kind"] not in KINDS:
        errors["kind"] = "Choisissez l'usage du motif."
    if not values["label"]:
        errors["label"] = "Ce champ est obligatoire."
    if not values["text"]:
        errors["text"] = "Ce champ est obligatoire."
    if "position" not in errors and values["position"]:
        if whole(values["position"], 0, 1000) is None:
            errors["position"] = "Un nombre entier de 0 à 1000."
    return errors


def _fields(values: dict[str, str]) -> dict[str, Any]:
    return {
        "label": values["label"],
        "text": values["text"],
        "position": int(values["position"] or 0),
        "active": values["active"] != "non",
    }


def _triage_errors(answer: Any) -> dict[str, str]:
    errors = {}
    for e in (answer or {}).get("errors", []) if isinstance(answer, dict) else []:
        field = e.get("field", "")
        # Triage's own words where it gives them (« Un motif de même usage porte déjà… »).
        errors[field if field in LABELS else "label"] = str(
            e.get("message") or "Valeur refusée : vérifiez-la."
        )
    return errors or {"label": "Valeur refusée : vérifiez-la."}


async def _list_page(
    request: web.Request,
    *,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> web.Response:
    try:
        found, answer = await request.app[TRIAGE].reasons(identity=_staff(request).identity)
    except ServiceUnavailable:
        return await _unavailable(request)
    if found != 200:
        return await _unavailable(request)
    groups = [
        (kind, title, [r for r in answer["items"] if r["kind"] == kind])
        for kind, title in KINDS.items()
    ]
    return await shell.render(
        request,
        "backoffice/reasons.html",
        {
            "title": "Motifs de rejet et de reformulation",
            "groups": groups,
            "kinds": KIND_CHOICES,
            "values": _shown(values) if values else {"kind": request.query.get("usage", "")},
            "errors": errors or {},
            "labels": LABELS,
            "done": DONE.get(request.query.get("fait", "")) if not errors else None,
        },
        status=status,
    )


@routes.get(BASE, name="bo-motifs")
@staff_required(Role.ADMINISTRATOR)
async def reason_list(request: web.Request) -> web.Response:
    return await _list_page(request)


@routes.post(BASE)
@staff_required(Role.ADMINISTRATOR)
async def create_reason(request: web.Request) -> web.Response:
    values = _values(await request.post())
    errors = _problems(values, new=True)
    if errors:
        return await _list_page(request, values=values, errors=errors, status=422)
    fields = {"kind": values["kind"], **_fields(values)}
    try:
        status, answer = await request.app[TRIAGE].create_reason(
            fields, identity=_staff(request).identity
        )
    except ServiceUnavailable:
        return await _unavailable(request)
    if status == 422:
        return await _list_page(request, values=values, errors=_triage_errors(answer), status=422)
    if status != 201:
        return await _unavailable(request)
    await access.record_action(
        request,
        "reason_created",
        f"motif {answer['id']}",
        f"{dict(KIND_CHOICES)[values['kind']]} : « {values['label']} »",
    )
    raise web.HTTPSeeOther(f"{BASE}?fait=ajoute")


async def _reason(request: web.Request, reason_id: int) -> dict | None:
    """The reason, or None; raises ServiceUnavailable."""
    found, answer = await request.app[TRIAGE].reasons(identity=_staff(request).identity)
    if found != 200:
        raise ServiceUnavailable("triage")
    return next((r for r in answer["items"] if r["id"] == reason_id), None)


async def _edit_page(
    request: web.Request,
    reason: dict,
    *,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> web.Response:
    shown = (
        _shown(values)
        if values
        else {
            "label": reason["label"],
            "text": reason["text"],
            "position": str(reason["position"]),
            "active": "oui" if reason["active"] else "non",
        }
    )
    return await shell.render(
        request,
        "backoffice/reason_form.html",
        {
            "title": f"Modifier le motif « {reason['label']} »",
            "reason": reason,
            "kind_label": dict(KIND_CHOICES)[reason["kind"]],
            "values": shown,
            "errors": errors or {},
            "labels": LABELS,
        },
        status=status,
    )


ID = r"{reason_id:\d{1,9}}"


@routes.get(f"{BASE}/{ID}", name="bo-motif")
@staff_required(Role.ADMINISTRATOR)
async def edit_form(request: web.Request) -> web.Response:
    try:
        reason = await _reason(request, int(request.match_info["reason_id"]))
    except ServiceUnavailable:
        return await _unavailable(request)
    if reason is None:
        raise REASONS.gone()
    return await _edit_page(request, reason)


def _changes(before: dict, after: dict[str, Any]) -> str:
    changed = []
    for key, value in after.items():
        if before.get(key) != value:
            if key == "active":
                was, now = (
                    ("Proposé" if before[key] else "Retiré"),
                    ("Proposé" if value else "Retiré"),
                )
            else:
                was, now = before.get(key), value
            changed.append(f"{LABELS[key]} : « {was} » → « {now} »")
    return " ; ".join(changed)


@routes.post(f"{BASE}/{ID}")
@staff_required(Role.ADMINISTRATOR)
async def edit_reason(request: web.Request) -> web.Response:
    reason_id = int(request.match_info["reason_id"])
    try:
        reason = await _reason(request, reason_id)
    except ServiceUnavailable:
        return await _unavailable(request)
    if reason is None:
        raise REASONS.gone()
    values = _values(await request.post())
    errors = _problems(values, new=False)
    if errors:
        return await _edit_page(request, reason, values=values, errors=errors, status=422)
    fields = _fields(values)
    detail = _changes(reason, fields)
    if not detail:
        raise web.HTTPSeeOther(f"{BASE}?fait=inchange")
    try:
        status, answer = await request.app[TRIAGE].edit_reason(
            reason_id, fields, identity=_staff(request).identity
        )
    except ServiceUnavailable:
        return await _unavailable(request)
    if status == 404:
        raise REASONS.gone()
    if status == 422:
        return await _edit_page(
            request, reason, values=values, errors=_triage_errors(answer), status=422
        )
    if status != 200:
        return await _unavailable(request)
    # What triage had when it changed it, not this page's older copy (one that does not say it
    # yet, during an upgrade: the copy).
    detail = _changes(answer.get("before", reason), fields)
    if not detail:
        raise web.HTTPSeeOther(f"{BASE}?fait=inchange")
    await access.record_action(request, "reason_changed", f"motif {reason_id}", detail)
    raise web.HTTPSeeOther(f"{BASE}?fait=modifie")
