"""Whether the platform sends SMS is one setting (MILIE_SMS_ENABLED) every process reads, and
whether and how a citizen can be told is one rule (shared.reach): pure tests, no I/O."""

from __future__ import annotations

import pytest

from gateway.settings import GatewaySettings
from services.intake.settings import IntakeSettings
from services.notify.settings import NotifySettings
from shared import reach

MOBILE, LANDLINE = "+2250505123456", "+2252722445566"
PROVIDER = {
    "sms_base_url": "https://api.orange.com",
    "sms_client_id": "id",
    "sms_client_secret": "secret",
    "sms_sender": "2250700000000",
}


def test_a_citizen_is_told_by_email_and_by_sms_only_when_the_platform_sends_sms():
    assert reach.media("a@b.ci", MOBILE, sms_enabled=True) == ["email", "sms"]
    assert reach.media("a@b.ci", MOBILE, sms_enabled=False) == ["email"]
    assert reach.media(None, MOBILE, sms_enabled=True) == ["sms"]
    assert reach.media(None, MOBILE, sms_enabled=False) == []
    assert reach.media(None, LANDLINE, sms_enabled=True) == []
    assert reach.unreachable_reason("a@b.ci", None, sms_enabled=False) is None
    assert "la plateforme n'envoie pas de SMS" in reach.unreachable_reason(
        None, MOBILE, sms_enabled=False
    )
    assert "pas un numéro de mobile" in reach.unreachable_reason(None, LANDLINE, sms_enabled=True)


def test_the_pages_and_intake_read_the_same_switch_as_notify(monkeypatch):
    monkeypatch.setenv("MILIE_SMS_ENABLED", "true")
    assert IntakeSettings().sms_enabled and GatewaySettings().sms_enabled
    monkeypatch.delenv("MILIE_SMS_ENABLED")
    assert not IntakeSettings().sms_enabled and not GatewaySettings().sms_enabled


def test_notify_refuses_a_switch_that_disagrees_with_its_provider():
    with pytest.raises(ValueError, match="MILIE_SMS_BASE_URL"):
        NotifySettings(sms_enabled=True)
    with pytest.raises(ValueError, match="MILIE_SMS_ENABLED"):
        NotifySettings(**PROVIDER)
    assert NotifySettings(sms_enabled=True, **PROVIDER).sms_enabled
    assert not NotifySettings().sms_enabled
