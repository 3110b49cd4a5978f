"""The look-up of a request by its code and the citizen's email or mobile number, as a form
asks for it: the citizen's « Suivre une requête » and the call centre's « Suivi d'un appel »
(one field for either, named ``email``). What is said before asking intake (a missing field, a
mistyped code, letters without an "@"), intake's field errors in the form's fields, and the
« Trop de tentatives » of its limits."""

from __future__ import annotations

import math
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
