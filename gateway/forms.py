"""Turning the citizen's form into a submission, and errors back into messages by field."""

from __future__ import annotations

import uuid

from multidict import MultiDictProxy

# The form's field names, as the intake API names them.
FORM_TO_API = {
    "nature": "nature",
    "body_id": "body_id",
    "theme_id": "theme_id",
    "place_id": "place_id",
    "message": "message",
    "last_name": "contact.last_name",
    "first_names": "contact.first_names",
    "country": "contact.country",
    "phone": "contact.phone",
    "email": "contact.email",
    "terms_accepted": "terms_accepted",
}
API_TO_FORM = {v: k for k, v in FORM_TO_API.items()}

# Côte d'Ivoire first, then the neighbours and the countries of the diaspora.
COUNTRIES = [
    ("CI", "Côte d'Ivoire", "+225"),
    ("BF", "Burkina Faso", "+226"),
    ("ML", "Mali", "+223"),
    ("GN", "Guinée", "+224"),
    ("LR", "Libéria", "+231"),
    ("GH", "Ghana", "+233"),
    ("SN", "Sénégal", "+221"),
    ("TG", "Togo", "+228"),
    ("BJ", "Bénin", "+229"),
    ("NE", "Niger", "+227"),
    ("NG", "Nigéria", "+234"),
    ("CM", "Cameroun", "+237"),
    ("MA", "Maroc", "+212"),
    ("FR", "France", "+33"),
    ("BE", "Belgique", "+32"),
    ("CA", "Canada", "+1"),
    ("US", "États-Unis", "+1"),
]

FIELD_LABELS = {
    "nature": "Nature",
    "body_id": "Organisme public",
    "theme_id": "Thème",
    "place_id": "Commune ou S/Préfecture",
    "message": "Message",
    "last_name": "Nom",
    "first_names": "Prénoms",
    "country": "Pays",
    "phone": "Téléphone portable",
    "email": "Email",
    "terms_accepted": "Conditions d'utilisation",
}


def submission_from_form(form: MultiDictProxy, channel: str = "web") -> dict:
    def text(name: str) -> str:
        return str(form.get(name, "")).strip()

    return {
        "nature": text("nature"),
        "body_id": text("body_id"),
        "theme_id": text("theme_id") or None,
        "place_id": text("place_id") or None,
        "message": text("message"),
        "contact": {
            "last_name": text("last_name"),
            "first_names": text("first_names"),
            "country": text("country") or "CI",
            "phone": text("phone") or None,
            "email": text("email") or None,
        },
        "channel": channel,
        "submission_key": text("submission_key") or None,
        "terms_accepted": form.get("terms_accepted") == "on",
    }


def errors_by_field(errors: list[dict]) -> dict[str, str]:
    out: dict[str, str] = {}
    for err in errors:
        name = API_TO_FORM.get(err.get("field", ""), err.get("field", ""))
        out.setdefault(name, err.get("message", "Valeur invalide."))
    return out


def new_submission_key() -> str:
    """Identifies one filling of the form, so that posting it twice stores one request."""
    return uuid.uuid4().hex
