"""Whether a citizen can be told anything, and how: the one rule behind every promise a page or
an answer makes (« un email de confirmation lui est envoyé », « le code vous est envoyé par
SMS ») and behind what notify queues, so that nothing promises a message notify will not send.

By email where the citizen gave an address; by SMS where they gave a mobile number and the
platform sends SMS (``MILIE_SMS_ENABLED``, shared.settings); otherwise not at all, and
:func:`unreachable_reason` says why (notify writes it in its delivery log, « Non envoyé — … »).
Plain functions, no I/O.
"""

from __future__ import annotations

import phonenumbers

EMAIL, SMS = "email", "sms"
_MOBILE_TYPES = (
    phonenumbers.PhoneNumberType.MOBILE,
    phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
)


def is_mobile(phone: str | None) -> bool:
    """Whether ``phone`` (E.164) is a valid number that can take an SMS."""
    if not phone:
        return False
    try:
        number = phonenumbers.parse(phone, None)
    except phonenumbers.NumberParseException:
        return False
    return phonenumbers.is_valid_number(number) and (
        phonenumbers.number_type(number) in _MOBILE_TYPES
    )


def media(email: str | None, phone: str | None, *, sms_enabled: bool) -> list[str]:
    """How the citizen is told: ``["email", "sms"]``, either one, or ``[]`` (not at all)."""
    ways = [EMAIL] if email else []
    if sms_enabled and is_mobile(phone):
        ways.append(SMS)
    return ways


def unreachable_reason(email: str | None, phone: str | None, *, sms_enabled: bool) -> str | None:
    """Why the citizen cannot be told anything (in French, for the staff), or None when they
    can be."""
    if media(email, phone, sms_enabled=sms_enabled):
        return None
    if not phone:
        return "ni adresse email ni numéro de mobile"
    if not is_mobile(phone):
        return "pas d'adresse email, et le numéro donné n'est pas un numéro de mobile"
    return "pas d'adresse email, et la plateforme n'envoie pas de SMS"
