"""The look-up of a request by its code and the citizen's email or mobile number, as a form
asks for it: the citizen's « Suivre une requête » and the call centre's « Suivi d'un appel »
(one field for either, named ``email``). What is said before asking intake (a missing field, a
mistyped code, letters without an "@"), intake's field errors in the form's fields, and the
« Trop de tentatives » of its limits."""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from gateway.web import forms
from shared.codes import LENGTH, is_well_formed, normalize

CONTACT_MISSING = "Saisissez l'adresse e-mail ou le numéro de mobile utilisé."
# Letters without an "@": an address whose "@" was forgotten, not a mobile number (intake, sent
# it as a number, answered « Ce numéro de mobile n'est pas valide. »).
NO_AT_SIGN = (
    "Il manque le « @ » de l'adresse e-mail. Pour un numéro de mobile, saisissez ses chiffres, "
    "par exemple 07 07 12 34 56."
)


def retry_message(seconds: int) -> str:
    minutes = max(1, math.ceil(seconds / 60))
    return f"Trop de tentatives. Réessayez dans {minutes} minute{'s' if minutes > 1 else ''}."


def retry_after(body: Any) -> int:
    """The seconds to wait that intake's 429 says (60 when it says none readable)."""
    try:
        return max(1, int(body.get("retry_after", 60)))
    except (AttributeError, TypeError, ValueError):
        return 60


def typed(form: Any, *names: str) -> dict[str, str]:
    return {name: str(form.get(name, "")).strip() for name in names}


def check_code_and_contact(values: dict[str, str]) -> dict[str, str]:
    """The errors said before asking intake: a field longer than it takes, a missing field, a
    mistyped code."""
    errors = forms.too_long({"code": values["code"], "email": values["email"]})
    code = normalize(values["code"])
    if "code" in errors:
        pass
    elif not code:
        errors["code"] = "Saisissez le code de votre requête."
    elif is_well_formed(code):
        pass
    elif len(code) == LENGTH and code.isascii() and code.isdigit():  # its check digit is wrong
        errors["code"] = (
            "Un chiffre de ce code semble erroné : comparez-le chiffre par chiffre avec le code "
            "reçu par email ou par SMS."
        )
    else:
        errors["code"] = "Ce code est mal saisi : un code compte 10 chiffres."
    if "email" in errors:
        pass
    elif not values["email"]:
        errors["email"] = CONTACT_MISSING
    elif problem := contact_problem(values["email"]):
        errors["email"] = problem
    return errors


def contact_problem(contact: str) -> str | None:
    """Why ``contact`` can be neither an address nor a number, before asking intake: letters
    without an "@"."""
    if "@" not in contact and any(c.isalpha() for c in contact):
        return NO_AT_SIGN
    return None


def errors_of(body: Any) -> dict[str, str]:
    """Intake's field errors in the form's fields: its ``phone`` is the form's one field."""
    errors = forms.errors_by_field(body.get("errors", []) if isinstance(body, dict) else [])
    if "phone" in errors:
        errors.setdefault("email", errors.pop("phone"))
    return errors


def too_long(typed: dict[str, str]) -> dict[str, Any]:
    """A reply's texts longer than they may be, as intake's 422 would say them, or {}."""
    errors = forms.too_long(typed)
    return {"errors": [{"field": k, "message": v} for k, v in errors.items()]} if errors else {}


@dataclass(frozen=True)
class ReplyAnswer:
    """Intake's answer to an opinion or a « Relancer », as a page shows it:

    - ``recorded``: taken (``view`` and intake's ``message``);
    - ``conflict``: the request's state no longer allows it (``view``, ``message``);
    - ``field_errors``: the reply's text refused (``view``, ``problems`` beside the fields);
    - ``refused``: anything else (``status``, ``body``): the look-up form says why.
    """

    kind: str
    status: int
    body: Any
    view: dict | None = None
    problems: dict[str, str] = field(default_factory=dict)

    @property
    def message(self) -> str:
        return str(self.body.get("message") or "") if isinstance(self.body, dict) else ""


async def reply_answer(
    status: int,
    body: Any,
    typed: dict[str, str],
    look_up: Callable[[], Awaitable[tuple[int, Any]]],
) -> ReplyAnswer:
    """Read intake's ``status`` and ``body`` for a reply whose fields were ``typed``.
    ``look_up()`` tracks the request again (it may raise ServiceUnavailable)."""
    view = body.get("view") if isinstance(body, dict) else None
    if status == 202 and view:
        return ReplyAnswer("recorded", status, body, view)
    if status == 409 and view:
        return ReplyAnswer("conflict", status, body, view)
    problems = errors_of(body) if status == 422 else {}
    if status == 422 and not view and problems and problems.keys() <= typed.keys():
        # The reply's own text refused before the look-up (too long, a NUL character): the
        # request's page all the same, the error beside its field, what was typed kept — not
        # the look-up form with « comment : … ».
        found, view = await look_up()
        if found != 200:
            return ReplyAnswer("refused", found, view)
    if status == 422 and view:
        return ReplyAnswer("field_errors", status, body, view, problems)
    return ReplyAnswer("refused", status, body)
