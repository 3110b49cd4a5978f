"""``milie users …``: staff accounts from the command line (the first administrator above all).

Works on the database named by ``DATABASE_URL`` and applies the gateway's migrations itself, so it
can run before the gateway ever started. A focal point's body is checked against intake's
catalogue (``MILIE_INTAKE_URL``) unless ``--no-body-check``. Every change is written to the
gateway's audit log with the address « ligne de commande ». The changes themselves are the back
office's use cases (``gateway.staff.account_actions``): disabling an account ends its sessions here
as on the page.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import os
import sys
from pathlib import Path

import aiohttp
import asyncpg
from yarl import URL

from gateway.settings import GatewaySettings
from gateway.staff import account_actions, accounts, audit, passwords
from shared.identity import Role
from shared.migrations import migrate
from shared.settings import load
from shared.signing import sign_call

GATEWAY_SQL = Path(__file__).resolve().parents[2] / "gateway" / "sql"


class Refused(Exception):
    """Said to the operator on stderr; exit status 1."""


def add_parser(sub: argparse._SubParsersAction) -> None:
    users = sub.add_parser(
        "users",
        help="staff accounts: create, list, disable, enable, reset-password, reset-second-factor",
        description="Staff accounts (needs DATABASE_URL; applies the gateway's migrations).",
    )
    cmds = users.add_subparsers(dest="users_command", required=True)
    create = cmds.add_parser("create", help="create an account")
    create.add_argument("--role", required=True, choices=[r.value for r in Role])
    create.add_argument("--login", required=True)
    create.add_argument("--body", help="the public body of a focal point (intake catalogue id)")
    create.add_argument("--name", help="display name (default: the login)")
    create.add_argument(
        "--password-file", help="file whose first line is the password ('-' for stdin)"
    )
    create.add_argument(
        "--no-body-check", action="store_true", help="do not ask intake whether --body exists"
    )
    cmds.add_parser("list", help="list the accounts")
    for name, text in (("disable", "disable an account and end its sessions"), ("enable", "")):
        cmd = cmds.add_parser(name, help=text or "enable a disabled account")
        cmd.add_argument("login")
    reset = cmds.add_parser("reset-password", help="set a new password, ending the sessions")
    reset.add_argument("login")
    reset.add_argument("--password-file", help="file whose first line is the password")
    second = cmds.add_parser(
        "reset-second-factor",
        help="remove the account's second factor (a lost phone), ending its sessions; "
        "the agent enrols again at the next sign-in",
    )
    second.add_argument("login")


def _read_password(path: str | None, login: str) -> str:
    if path:
        try:
            text = sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")
        except OSError as exc:
            raise Refused(f"Impossible de lire {path} : {exc.strerror}") from None
        password = text.splitlines()[0] if text else ""
    else:
        if not sys.stdin.isatty():
            raise Refused("Donnez --password-file (pas de terminal pour saisir le mot de passe).")
        password = getpass.getpass(f"Mot de passe pour {login} : ")
        if getpass.getpass("Confirmez le mot de passe : ") != password:
            raise Refused("Les deux mots de passe ne sont pas identiques.")
    if problem := passwords.problem(password, login):
        raise Refused(problem)
    return password


async def _check_body(settings: GatewaySettings, body_id: str) -> None:
    url = settings.intake_url.rstrip("/") + "/catalogue/bodies"
    # Intake answers only signed calls: this one is signed as the gateway would.
    secret = settings.identity_secret.get_secret_value().encode()
    headers = sign_call(secret, "intake", "GET", URL(url).raw_path_qs, b"", channel="web")
    try:
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as http,
            http.get(url, headers=headers) as resp,
        ):
            body = await resp.json()
    except (aiohttp.ClientError, TimeoutError, ValueError):
        raise Refused(
            f"intake ne répond pas à {url} : démarrez-le (ou MILIE_INTAKE_URL), "
            "ou passez --no-body-check."
        ) from None
    known = {b["id"]: b["name"] for b in body.get("bodies", [])}
    if body_id not in known:
        raise Refused(
            f"L'organisme {body_id!r} n'est pas dans le catalogue. Organismes connus : "
            + ", ".join(sorted(known))
        )


def _actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


async def _connect(settings: GatewaySettings) -> asyncpg.Connection:
    try:
        conn = await asyncpg.connect(settings.database_url, timeout=10)
    except (OSError, asyncpg.PostgresError) as exc:
        raise Refused(f"Base de données injoignable ({settings.database_url}) : {exc}") from None
    await migrate(conn, "gateway", GATEWAY_SQL)
    await conn.execute("SET search_path TO gateway, public")
    return conn


async def _account(conn: asyncpg.Connection, login: str) -> accounts.Account:
    account = await accounts.by_login(conn, login)
    if account is None:
        raise Refused(f"Aucun compte {accounts.normalize_login(login)!r}.")
    return account


async def _run(args: argparse.Namespace, settings: GatewaySettings) -> str:
    cmd = args.users_command
    password = ""
    if cmd == "create":
        if args.role == Role.FOCAL_POINT.value and not args.body:
            raise Refused("Un point focal agit pour un organisme : donnez --body.")
        if args.role != Role.FOCAL_POINT.value and args.body:
            raise Refused("--body ne vaut que pour --role focal-point.")
        login = accounts.normalize_login(args.login)
        if problems := accounts.problems(login=login):
            raise Refused(problems["login"])
        password = _read_password(args.password_file, login)
        if args.body and not args.no_body_check:
            await _check_body(settings, args.body)
    elif cmd == "reset-password":
        password = _read_password(args.password_file, accounts.normalize_login(args.login))
    conn = await _connect(settings)
    try:
        async with conn.transaction():
            return await _change(conn, args, password)
    finally:
        await conn.close()


async def _change(conn: asyncpg.Connection, args: argparse.Namespace, password: str) -> str:
    cmd = args.users_command
    actor = account_actions.Actor(_actor(), audit.CLI_ADDRESS)
    if cmd == "create":
        try:
            account = await account_actions.create(
                conn,
                actor,
                role=args.role,
                login=args.login,
                password=password,
                body_id=args.body,
                display_name=args.name,
            )
        except accounts.AccountRefused as exc:
            raise Refused(" ".join(exc.errors.values())) from None
        return f"Compte {account.login} créé ({account.role_label})."
    if cmd == "list":
        _, rows = await accounts.search(conn, limit=100_000)
        lines = [f"{'LOGIN':<28} {'RÔLE':<13} {'ORGANISME':<34} ÉTAT"]
        for a in rows:
            state = "actif" if a.active else "désactivé"
            lines.append(f"{a.login:<28} {a.role.value:<13} {a.body_id or '-':<34} {state}")
        return "\n".join(lines) if rows else "Aucun compte."
    account = await _account(conn, args.login)
    if cmd == "disable":
        ended = await account_actions.disable(conn, actor, account)
        return f"Compte {account.login} désactivé ; {ended} session(s) fermée(s)."
    if cmd == "enable":
        await account_actions.enable(conn, actor, account)
        return f"Compte {account.login} réactivé."
    if cmd == "reset-password":
        password_hash = await passwords.hash_password(password)
        ended = await account_actions.reset_password(conn, actor, account, password_hash)
        return f"Mot de passe de {account.login} réinitialisé ; {ended} session(s) fermée(s)."
    if cmd == "reset-second-factor":
        ended = await account_actions.reset_second_factor(conn, actor, account)
        return (
            f"Double authentification de {account.login} réinitialisée ; "
            f"{ended} session(s) fermée(s)."
        )
    raise Refused(f"commande inconnue : {cmd}")


def main(args: argparse.Namespace) -> int:
    settings = load(GatewaySettings, "milie users")
    if not os.environ.get("DATABASE_URL") and not os.environ.get("MILIE_DATABASE_URL"):
        print(f"(DATABASE_URL non défini : {settings.database_url})", file=sys.stderr)
    try:
        print(asyncio.run(_run(args, settings)))
    except Refused as exc:
        print(f"milie users {args.users_command} : {exc}", file=sys.stderr)
        return 1
    return 0
