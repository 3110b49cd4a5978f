"""A decision posted from a request's page (valider, demander une reformulation, rejeter,
réindexer…): checked here, decided by triage, the form brought back with its faults."""

from __future__ import annotations

import logging
from urllib.parse import urlencode

from aiohttp import web

from gateway.backoffice import access
from gateway.backoffice.triage.common import BASE, CODE, STAFF, unavailable
from gateway.backoffice.triage.request import (
    CONFIRM,
    FORMS,
    REASON_GONE,
    STALE,
    reasons_offered,
    render_request,
    safe_back,
    with_back,
    with_reason,
)
from gateway.clients.transport import ServiceUnavailable
from gateway.clients.triage import TRIAGE
from gateway.staff import accounts
from shared.numbers import whole
from shared.service import POOL

log = logging.getLogger(__name__)
routes = web.RouteTableDef()


async def _next_after(request: web.Request, validated: str) -> str:
    """« Valider et passer à la suivante »: the page of the request that now heads the queue
    (waiting, oldest first, as the queue lists them), saying the previous one is validated; the
    validated request's own page when nothing else waits (or triage does not answer)."""
    done = f"{BASE}/{validated}?{urlencode({'fait': 'valider', 'suivante': 'aucune'})}"
    try:
        status, found = await request.app[TRIAGE].queue(
            None, identity=access.staff_identity(request), limit=2
        )
    except ServiceUnavailable:
        return done
    if status != 200:
        return done
    for item in found.get("items", []):
        if item["code"] != validated:
            return f"{BASE}/{item['code']}?{urlencode({'validee': validated})}"
    return done


def _decision(name: str):
    form = FORMS[name]

    @access.staff_required(*STAFF)
    async def handler(request: web.Request) -> web.Response:
        code = request.match_info["code"]
        posted = await request.post()
        values = {
            k: str(posted.get(k, "")).strip()
            for k in ("message", "body_id", "theme_id", "version", "confirm", "reason")
        }
        # The list the analyst came from (« Insatisfaits »…), carried by the form.
        back = safe_back(str(posted.get("retour", "")))
        errors: dict[str, str] = {}
        message = values["message"]
        if form.reasons and values["reason"]:
            offered = (await reasons_offered(request)).get(form.reasons, [])
            chosen = next((r for r in offered if str(r["id"]) == values["reason"]), None)
            if chosen is None:
                errors[f"{name}-reason"] = REASON_GONE
            else:
                message = with_reason(chosen["text"], message)
        elif form.message_required and not message:
            errors[f"{name}-message"] = (
                "Choisissez un motif ou écrivez le message."
                if form.reasons
                else "Ce champ est obligatoire."
            )
        if len(message) > 5000:
            errors[f"{name}-message"] = "5000 caractères au plus."
        if name == "reindexer" and not values["body_id"]:
            errors[f"{name}-body_id"] = "Choisissez l'organisme public."
        if form.confirm and values["confirm"] != "oui":
            errors[f"{name}-confirm"] = CONFIRM
        version = whole(values["version"], 1, 2**31 - 1)
        if version is None and not errors:
            # Every form sends the version the analyst saw: without it, no decision.
            return await render_request(
                request, code, problem=STALE, values=values, status=422, back=back
            )
        if errors:
            return await render_request(
                request, code, errors=errors, values=values, open_form=name, status=422, back=back
            )
        reindex_to = None
        if name == "reindexer":
            reindex_to = (values["body_id"], values["theme_id"] or None)
        try:
            status, answer = await request.app[TRIAGE].decide(
                code,
                form.action,
                message,
                identity=access.staff_identity(request),
                version=version,
                reindex_to=reindex_to,
            )
        except ServiceUnavailable:
            return await unavailable(request, "La décision n'a pas été enregistrée : le service")
        if status == 200:
            if name == "valider" and posted.get("suivante") == "1":
                raise web.HTTPSeeOther(with_back(await _next_after(request, code), back))
            raise web.HTTPSeeOther(with_back(f"{BASE}/{code}?{urlencode({'fait': name})}", back))
        if status == 409:
            problem = answer.get("message") or ""
            if who := answer.get("decided_by") or answer.get("modified_by"):
                # « … déjà traitée par <login> » : the analyst by name.
                async with request.app[POOL].acquire(timeout=10) as conn:
                    shown = (await accounts.display_names(conn, [who])).get(who)
                if shown:
                    problem = problem.replace(f"par {who}", f"par {shown}")
            return await render_request(
                request, code, problem=problem, values=values, status=409, back=back
            )
        if status == 422:
            for e in answer.get("errors", []):
                errors[f"{name}-{e['field']}"] = e["message"]
            return await render_request(
                request, code, errors=errors, values=values, open_form=name, status=422, back=back
            )
        if status == 404:
            return await render_request(request, code, back=back)
        if status == 503:
            problem = answer.get("message")
            return await render_request(
                request, code, problem=problem, values=values, status=503, back=back
            )
        return await unavailable(request, "La décision n'a pas été enregistrée : le service")

    handler.__name__ = f"decide_{name}"
    return handler


for _name in FORMS:
    routes.post(f"{BASE}/{CODE}/{_name}", name=f"bo-traitement-{_name}")(_decision(_name))
