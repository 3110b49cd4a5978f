"""``milie users …``: staff accounts from the command line (the first administrator above all).

Works on the database named by ``DATABASE_URL`` and applies the gateway's migrations itself, so it
can run before the gateway ever started. A focal point's body is checked against intake's
catalogue (``MILIE_INTAKE_URL``) unless ``--no-body-check``. Every change is written to the
gateway's audit log with the address « ligne de commande ». The changes themselves are the back
office's use cases (``gateway.staff.account_actions``): disabling an account ends its sessions here
as on the page, and every change goes to notify's staff directory through the gateway's outbox.

No password is typed here: ``create`` and ``send-link`` give the account a first sign-in link
(48 h, once), emailed by notify (``MILIE_NOTIFY_URL``). When notify cannot take the email now (a
fresh install where it does not run yet), the link is printed on the terminal — the only way in
for the very first administrator without a mail server — and the email still leaves once the
gateway runs and notify answers. ``--print-link`` prints it in any case.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import getpass
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import asyncpg
from yarl import URL

from gateway.clients.notify import Notify
from gateway.clients.transport import Services
from gateway.settings import GatewaySettings
from gateway.staff import account_actions, accounts, audit, notify_outbox
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
        help="staff accounts: create, list, set-email, disable, enable, send-link, "
        "reset-second-factor",
        description="Staff accounts (needs DATABASE_URL; applies the gateway's migrations).",
    )
    cmds = users.add_subparsers(dest="users_command", required=True)
    create = cmds.add_parser(
        "create", help="create an account; it gets a first sign-in link by email"
    )
    create.add_argument("--role", required=True, choices=[r.value for r in Role])
    create.add_argument("--login", required=True)
    create.add_argument("--email", required=True, help="where the sign-in link is sent")
    create.add_argument("--body", help="the public body of a focal point (intake catalogue id)")
    create.add_argument("--name", help="display name (default: the login)")
    create.add_argument(
        "--no-body-check", action="store_true", help="do not ask intake whether --body exists"
    )
    create.add_argument(
        "--print-link", action="store_true", help="print the sign-in link even if it is emailed"
    )
    cmds.add_parser("list", help="list the accounts")
    for name, text in (("disable", "disable an account and end its sessions"), ("enable", "")):
        cmd = cmds.add_parser(name, help=text or "enable a disabled account")
        cmd.add_argument("login")
    email = cmds.add_parser("set-email", help="change an account's email address")
    email.add_argument("login")
    email.add_argument("email")
    link = cmds.add_parser(
        "send-link",
        aliases=["reset-password"],
        help="send a new sign-in link: the password stops working, the sessions end",
    )
    link.add_argument("login")
    link.add_argument(
        "--print-link", action="store_true", help="print the sign-in link even if it is emailed"
    )
    second = cmds.add_parser(
        "reset-second-factor",
        help="remove the account's second factor (a lost phone), ending its sessions; "
        "the agent enrols again at the next sign-in",
    )
    second.add_argument("login")


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
    if cmd == "create":
        if args.role == Role.FOCAL_POINT.value and not args.body:
            raise Refused("Un point focal agit pour un organisme : donnez --body.")
        if args.role != Role.FOCAL_POINT.value and args.body:
            raise Refused("--body ne vaut que pour --role focal-point.")
        login = accounts.normalize_login(args.login)
        if problems := accounts.problems(login=login, email=args.email):
            raise Refused(" ".join(problems.values()))
        if args.body and not args.no_body_check:
            await _check_body(settings, args.body)
    conn = await _connect(settings)
    try:
        async with conn.transaction():
            said, sent = await _change(conn, args, settings.public_url)
        # After the commit: hand the rows to notify now if it answers.
        if await _relay(settings, conn, sent) and sent is not None:
            said += "\n" + (
                f"notify ne répond pas ({settings.notify_url}) : l'email partira quand le "
                "portail tournera. Lien de connexion (valable 48 heures, une seule fois) :\n"
                + sent.link
            )
        return said
    finally:
        await conn.close()


async def _relay(
    settings: GatewaySettings, conn: asyncpg.Connection, sent: account_actions.LinkSent | None
) -> bool:
    """Push the outbox to notify; True when a link was made and its email is still waiting."""
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as http:
        services = Services(
            http,
            {"notify": settings.notify_url},
            identity_secret=settings.identity_secret.get_secret_value().encode(),
        )
        await notify_outbox.relay(_OneConnection(conn), Notify(services))  # type: ignore[arg-type]
    return sent is not None and await notify_outbox.waiting_message(conn, sent.message_id)


class _OneConnection:
    """What ``notify_outbox.relay`` needs of a pool, over the command's one connection."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn

    @contextlib.asynccontextmanager
    async def acquire(self, timeout: float | None = None) -> AsyncIterator[asyncpg.Connection]:
        yield self.conn


async def _change(
    conn: asyncpg.Connection, args: argparse.Namespace, public_url: str
) -> tuple[str, account_actions.LinkSent | None]:
    cmd = args.users_command
    actor = account_actions.Actor(_actor(), audit.CLI_ADDRESS)
    if cmd == "create":
        try:
            account, sent = await account_actions.create(
                conn,
                actor,
                role=args.role,
                login=args.login,
                email=args.email,
                public_url=public_url,
                body_id=args.body,
                display_name=args.name,
            )
        except accounts.AccountRefused as exc:
            raise Refused(" ".join(exc.errors.values())) from None
        said = (
            f"Compte {account.login} créé ({account.role_label}) ; lien de connexion envoyé à "
            f"{account.email}."
        )
        return (said + "\n" + sent.link if args.print_link else said), sent
    if cmd == "list":
        _, rows = await accounts.search(conn, limit=100_000)
        lines = [f"{'LOGIN':<28} {'RÔLE':<13} {'ORGANISME':<34} {'ADRESSE':<40} ÉTAT"]
        for a in rows:
            state = "actif" if a.active else "désactivé"
            lines.append(
                f"{a.login:<28} {a.role.value:<13} {a.body_id or '-':<34} {a.email or '-':<40} "
                f"{state}"
            )
        return ("\n".join(lines) if rows else "Aucun compte."), None
    account = await _account(conn, args.login)
    if cmd == "disable":
        ended = await account_actions.disable(conn, actor, account)
        return f"Compte {account.login} désactivé ; {ended} session(s) fermée(s).", None
    if cmd == "enable":
        await account_actions.enable(conn, actor, account)
        return f"Compte {account.login} réactivé.", None
    if cmd == "set-email":
        try:
            changed = await account_actions.change_email(conn, actor, account, args.email)
        except accounts.AccountRefused as exc:
            raise Refused(" ".join(exc.errors.values())) from None
        return f"Adresse de {account.login} : {changed.email}.", None
    if cmd in ("send-link", "reset-password"):
        try:
            ended, sent = await account_actions.send_new_link(conn, actor, account, public_url)
        except accounts.AccountRefused as exc:
            raise Refused(" ".join(exc.errors.values())) from None
        said = f"Nouveau lien de connexion envoyé à {account.email} ; {ended} session(s) fermée(s)."
        return (said + "\n" + sent.link if args.print_link else said), sent
    if cmd == "reset-second-factor":
        ended = await account_actions.reset_second_factor(conn, actor, account)
        return (
            f"Double authentification de {account.login} réinitialisée ; "
            f"{ended} session(s) fermée(s).",
            None,
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
