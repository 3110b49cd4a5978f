"""The pure rules behind staff sign-in and the back office, without a server."""

from __future__ import annotations

from datetime import date

import pytest
from aiohttp.test_utils import make_mocked_request

from gateway.backoffice import stats_pages
from gateway.backoffice.shell import parse_day, period_of
from gateway.settings import GatewaySettings
from gateway.staff import accounts, passwords, throttle
from gateway.staff.auth import safe_next
from gateway.web.client_address import resolve
from shared.csv_cells import cell as csv_cell


@pytest.mark.parametrize(
    ("peer", "header", "trusted", "client"),
    [
        ("203.0.113.1", None, (), "203.0.113.1"),
        # Without a trusted proxy the header is the client's own words: ignored.
        ("203.0.113.1", "10.9.9.9", (), "203.0.113.1"),
        ("203.0.113.1", "10.9.9.9", ("10.0.0.0/8",), "203.0.113.1"),
        # Behind the trusted proxy: the last address the proxies did not write.
        ("10.0.0.2", "198.51.100.7", ("10.0.0.0/8",), "198.51.100.7"),
        ("10.0.0.2", "1.2.3.4, 198.51.100.7, 10.0.0.3", ("10.0.0.0/8",), "198.51.100.7"),
        ("10.0.0.2", "not-an-ip", ("10.0.0.0/8",), "10.0.0.2"),
        ("10.0.0.2", "10.0.0.4, 10.0.0.3", ("10.0.0.0/8",), "10.0.0.4"),
        ("::1", "2001:db8::5", ("::1/128",), "2001:db8::5"),
        (None, None, (), "inconnue"),
    ],
)
def test_the_client_address_believes_only_trusted_proxies(peer, header, trusted, client):
    assert resolve(peer, header, trusted) == client


def test_trusted_proxies_are_read_from_a_comma_separated_variable(monkeypatch):
    monkeypatch.setenv("MILIE_TRUSTED_PROXIES", "10.0.0.0/8, 192.168.1.10/32")
    assert GatewaySettings().trusted_proxies == ["10.0.0.0/8", "192.168.1.10/32"]
    monkeypatch.setenv("MILIE_TRUSTED_PROXIES", "10.0.0.0/33")
    with pytest.raises(ValueError, match=r"10\.0\.0\.0/33"):
        GatewaySettings()


def test_the_wait_grows_after_the_free_failures_up_to_its_cap():
    waits = [throttle.wait_seconds(n, free=5, cap=900) for n in range(1, 12)]
    assert waits == [0, 0, 0, 0, 0, 30, 60, 120, 240, 480, 900]
    assert throttle.wait_seconds(10_000, free=5, cap=900) == 900


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("onze caract", "Le mot de passe doit compter au moins 12 caractères."),
        ("            ", "Le mot de passe ne peut pas être fait que d'espaces."),
        ("x" * 257, "Le mot de passe doit compter au plus 256 caractères."),
        ("Awa.Kone.2024", None),
    ],
)
def test_password_rules(password, message):
    assert passwords.problem(password, "awa.kone") == message


def test_a_password_may_not_be_the_login():
    assert passwords.problem("Awa.Kone.Ministere", "awa.kone.ministere") == (
        "Le mot de passe doit être différent du login."
    )


def test_account_rules_name_each_field():
    errors = accounts.problems(login="a", role="chef", password="court")
    assert set(errors) == {"login", "role", "password"}
    assert accounts.problems(login="pf.budget", role="focal-point", body_id="") == {
        "body_id": "Un point focal agit pour un organisme public : choisissez-le."
    }
    assert accounts.problems(login="awa.kone@osep.ci", role="analyst") == {}


async def test_verifying_against_no_hash_fails_like_a_wrong_password():
    stored = await passwords.hash_password("le bon mot de passe")
    assert await passwords.verify(stored, "le bon mot de passe")
    assert not await passwords.verify(stored, "un mauvais mot de passe")
    assert not await passwords.verify(None, "le bon mot de passe")
    assert not await passwords.verify("not a hash", "le bon mot de passe")
    assert stored.startswith("$argon2id$")
    assert not passwords.needs_rehash(stored)
    weaker = "$argon2id$v=19$m=8,t=1,p=1$c29tZXNhbHQ$ZmFrZWhhc2hmYWtlaGFzaA"
    assert passwords.needs_rehash(weaker)


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        ("=1+1", "'=1+1"),
        # A phone number or a number runs nothing: no apostrophe for the reader to see.
        ("+2250707123456", "+2250707123456"),
        ("+225 07 07 12 34 56", "+225 07 07 12 34 56"),
        ("-2", "-2"),
        ("+2250707123456+HYPERLINK(1)", "'+2250707123456+HYPERLINK(1)"),
        ("-2+3", "'-2+3"),
        ("=2250707123456", "'=2250707123456"),
        ("+1 (A1)", "'+1 (A1)"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=cmd", "'\t=cmd"),
        ("Awa KONÉ", "Awa KONÉ"),
        (None, ""),
        (12, "12"),
    ],
)
def test_csv_cells_never_become_formulas(value, cell):
    assert csv_cell(value) == cell


