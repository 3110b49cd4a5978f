"""The account use cases, written once: the back office's pages (``backoffice.account_pages``)
and ``milie users`` (``deploy/local/users.py``) both call them.

Each runs inside the caller's transaction and writes its line to the audit log; disabling an
account or sending it a new sign-in link ends every session of that account at once. Each change
also tells notify's staff directory, through the gateway's outbox (``staff.notify_outbox``) in
the same transaction: nothing is lost while notify is down. A new account has no password: it
gets a first sign-in link by email (valid 48 h, once). Checking who may act (an administrator,
not on their own account) and reading the form or the command line stay with the caller; so does
hashing a new password (slow on purpose: never inside a transaction). After the commit, the
caller wakes the relay (``notify_outbox.wake``) or runs it (``notify_outbox.relay``).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from gateway.staff import accounts, audit, notify_outbox, second_factor, sessions, sign_in_links
from shared.identity import Role

FIRST_SIGN_IN = "first_sign_in"  # the kind of the email notify sends with the link


@dataclass(frozen=True)
class LinkSent:
    """A sign-in link handed to notify's outbox: ``link`` for the terminal of ``milie users``
    when notify cannot be reached (never logged), ``message_id`` to ask whether it left."""

    link: str
    message_id: uuid.UUID


@dataclass(frozen=True)
class Actor:
    """Who makes the change, as the audit log writes it."""

    login: str
    address: str  # the client's address, or audit.CLI_ADDRESS
    account_id: uuid.UUID | None = None

    def audited(self) -> dict[str, Any]:
        return {"actor_login": self.login, "actor_id": self.account_id, "address": self.address}


async def _tell_notify(conn: asyncpg.Connection, account_id: uuid.UUID) -> accounts.Account:
    """The account as it now is, pushed to notify's directory; answers it."""
    account = await accounts.by_id(conn, account_id)
    assert account is not None
    await notify_outbox.add_directory(conn, account)
    return account


async def _send_link(
    conn: asyncpg.Connection, account: accounts.Account, public_url: str
) -> LinkSent:
    token = await sign_in_links.issue(conn, account.id)
    link = sign_in_links.link(public_url, token)
    expires_at = await conn.fetchval(
        "SELECT max(expires_at) FROM first_sign_in_links WHERE account_id = $1", account.id
    )
    message_id = await notify_outbox.add_message(
        conn, account, FIRST_SIGN_IN, link=link, expires_at=expires_at.isoformat()
    )
    return LinkSent(link, message_id)


async def create(
    conn: asyncpg.Connection,
    actor: Actor,
    *,
    role: str,
    login: str,
    email: str,
    public_url: str,
    body_id: str | None = None,
    display_name: str | None = None,
) -> tuple[accounts.Account, LinkSent]:
    """A new account, without a password, and the email with its first sign-in link; raises
    ``accounts.AccountRefused`` with messages by field."""
    account = await accounts.provision(
        conn,
        role=role,
        login=login,
        email=email,
        body_id=body_id,
        display_name=display_name,
    )
    await audit.record(
        conn,
        "account_created",
        target=account.login,
        detail=f"rôle : {account.role_label}, adresse : {account.email}"
        + (f", organisme : {account.body_id}" if account.body_id else ""),
        **actor.audited(),
    )
    await notify_outbox.add_directory(conn, account)
    sent = await _send_link(conn, account, public_url)
    return account, sent


async def send_new_link(
    conn: asyncpg.Connection, actor: Actor, account: accounts.Account, public_url: str
) -> tuple[int, LinkSent]:
    """« Envoyer un nouveau lien »: the password no longer opens the account, its sessions end,
    its earlier links stop working, and a new link goes to its address; answers how many
    sessions ended. Refused (AccountRefused) for an account without an address."""
    if not account.email:
        raise accounts.AccountRefused(
            {"email": "Ce compte n'a pas d'adresse électronique : enregistrez-en une d'abord."}
        )
    await accounts.set_password_hash(conn, account.id, None)
    ended = await sessions.close_all(conn, account.id)
    # The directory first (an account older than it may be missing there): the email names it.
    account = await _tell_notify(conn, account.id)
    sent = await _send_link(conn, account, public_url)
    await audit.record(
        conn,
        "sign_in_link_sent",
        target=account.login,
        detail=f"lien envoyé à {account.email} ; {ended} session(s) fermée(s)",
        **actor.audited(),
    )
    return ended, sent


