"""``milie users …``, run as an operator runs it: the installed console script, in a subprocess,
with DATABASE_URL naming a database where the gateway never ran. Notify is not running: the
command prints the first sign-in link, which opens the account."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import asyncpg

from tests.staff.helpers import password_through_link

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "une phrase de passe solide"


def _milie() -> list[str]:
    script = Path(sys.executable).parent / "milie"
    return [str(script)] if script.exists() else [sys.executable, "-m", "deploy.local.cli"]


async def milie(database_url: str, *args: str, stdin: str | None = None, **env: str):
    """(exit status, stdout, stderr) of one ``milie`` command."""
    process = await asyncio.create_subprocess_exec(
        *_milie(),
        *args,
        cwd=ROOT,
        # Nothing answers at MILIE_NOTIFY_URL unless a test says so (not another run's notify).
        env={
            **os.environ,
            "DATABASE_URL": database_url,
            "MILIE_NOTIFY_URL": "http://127.0.0.1:9",
            **env,
        },
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate(stdin.encode() if stdin is not None else None)
    return process.returncode, out.decode(), err.decode()


async def test_the_cli_creates_lists_disables_and_sends_links(database_url, gateway_alone):
    status, out, err = await milie(
        database_url,
        *("users", "create", "--role", "administrator", "--login", "Admin.Premier"),
        *("--name", "Premier ADMINISTRATEUR", "--email", "admin.premier@osep.gouv.ci"),
    )
    assert status == 0, err
    lines = out.strip().splitlines()
    assert lines[0] == (
        "Compte admin.premier créé (Administrateur) ; lien de connexion envoyé à "
        "admin.premier@osep.gouv.ci."
    )
    assert lines[1].startswith("notify ne répond pas")
    link = lines[-1]
    assert "/admin/premiere-connexion/" in link

    status, _, err = await milie(
        database_url,
        *("users", "create", "--role", "analyst", "--login", "awa.kone", "--email", "awa@"),
    )
    assert status == 1
    assert "Saisissez une adresse électronique valide" in err
    status, _, err = await milie(
        database_url,
        *("users", "create", "--role", "administrator", "--login", "admin.premier"),
        *("--email", "autre@osep.gouv.ci"),
    )
    assert (status, "Ce login est déjà pris." in err) == (1, True)
    status, _, err = await milie(
        database_url,
        *("users", "create", "--role", "analyst", "--login", "awa.kone"),
        *("--email", "Admin.Premier@osep.gouv.ci"),
    )
    assert (status, "déjà celle d'un autre compte" in err) == (1, True), err

    status, _, err = await milie(
        database_url,
        *("users", "create", "--role", "focal-point", "--login", "pf.budget"),
        *("--email", "pf.budget@budget.gouv.ci"),
    )
    assert status == 1 and "donnez --body" in err

    # A focal point's body is checked against intake's catalogue; intake is not running here.
    status, _, err = await milie(
        database_url,
        *("users", "create", "--role", "focal-point", "--login", "pf.budget"),
        *("--body", "ministere-budget", "--email", "pf.budget@budget.gouv.ci"),
        MILIE_INTAKE_URL="http://127.0.0.1:9",
    )
    assert status == 1 and "intake ne répond pas" in err
    status, out, err = await milie(
        database_url,
        *("users", "create", "--role", "focal-point", "--login", "pf.budget"),
        *("--body", "ministere-budget", "--no-body-check", "--email", "pf.budget@budget.gouv.ci"),
    )
    assert status == 0, err

    status, out, _ = await milie(database_url, "users", "list")
    lines = out.splitlines()
    assert lines[0].split() == ["LOGIN", "RÔLE", "ORGANISME", "ADRESSE", "ÉTAT"]
    assert [line.split() for line in lines[1:]] == [
        ["admin.premier", "administrator", "-", "admin.premier@osep.gouv.ci", "actif"],
        ["pf.budget", "focal-point", "ministere-budget", "pf.budget@budget.gouv.ci", "actif"],
    ]

    # The administrator made by the CLI chooses a password through the printed link and is
    # signed in to the gateway (which applies its migrations over those the CLI applied); a
    # CLI disable ends that session at once.
    gw = await gateway_alone()
    status, http = await password_through_link(gw.url, link, PASSWORD)
    async with http:
        assert status == 303
        async with http.get(f"{gw.url}/admin/comptes", allow_redirects=False) as resp:
            assert resp.status == 200
        status, out, err = await milie(database_url, "users", "disable", "admin.premier")
        assert status == 0, err
        assert out.strip() == "Compte admin.premier désactivé ; 1 session(s) fermée(s)."
        async with http.get(f"{gw.url}/admin/comptes", allow_redirects=False) as resp:
            assert resp.status == 303

    status, out, err = await milie(database_url, "users", "set-email", "pf.budget", "pf@budget.ci")
    assert (status, out.strip()) == (0, "Adresse de pf.budget : pf@budget.ci."), err
    status, out, err = await milie(database_url, "users", "send-link", "pf.budget")
    assert status == 0, err
    assert out.startswith("Nouveau lien de connexion envoyé à pf@budget.ci ; 0 session(s)")
    # « reset-password » is the old name of the same command.
    status, out, err = await milie(database_url, "users", "reset-password", "pf.budget")
    assert status == 0, err
    status, _, err = await milie(database_url, "users", "enable", "nobody.here")
    assert status == 1 and "Aucun compte 'nobody.here'." in err

    conn = await asyncpg.connect(database_url)
    try:
        rows = await conn.fetch("SELECT * FROM gateway.audit_log ORDER BY id")
        waiting = await conn.fetchval("SELECT count(*) FROM gateway.notify_outbox")
    finally:
        await conn.close()
    # The link never lands in the audit log.
    assert not any(link.rsplit("/", 1)[-1] in str(dict(r)) for r in rows)
    cli_rows = [(r["action"], r["target"]) for r in rows if r["address"] == "ligne de commande"]
    assert cli_rows == [
        ("account_created", "admin.premier"),
        ("account_created", "pf.budget"),
        ("account_disabled", "admin.premier"),
        ("email_changed", "pf.budget"),
        ("sign_in_link_sent", "pf.budget"),
        ("sign_in_link_sent", "pf.budget"),
    ]
    # What notify must be told waits for it: a directory row and a link per creation, the
    # disable, the address, and two links, each after a directory row.
    assert waiting == 2 * 2 + 1 + 1 + 2 * 2
