"""The citizen's submission form: its fields and the intake fields they feed, the countries
offered, and intake's errors turned back into messages by field."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from typing import Any

from markupsafe import Markup

from shared import french
from shared.web import FRENCH_ERRORS

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

# « Pays* : COTE D'IVOIRE (+225) » first, as on the portal, then the neighbours and the countries
# of the diaspora, in alphabetical order.
COUNTRIES = [
    ("CI", "COTE D'IVOIRE", "+225"),
    ("ZA", "AFRIQUE DU SUD", "+27"),
    ("DZ", "ALGERIE", "+213"),
    ("DE", "ALLEMAGNE", "+49"),
    ("SA", "ARABIE SAOUDITE", "+966"),
    ("BE", "BELGIQUE", "+32"),
    ("BJ", "BENIN", "+229"),
    ("BR", "BRESIL", "+55"),
    ("BF", "BURKINA FASO", "+226"),
    ("CM", "CAMEROUN", "+237"),
    ("CA", "CANADA", "+1"),
    ("CV", "CAP-VERT", "+238"),
    ("CF", "CENTRAFRIQUE", "+236"),
    ("CN", "CHINE", "+86"),
    ("CG", "CONGO", "+242"),
    ("CD", "CONGO (REP. DEM.)", "+243"),
    ("EG", "EGYPTE", "+20"),
    ("AE", "EMIRATS ARABES UNIS", "+971"),
    ("ES", "ESPAGNE", "+34"),
    ("US", "ETATS-UNIS", "+1"),
    ("FR", "FRANCE", "+33"),
    ("GA", "GABON", "+241"),
    ("GM", "GAMBIE", "+220"),
    ("GH", "GHANA", "+233"),
    ("GN", "GUINEE", "+224"),
    ("GW", "GUINEE-BISSAU", "+245"),
    ("IN", "INDE", "+91"),
    ("IT", "ITALIE", "+39"),
    ("LB", "LIBAN", "+961"),
    ("LR", "LIBERIA", "+231"),
    ("LU", "LUXEMBOURG", "+352"),
    ("ML", "MALI", "+223"),
    ("MA", "MAROC", "+212"),
    ("MR", "MAURITANIE", "+222"),
    ("NE", "NIGER", "+227"),
    ("NG", "NIGERIA", "+234"),
    ("NL", "PAYS-BAS", "+31"),
    ("PT", "PORTUGAL", "+351"),
    ("GB", "ROYAUME-UNI", "+44"),
    ("SN", "SENEGAL", "+221"),
    ("SL", "SIERRA LEONE", "+232"),
    ("CH", "SUISSE", "+41"),
    ("TD", "TCHAD", "+235"),
    ("TG", "TOGO", "+228"),
    ("TN", "TUNISIE", "+216"),
    ("TR", "TURQUIE", "+90"),
]
COUNTRY_LABELS = {iso: f"{name} ({dial})" for iso, name, dial in COUNTRIES}


def country_label(iso: str | None) -> str:
    """« COTE D'IVOIRE (+225) » for « CI », as the form offered it (``| pays`` in templates);
    a code the list no longer holds is shown as it is."""
    return COUNTRY_LABELS.get(iso or "", iso or "")


class Options:
    """The ``<option>``s of a long ``<select>``, rendered once: a page only marks its choice
    (the 122 places and 46 countries cost 0.85 ms per form page through the template)."""

    def __init__(self, parts: list[Markup], positions: dict[str, int]) -> None:
        self._parts = parts
        self._positions = positions
        self._plain = Markup("").join(parts)

    @classmethod
    def of(cls, groups: Iterable[tuple[str | None, Iterable[tuple[str, str]]]]) -> Options:
        """``(group label or None, [(value, text), …])`` in order; None: options outside any
        ``<optgroup>``."""
        parts: list[Markup] = []
        positions: dict[str, int] = {}
        for label, choices in groups:
            if label is not None:
                parts.append(Markup('<optgroup label="{}">').format(label))
            for value, text in choices:
                positions.setdefault(value, len(parts))
                parts.append(Markup('<option value="{}">{}</option>').format(value, text))
            if label is not None:
                parts.append(Markup("</optgroup>"))
        return cls(parts, positions)

    def html(self, chosen: str | None) -> Markup:
        """The options, ``chosen``'s selected (none when it is not among them)."""
        at = self._positions.get(chosen) if chosen else None
        if at is None:
            return self._plain
        parts = list(self._parts)
        parts[at] = parts[at].replace(Markup("<option "), Markup("<option selected "), 1)
        # Every part is Markup, its values escaped when built: str.join, 4 times faster than
        # Markup.join, which escapes each part again.
        return Markup("".join(parts))  # noqa: S704


