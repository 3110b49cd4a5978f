import pytest
from pydantic import ValidationError

from services.notify.settings import NotifySettings


def test_settings_are_read_with_the_milie_prefix(monkeypatch):
    monkeypatch.setenv("MILIE_SMTP_PORT", "2525")
    monkeypatch.setenv("MILIE_SMTP_STARTTLS", "true")
    monkeypatch.setenv("MILIE_SMTP_PASSWORD", "s3cret")
    monkeypatch.setenv("MILIE_PUBLIC_URL", "https://milie.ci")
    settings = NotifySettings()
    assert settings.smtp_port == 2525
    assert settings.smtp_starttls is True
    assert settings.smtp_password.get_secret_value() == "s3cret"
    assert "s3cret" not in repr(settings)
    assert settings.public_url == "https://milie.ci"
    assert settings.http_port == 8084


def test_the_pool_must_leave_room_beside_the_sender_workers():
    with pytest.raises(ValidationError):
        NotifySettings(sender_concurrency=20)
    assert NotifySettings(sender_concurrency=20, db_pool_max=30).sender_concurrency == 20
