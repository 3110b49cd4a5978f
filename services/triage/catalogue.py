"""Intake's catalogue, asked over HTTP when an analyst re-indexes a request.

Triage keeps no copy: the administrators edit the catalogue in intake and no event tells of it,
so a copy would go stale. One call (``GET /catalogue/bodies/{id}``: the body and the themes it
offers) checks the pair and gives the names the event carries. Intake down → the re-index is
refused with a 503 and nothing changes. The call is signed (``shared.signing``) on behalf of the
analyst whose call triage is answering: their identity and address pass on.
"""

from __future__ import annotations

from dataclasses import dataclass

import aiohttp
from yarl import URL

from services.triage.search import CATALOGUE_ID
from shared import logs
from shared.signing import Call, sign_call
from shared.web import CORRELATION_HEADER, FieldError, FieldErrors, field_error


@dataclass(frozen=True)
class Index:
    body_id: str
    body_name: str
    theme_id: str | None
    theme_label: str | None


class Unavailable(Exception):
    """Intake did not answer (or not as expected)."""


class NotInCatalogue(FieldErrors):
    """The body or theme is not in the catalogue: a 422 naming the field."""


def _error(field: str, message: str) -> FieldError:
    return field_error(field, message, "not_in_catalogue")


def theme_label(themes: list[dict], theme_id: str) -> str | None:
    """« PARENT : label » as intake writes it in request.submitted; None if not offered."""
    by_id = {t["id"]: t for t in themes}
    theme = by_id.get(theme_id)
    if theme is None:
        return None
    parent = by_id.get(theme.get("parent_id") or "")
    return f"{parent['label']} : {theme['label']}" if parent else theme["label"]


class Catalogue:
    def __init__(self, session: aiohttp.ClientSession, base_url: str, secret: bytes) -> None:
        self.session = session
        self.base_url = base_url.rstrip("/")
        self.secret = secret

    async def index(self, body_id: str, theme_id: str | None, on_behalf: Call) -> Index:
        """The body and theme, checked; raises NotInCatalogue (field errors) or Unavailable.

        ``on_behalf``: the call triage is answering, whose identity and address pass on."""
        if not CATALOGUE_ID.match(body_id):
            raise NotInCatalogue([_error("body_id", "Choisissez un organisme public de la liste.")])
        if theme_id is not None and not CATALOGUE_ID.match(theme_id):
            raise NotInCatalogue([_error("theme_id", "Choisissez un thème de la liste.")])
        url = URL(f"{self.base_url}/catalogue/bodies/{body_id}")
        headers = sign_call(
            self.secret,
            "intake",
            "GET",
            url.raw_path_qs,
            b"",
            client_address=on_behalf.client_address,
            identity=on_behalf.identity,
        )
        if cid := logs.correlation_id.get():
            headers[CORRELATION_HEADER] = cid
        try:
            async with self.session.get(url, headers=headers) as resp:
                if resp.status == 404:
                    raise NotInCatalogue(
                        [_error("body_id", "Cet organisme public n'existe pas ou plus.")]
                    )
                if resp.status != 200:
                    raise Unavailable(f"intake answered {resp.status}")
                found = await resp.json()
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            raise Unavailable(repr(exc)) from exc
        body = found["body"]
        label = None
        if theme_id is not None:
            label = theme_label(found.get("themes", []), theme_id)
            if label is None:
                raise NotInCatalogue(
                    [_error("theme_id", "Ce thème n'est pas proposé pour cet organisme.")]
                )
        return Index(body["id"], body["name"], theme_id, label)