async def change_email(
    conn: asyncpg.Connection, actor: Actor, account: accounts.Account, email: str
) -> accounts.Account:
    """The new address (checked: AccountRefused with the French message by field)."""
    if errors := accounts.problems(email=email):
        raise accounts.AccountRefused(errors)
    address = accounts.normalize_email(email)
    await accounts.set_email(conn, account.id, address)
    await audit.record(
        conn,
        "email_changed",
        target=account.login,
        detail=f"{account.email or '(aucune)'} → {address}",
        **actor.audited(),
    )
    return await _tell_notify(conn, account.id)


async def set_alerts(
    conn: asyncpg.Connection, actor: Actor, account: accounts.Account, alerts: str
) -> accounts.Account:
    """« Mes alertes »: ``immediate`` or ``digest`` for the new-request alerts."""
    if alerts not in accounts.ALERTS:
        raise accounts.AccountRefused({"alerts": "Choisissez comment recevoir les alertes."})
    await accounts.set_alerts(conn, account.id, alerts)
    await audit.record(
        conn,
        "alerts_changed",
        target=account.login,
        detail=accounts.ALERTS[alerts],
        **actor.audited(),
    )
    return await _tell_notify(conn, account.id)


async def choose_password(
    conn: asyncpg.Connection,
    token: str,
    password_hash: str,
    address: str,
    now: datetime | None = None,
) -> sign_in_links.Look:
    """The first sign-in page's use case: with a valid link, store the password's hash and use
    the link up. Answers what the link was worth (nothing changes unless VALID)."""
    look = await sign_in_links.look(conn, token, now, lock=True)
    if look.state is not sign_in_links.State.VALID or look.account_id is None:
        return look
    account = await accounts.by_id(conn, look.account_id)
    if account is None or not account.active:
        return sign_in_links.Look(sign_in_links.State.UNKNOWN)
    await accounts.set_password_hash(conn, account.id, password_hash)
    await sign_in_links.mark_used(conn, token, now)
    await audit.record(
        conn,
        "password_chosen",
        actor_login=account.login,
        actor_id=account.id,
        address=address,
        target=account.login,
    )
    return look


async def disable(conn: asyncpg.Connection, actor: Actor, account: accounts.Account) -> int:
    """Disable the account and end its sessions; answers how many ended."""
    await accounts.set_active(conn, account.id, False)
    ended = await sessions.close_all(conn, account.id)
    await _tell_notify(conn, account.id)
    await audit.record(
        conn,
        "account_disabled",
        target=account.login,
        detail=f"{ended} session(s) fermée(s)",
        **actor.audited(),
    )
    return ended


async def enable(conn: asyncpg.Connection, actor: Actor, account: accounts.Account) -> None:
    await accounts.set_active(conn, account.id, True)
    await _tell_notify(conn, account.id)
    await audit.record(conn, "account_enabled", target=account.login, **actor.audited())


async def change_role(
    conn: asyncpg.Connection,
    actor: Actor,
    account: accounts.Account,
    role: Role,
    body_id: str | None,
) -> None:
    """The new role, and the body of a focal point (None for any other role)."""
    before = account.role_label + (f" ({account.body_id})" if account.body_id else "")
    after = accounts.ROLE_LABELS[role] + (f" ({body_id})" if body_id else "")
    await accounts.set_role(conn, account.id, role, body_id)
    await _tell_notify(conn, account.id)
    await audit.record(
        conn, "role_changed", target=account.login, detail=f"{before} → {after}", **actor.audited()
    )


async def reset_second_factor(
    conn: asyncpg.Connection, actor: Actor, account: accounts.Account
) -> int:
    """Remove the account's second factor and recovery codes (a lost phone) and end its
    sessions: the agent enrols again at the next sign-in. Answers how many sessions ended."""
    had = await second_factor.reset(conn, account.id)
    ended = await sessions.close_all(conn, account.id)
    await audit.record(
        conn,
        "second_factor_reset",
        target=account.login,
        detail=("facteur retiré" if had else "aucun facteur enregistré")
        + f", {ended} session(s) fermée(s)",
        **actor.audited(),
    )
    return ended
