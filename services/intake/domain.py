"""Intake's rules, without I/O: what a valid submission is (statuses: shared.lifecycle)."""

from __future__ import annotations

import unicodedata
from typing import Annotated

import phonenumbers
from email_validator import EmailNotValidError, validate_email
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
)

from shared import reach
from shared.messages import Channel, Nature
from shared.web import field_error

MESSAGE_MAX = 5000
# A submission gives a mobile number or an email, at least one.
CONTACT_FIELDS = ("contact.phone", "contact.email")
CONTACT_MISSING = "Indiquez votre numéro de mobile ou votre email : au moins l'un des deux."
CONTACT_MISSING_CODE = "phone_or_email_required"


def normalize_email(email: str) -> str:
    """Validate an address (syntax only: no DNS look-up) and return its normalized form."""
    return validate_email(email, check_deliverability=False).normalized


def email_key(email: str) -> str:
    """The form under which emails are compared: normalized and lower-cased."""
    return email.strip().lower()


NAME_PUNCTUATION = frozenset(" -'’.")
NAME_REFUSED = (
    "Un nom ne peut contenir que des lettres (accentuées ou non), des espaces, des traits "
    "d'union, des apostrophes et des points."
)


def check_name(value: str) -> str:
    """A person's name as a name holds it: letters (with their accents, any alphabet), spaces,
    hyphens, apostrophes and dots — no digits, no line breaks or other controls, no ``<>@``
    (a name goes in an email's header and on pages); ValueError otherwise. Runs of spaces are
    made one."""
    value = unicodedata.normalize("NFC", value)
    for ch in value:
        category = unicodedata.category(ch)
        if ch in NAME_PUNCTUATION or category.startswith("L") or category.startswith("M"):
            continue
        raise ValueError(NAME_REFUSED)
    if value and not any(unicodedata.category(ch).startswith("L") for ch in value):
        raise ValueError(NAME_REFUSED)
    return " ".join(value.split())


def normalize_phone(number: str, country: str) -> str:
    """E.164 form of a mobile or fixed number valid in ``country``; ValueError otherwise."""
    try:
        parsed = phonenumbers.parse(number, country)
    except phonenumbers.NumberParseException:
        raise ValueError("Ce numéro de téléphone n'est pas valide.") from None
    if not phonenumbers.is_valid_number(parsed):
        # The dialling code, as the form offers the country (« COTE D'IVOIRE (+225) »), never
        # its ISO code.
        dial = phonenumbers.country_code_for_region(country)
        where = f" (indicatif +{dial})" if dial else ""
        raise ValueError(f"Ce numéro n'est pas un numéro valide pour le pays choisi{where}.")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


class ContactIn(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True, extra="forbid")

    last_name: Annotated[str, StringConstraints(max_length=100)] = ""
    first_names: Annotated[str, StringConstraints(max_length=150)] = ""
    country: Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")] = "CI"
    phone: str | None = None
    email: str | None = None

    @field_validator("country", mode="before")
    @classmethod
    def _upper_country(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @field_validator("phone", "email", mode="before")
    @classmethod
    def _blank_is_none(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("last_name", "first_names")
    @classmethod
    def _name(cls, value: str) -> str:
        return check_name(value)

    @field_validator("email")
    @classmethod
    def _email(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            return normalize_email(value)
        except EmailNotValidError:
            raise ValueError("Cette adresse électronique n'est pas valide.") from None

    @field_validator("phone")
    @classmethod
    def _phone(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None:
            return None
        return normalize_phone(value, info.data.get("country") or "CI")


class SubmissionIn(BaseModel):
    """A request as a channel submits it (the gateway's form, the JSON API, other channels)."""

    model_config = ConfigDict(str_strip_whitespace=True, extra="forbid")

    nature: Nature
    body_id: Annotated[str, StringConstraints(min_length=1, max_length=100)]
    theme_id: str | None = None
    place_id: str | None = None
    message: Annotated[str, StringConstraints(min_length=1, max_length=MESSAGE_MAX)]
    contact: ContactIn
    channel: Channel = Channel.WEB
    submission_key: Annotated[str, StringConstraints(max_length=200)] | None = None
    terms_accepted: bool = Field(True, description="« J'accepte les conditions d'utilisation »")

    @field_validator("theme_id", "place_id", "submission_key", mode="before")
    @classmethod
    def _blank_is_none(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    def told_by(self, *, sms_enabled: bool) -> list[str]:
        """How the citizen is sent their code: "email", "sms" (a mobile number, when the
        platform sends SMS), both, none (shared.reach)."""
        return reach.media(self.contact.email, self.contact.phone, sms_enabled=sms_enabled)

    def missing_contact_fields(self) -> list[str]:
        """Every channel needs a way to reach the citizen: a mobile number or an email, at
        least one (the code goes by SMS to a citizen without email)."""
        return [] if self.contact.phone or self.contact.email else list(CONTACT_FIELDS)


def presence_errors(raw: object) -> list[dict[str, str]]:
    """Required-field and terms errors read from the raw submission, so that a form with other
    faults still lists them all at once."""
    if not isinstance(raw, dict):
        return []
    errors = []
    if raw.get("terms_accepted") is False:
        errors.append(
            field_error("terms_accepted", "Vous devez accepter les conditions d'utilisation.")
        )
    contact = raw.get("contact") if isinstance(raw.get("contact"), dict) else {}
    if not _given(contact.get("phone")) and not _given(contact.get("email")):
        errors += contact_missing()
    return errors


def _given(value: object) -> bool:
    return not (value is None or (isinstance(value, str) and not value.strip()))


def contact_missing() -> list[dict[str, str]]:
    """The errors of a submission with neither a mobile number nor an email: said beside both
    fields, with one machine-readable code."""
    return [field_error(f, CONTACT_MISSING, CONTACT_MISSING_CODE) for f in CONTACT_FIELDS]
