"""The account use cases, written once: the back office's pages (``backoffice.account_pages``)
and ``milie users`` (``deploy/local/users.py``) both call them.

Each runs inside the caller's transaction and writes its line to the audit log; disabling an
account or resetting its password ends every session of that account at once. Checking who may
act (an administrator, not on their own account) and reading the form or the command line stay
with the caller; so does hashing a new password (slow on purpose: never inside a transaction).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import asyncpg

from gateway.staff import accounts, audit, second_factor, sessions
from shared.identity import Role


@dataclass(frozen=True)
class Actor:
    """Who makes the change, as the audit log writes it."""

    login: str
    address: str  # the client's address, or audit.CLI_ADDRESS
    account_id: uuid.UUID | None = None

    def audited(self) -> dict[str, Any]:
        return {"actor_login": self.login, "actor_id": self.account_id, "address": self.address}


async def create(
    conn: asyncpg.Connection,
    actor: Actor,
    *,
    role: str,
    login: str,
    password: str,
    body_id: str | None = None,
    display_name: str | None = None,
) -> accounts.Account:
    """A new account; raises ``accounts.AccountRefused`` with messages by field."""
    account = await accounts.provision(
        conn,
        role=role,
        login=login,
        password=password,
        body_id=body_id,
        display_name=display_name,
    )
    await audit.record(
        conn,
        "account_created",
        target=account.login,
        detail=f"rôle : {account.role_label}"
        + (f", organisme : {account.body_id}" if account.body_id else ""),
        **actor.audited(),
    )
    return account


async def disable(conn: asyncpg.Connection, actor: Actor, account: accounts.Account) -> int:
    """Disable the account and end its sessions; answers how many ended."""
    await accounts.set_active(conn, account.id, False)
    ended = await sessions.close_all(conn, account.id)
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
    await audit.record(conn, "account_enabled", target=account.login, **actor.audited())


async def reset_password(
    conn: asyncpg.Connection, actor: Actor, account: accounts.Account, password_hash: str
) -> int:
    """Store the new password's hash (``passwords.hash_password``) and end the account's
    sessions; answers how many ended."""
    await accounts.set_password_hash(conn, account.id, password_hash)
    ended = await sessions.close_all(conn, account.id)
    await audit.record(
        conn,
        "password_reset",
        target=account.login,
        detail=f"{ended} session(s) fermée(s)",
        **actor.audited(),
    )
    return ended


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