@pytest.mark.parametrize(
    ("target", "safe"),
    [
        ("/admin/comptes?q=a", "/admin/comptes?q=a"),
        ("https://evil.example/admin", "/admin/"),
        ("//evil.example/admin", "/admin/"),
        ("/admin//evil.example", "/admin/"),
        ("/admin\\@evil.example", "/admin/"),
        ("/suivre", "/admin/"),
        ("/admin/\r\nSet-Cookie: milie_session=planted", "/admin/"),
        ("/admin/\n", "/admin/"),
        ("/admin/\x00", "/admin/"),
        ("/admin/\x7f", "/admin/"),
        ("/admin/comptes?q=Koné", "/admin/comptes?q=Koné"),
        ("", "/admin/"),
        (None, "/admin/"),
    ],
)
def test_after_sign_in_only_back_office_pages_are_a_destination(target, safe):
    assert safe_next(target) == safe


def test_the_period_reads_french_and_iso_dates_and_says_what_is_wrong():
    today = date(2020, 10, 5)
    period = period_of(make_mocked_request("GET", "/admin/"), today)
    assert (period.start, period.end, period.explicit) == (date(2020, 1, 1), today, False)
    period = period_of(make_mocked_request("GET", "/admin/?du=07/02/2019&au=2020-10-05"), today)
    assert period.label == "PERIODE DU 07/02/2019 au 05/10/2020"
    assert period.query == {"du": "2019-02-07", "au": "2020-10-05"}
    period = period_of(make_mocked_request("GET", "/admin/?du=31/02/2019"), today)
    assert period.errors == {
        "du": "Date invalide : écrivez-la JJ/MM/AAAA (par exemple 07/02/2019)."
    }
    assert not period.explicit
    period = period_of(make_mocked_request("GET", "/admin/?du=2020-05-01&au=2020-04-01"), today)
    assert period.errors == {"au": "La fin de la période doit suivre son début."}
    assert parse_day("1/2/2019") == date(2019, 2, 1) and parse_day("hier") is None


def test_a_breached_or_common_password_is_refused():
    from gateway.staff import passwords

    assert len(passwords.common_passwords()) > 400_000
    for common in (
        "password1234",
        "Qwertyuiop123",
        "iloveyou1234",
        "Password2024!",
        "##football99",
    ):
        assert "divulgués ou trop courants" in (passwords.problem(common) or ""), common
    assert passwords.problem("le baobab de Treichville fleurit") is None


def test_the_general_statistics_count_every_request_not_closed_in_one_status_column():
    """A body's row: held, reopened or just validated requests are « En cours » at the body, so
    the status columns add up to the total but for the closed requests (« Avis »)."""
    entry = {
        "total": 7,
        "by_nature": {"reclamation": 7},
        "by_status": {
            "submitted": 1,
            "in_treatment": 1,
            "on_hold": 1,
            "reopened": 1,
            "validated": 1,
            "treated": 1,
            "closed": 1,
        },
        "with_opinion": 1,
    }
    values = {key: stats_pages._value(entry, key) for key in stats_pages.STATUS_COLUMNS}
    assert values["in_treatment"] == 4
    assert values["submitted"] == 1 and values["treated"] == 1
    assert sum(values.values()) + stats_pages._value(entry, "with_opinion") == entry["total"]


def test_every_kind_of_text_field_the_pages_use_is_styled():
    """A field type the stylesheets forget is drawn by the browser's defaults: small, without
    padding, unlike every other field (« Rappels » had its four number fields so)."""
    import re
    from pathlib import Path

    static = Path(__file__).resolve().parents[2] / "gateway"
    used = {
        kind
        for path in (static / "templates").rglob("*.html")
        for kind in re.findall(r"(?<![a-z])type=[\"']?([a-z]+)", path.read_text())
    }
    # Not text fields (« image »: the favicon's <link type="image/svg+xml">).
    drawn_by_the_browser = {"hidden", "checkbox", "radio", "submit", "file", "image"}
    css = "".join(p.read_text() for p in (static / "static").glob("*.css"))
    styled = set(re.findall(r"input\[type=([a-z]+)\]", css))
    assert used - drawn_by_the_browser - styled == set()
