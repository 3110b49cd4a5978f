"""The contact a citizen tracks with, masked on the tracking page (filter ``contact_masque``):
a mobile number shows its national number's first and last two digits, not the country code's
(« +2250707123456 » was shown « 22 ** ** ** 56 »)."""

from __future__ import annotations

from gateway.web.phones import masked_contact


def test_the_contact_a_citizen_tracks_with_is_masked():
    assert masked_contact("aya.kouassi@example.ci") == "a***@example.ci"
    assert masked_contact(" AYA.KOUASSI@Example.CI ") == "a***@example.ci"
    assert masked_contact("07 07 12 34 56") == "07 ** ** ** 56"
    # The national number's first two digits, not the country code's (« 22 » of +225).
    assert masked_contact("+2250707123456") == "07 ** ** ** 56"
    assert masked_contact("+225 07 07 12 34 56") == "07 ** ** ** 56"
    assert masked_contact("002250507123456") == "05 ** ** ** 56"
    # A foreign number: its national significant number (« 6 12 34 56 78 » in France).
    assert masked_contact("+33612345678") == "61 ** ** ** 78"
    assert masked_contact("+1 415 555 2671") == "41 ** ** ** 71"
    assert masked_contact("12") == "***"
