"""``milie users …``, run as an operator runs it: the installed console script, in a subprocess,
with DATABASE_URL naming a database where the gateway never ran."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import asyncpg

from tests.staff.helpers import signed_in_session

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
        env={**os.environ, "DATABASE_URL": database_url, **env},
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate(stdin.encode() if stdin is not None else None)
    return process.returncode, out.decode(), err.decode()


async def test_the_cli_creates_lists_disables_and_resets_accounts(
    database_url, gateway_alone, tmp_path
):
    password_file = tmp_path / "password"
    password_file.write_text(PASSWORD + "\n", encoding="utf-8")
    status, out, err = await milie(
        database_url,
        "users",
        "create",
        "--role",
        "administrator",
        "--login",
        "Admin.Premier",
        "--name",
        "Premier ADMINISTRATEUR",
        "--password-file",
        str(password_file),
    )
    assert status == 0, err
    assert out.strip() == "Compte admin.premier créé (Administrateur)."
    assert PASSWORD not in out + err

    (tmp_path / "short").write_text("trop court\n")
    status, _, err = await milie(
        database_url,
        *("users", "create", "--role", "analyst", "--login", "awa.kone"),
        *("--password-file", str(tmp_path / "short")),
    )
    assert status == 1
    assert "Le mot de passe doit compter au moins 12 caractères." in err

    status, _, err = await milie(
        database_url,
        *("users", "create", "--role", "administrator", "--login", "admin.premier"),
        *("--password-file", str(password_file)),
    )
    assert (status, "Ce login est déjà pris." in err) == (1, True)

    status, _, err = await milie(
        database_url,
        *("users", "create", "--role", "focal-point", "--login", "pf.budget"),
        *("--password-file", str(password_file)),
    )
    assert status == 1 and "donnez --body" in err

    # A focal point's body is checked against intake's catalogue; intake is not running here.
    status, _, err = await milie(
        database_url,
        *("users", "create", "--role", "focal-point", "--login", "pf.budget"),
        *("--body", "ministere-budget", "--password-file", "-"),
        stdin=PASSWORD + "\n",
        MILIE_INTAKE_URL="http://127.0.0.1:9",
    )
    assert status == 1 and "intake ne répond pas" in err
    status, out, err = await milie(
        database_url,
        *("users", "create", "--role", "focal-point", "--login", "pf.budget"),
        *("--body", "ministere-budget", "--no-body-check", "--password-file", "-"),
        stdin=PASSWORD + "\n",
    )
    assert status == 0, err

    status, out, _ = await milie(database_url, "users", "list")
    lines = out.splitlines()
    assert lines[0].split() == ["LOGIN", "RÔLE", "ORGANISME", "ÉTAT"]
    assert [line.split() for line in lines[1:]] == [
        ["admin.premier", "administrator", "-", "actif"],
        ["pf.budget", "focal-point", "ministere-budget", "actif"],
    ]

    # The administrator made by the CLI signs in to the gateway (which applies its migrations
    # over those the CLI applied), and a CLI disable ends that session at once.
    gw = await gateway_alone()
    async with await signed_in_session(gw.url, "admin.premier", PASSWORD) as http:
        async with http.get(f"{gw.url}/admin/comptes", allow_redirects=False) as resp:
            assert resp.status == 200
        status, out, err = await milie(database_url, "users", "disable", "admin.premier")
        assert status == 0, err
        assert out.strip() == "Compte admin.premier désactivé ; 1 session(s) fermée(s)."
        async with http.get(f"{gw.url}/admin/comptes", allow_redirects=False) as resp:
            assert resp.status == 303

    new_password = tmp_path / "new"
    new_password.write_text("un tout autre mot de passe\n")
    status, out, err = await milie(
        database_url, "users", "reset-password", "pf.budget", "--password-file", str(new_password)
    )
    assert status == 0, err
    status, _, err = await milie(database_url, "users", "enable", "nobody.here")
    assert status == 1 and "Aucun compte 'nobody.here'." in err

    conn = await asyncpg.connect(database_url)
    try:
        rows = await conn.fetch("SELECT action, target, address FROM gateway.audit_log ORDER BY id")
    finally:
        await conn.close()
    cli_rows = [(r["action"], r["target"]) for r in rows if r["address"] == "ligne de commande"]
    assert cli_rows == [
        ("account_created", "admin.premier"),
        ("account_created", "pf.budget"),
        ("account_disabled", "admin.premier"),
        ("password_reset", "pf.budget"),
    ]