COUNTRY_OPTIONS = Options.of([(None, [(iso, COUNTRY_LABELS[iso]) for iso, _, _ in COUNTRIES])])

# A list left on its first option: what the citizen form says of its « Nature ».
LIST_LEFT_EMPTY = FRENCH_ERRORS["enum"]

# In the form's order: the error summary lists the errors in this order.
FIELD_LABELS = {
    "body_id": "Organisme public",
    "place_id": "Commune ou S/Préfecture",
    "nature": "Nature",
    "theme_id": "Thème",
    "message": "Message",
    "attachments": "Pièces jointes",
    "last_name": "Nom",
    "first_names": "Prénoms",
    "country": "Pays",
    "phone": "Téléphone portable",
    "email": "Email",
    "terms_accepted": "Conditions d'utilisation",
}


# What each citizen field takes, in characters: intake's limits (contact, message), the code's
# 10 digits with room for spaces, the tracking field's email or number, a search. One home: the
# pages' maxlength (``max_lengths`` in templates) and the server's refusal (:func:`too_long`).
MAX_LENGTHS = {
    "code": 40,
    "email": 254,
    "phone": 40,
    "last_name": 100,
    "first_names": 150,
    "message": 5000,
    "comment": 5000,
    "q": 100,  # a search among the public bodies
}


def _length(value: str) -> int:
    # A browser counts a line break of a textarea as one character and sends it as two (CRLF).
    return len(value.replace("\r\n", "\n"))


def too_long(
    values: Mapping[str, str],
    limits: Mapping[str, int] = MAX_LENGTHS,
    cut: Collection[str] = (),
) -> dict[str, str]:
    """The French error of each field of ``values`` longer than it takes (a browser's maxlength
    stops a citizen there; a script, or a browser without it, does not). ``limits``: the
    characters each field takes (the citizen's fields unless said; the back office passes its
    forms' own). ``cut``: fields of which only the start was read (``uploads.Upload.cut``):
    their true length is unknown, so the error says « plus de », never the count of the start."""

    def said(name: str, value: str) -> str:
        limit = french.number(limits[name])
        if name in cut:
            return f"Ce texte compte plus de {limit} caractères : {limit} au plus."
        return f"Ce texte compte {french.number(_length(value))} caractères : {limit} au plus."

    return {
        name: said(name, value)
        for name, value in values.items()
        if name in limits and _length(value) > limits[name]
    }


# How far beyond its limit the back office shows a refused value again (``cut``'s ``room``): the
# 400 characters of a name that takes 200 shown whole, a megabyte not.
TYPED_ROOM = 4


def cut(
    values: Mapping[str, str], limits: Mapping[str, int] = MAX_LENGTHS, room: int = 1
) -> dict[str, str]:
    """``values`` as the page shows them again: a value longer than ``room`` times what its
    field takes cut there (:func:`too_long` says so beside it), so that a page never sends back
    the megabyte someone posted. ``room`` above 1 shows what was typed beyond the limit (the
    back office: the administrator sees the text refused, not a cut one); cut only the value
    shown, never one checked or saved."""
    return {
        name: value[: limits[name] * room]
        if name in limits and _length(value) > limits[name] * room
        else value
        for name, value in values.items()
    }


def draft_fields(form: Mapping[str, str]) -> dict[str, Any]:
    """The form's values as intake's submission fields (what the citizen typed, untouched)."""

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
        "terms_accepted": form.get("terms_accepted") == "on",
    }


def values_from_fields(fields: Mapping[str, Any]) -> dict[str, str]:
    """A draft's fields back as the form's values, to show the form again."""
    contact = fields.get("contact") if isinstance(fields.get("contact"), Mapping) else {}
    values: dict[str, str] = {}
    for form_name, api_name in FORM_TO_API.items():
        source = contact if api_name.startswith("contact.") else fields
        value = source.get(api_name.removeprefix("contact."))
        if form_name == "terms_accepted":
            values[form_name] = "on" if value is True else ""
        else:
            values[form_name] = "" if value is None else str(value)
    return values


def errors_by_field(errors: list[dict]) -> dict[str, str]:
    """Intake's field errors by form field; several errors of one field make one sentence."""
    out: dict[str, str] = {}
    for err in errors:
        name = API_TO_FORM.get(err.get("field", ""), err.get("field", ""))
        message = err.get("message", "Valeur invalide.")
        if name in out and name == "attachments":
            out[name] = f"{out[name]} {message}"
        else:
            out.setdefault(name, message)
    return out
