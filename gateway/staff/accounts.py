"""Staff accounts: the rules of a valid account and the SQL over the gateway's schema.

Used by the back office (administrators' pages), by sign-in, by the ``milie users`` command and
by the tests' helpers. Body ids are intake's catalogue ids; checking one exists is the caller's
job (it needs intake), these functions only require a focal point to have one.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

import asyncpg
from email_validator import EmailNotValidError, validate_email

from gateway.staff import passwords
from shared.identity import Identity, Role

ROLE_LABELS = {
    Role.ADMINISTRATOR: "Administrateur",
    Role.ANALYST: "Analyste (OSEP)",
    Role.FOCAL_POINT: "Point focal",
    Role.OPERATOR: "Opérateur du centre d'appels",
}
_LOGIN = re.compile(r"^[a-z0-9][a-z0-9._@-]{2,63}$")
# What the account's typed fields take, in characters (the back office's forms refuse beyond).
FIELD_MAX = {"login": 64, "display_name": 120, "email": 254, "role": 50, "body_id": 100}
COLUMNS = (
    "id, login, display_name, email, role, body_id, alerts, password_hash, active, created_at, "
    "updated_at, password_changed_at, last_sign_in_at"
)
# How a focal point wants the new-request alerts (notify's staff_recipients.alerts).
ALERTS = {"immediate": "Immédiatement", "digest": "Un résumé par jour"}
# What a list may be sorted by: the form's name → the SQL expression (never user text in SQL).
SORTS = {
    "login": "login",
    "nom": "lower(display_name)",
    "role": "role",
    "organisme": "body_id",
    "etat": "active",
    "creation": "created_at",
    "connexion": "last_sign_in_at",
    "email": "lower(email)",
}


@dataclass(frozen=True)
class Account:
    id: uuid.UUID
    login: str
    display_name: str
    role: Role
    body_id: str | None
    active: bool
    created_at: datetime
    updated_at: datetime
    password_changed_at: datetime
    last_sign_in_at: datetime | None
    password_hash: str | None = field(repr=False)  # None: no password chosen yet
    email: str | None = None  # None only for accounts made before issue 13
    alerts: str = "immediate"

    @property
    def role_label(self) -> str:
        return ROLE_LABELS[self.role]

    @property
    def identity(self) -> Identity:
        return Identity(
            staff_id=str(self.id), role=self.role, body_id=self.body_id, login=self.login
        )


class AccountRefused(Exception):
    """The account cannot be created or changed; ``errors`` maps field → French message."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


def _account(row: asyncpg.Record | None) -> Account | None:
    if row is None:
        return None
    values = dict(row)
    values["role"] = Role(values["role"])
    return Account(**values)


def normalize_login(text: str) -> str:
    return text.strip().lower()


def normalize_email(text: str) -> str:
    """The address as stored (syntax checked, no DNS look-up); ValueError with a French
    message when it is not one."""
    try:
        return validate_email(text.strip(), check_deliverability=False).normalized
    except EmailNotValidError:
        raise ValueError(
            "Saisissez une adresse électronique valide, par exemple prenom.nom@budget.gouv.ci."
        ) from None


def parse_role(text: str) -> Role | None:
    try:
        return Role(text.strip())
    except ValueError:
        return None


def problems(
    *,
    login: str | None = None,
    role: str | None = None,
    body_id: str | None = None,
    password: str | None = None,
    confirmation: str | None = None,
    display_name: str | None = None,
    email: str | None = None,
) -> dict[str, str]:
    """French messages by field for what is given (None: not checked)."""
    errors: dict[str, str] = {}
    if email is not None:
        if not email.strip():
            errors["email"] = "Saisissez l'adresse électronique de l'agent."
        else:
            try:
                normalize_email(email)
            except ValueError as exc:
                errors["email"] = str(exc)
    if login is not None:
        if not login:
            errors["login"] = "Saisissez le login."
        elif not _LOGIN.match(login):
            errors["login"] = (
                "Le login compte 3 à 64 caractères : lettres sans accent, chiffres, « . », "
                "« _ », « - » ou « @ », en commençant par une lettre ou un chiffre."
            )
    if display_name is not None and len(display_name) > FIELD_MAX["display_name"]:
        errors["display_name"] = f"Le nom compte au plus {FIELD_MAX['display_name']} caractères."
    if role is not None:
        parsed = parse_role(role)
        if parsed is None:
            errors["role"] = "Choisissez un rôle."
        elif parsed == Role.FOCAL_POINT and not body_id:
            errors["body_id"] = "Un point focal agit pour un organisme public : choisissez-le."
    if password is not None:
        if message := passwords.problem(password, login):
            errors["password"] = message
        elif confirmation is not None and confirmation != password:
            errors["password_confirmation"] = "Les deux mots de passe ne sont pas identiques."  # noqa: S105
    return errors


async def provision(
    conn: asyncpg.Connection,
    *,
    role: str,
    login: str,
    email: str,
    body_id: str | None = None,
    display_name: str | None = None,
) -> Account:
    """Check and store a new account, without a password: the agent chooses it through the
    first sign-in link (``sign_in_links``). Raises AccountRefused with messages by field."""
    login = normalize_login(login)
    display_name = (display_name or "").strip() or login
    errors = problems(
        login=login, role=role, body_id=body_id, display_name=display_name, email=email
    )
    if errors:
        raise AccountRefused(errors)
    parsed = Role(role.strip())
    return await create(
        conn,
        login=login,
        display_name=display_name,
        email=normalize_email(email),
        role=parsed,
        body_id=body_id if parsed == Role.FOCAL_POINT else None,
        password_hash=None,
    )


EMAIL_TAKEN = "Cette adresse électronique est déjà celle d'un autre compte."


async def create(
    conn: asyncpg.Connection,
    *,
    login: str,
    display_name: str,
    email: str | None,
    role: Role,
    body_id: str | None,
    password_hash: str | None,
) -> Account:
    try:
        row = await conn.fetchrow(
            f"""INSERT INTO staff_accounts (login, display_name, email, role, body_id,
                                            password_hash)
                VALUES ($1, $2, $3, $4, $5, $6) RETURNING {COLUMNS}""",  # noqa: S608 - constant
            login,
            display_name,
            email,
            role.value,
            body_id,
            password_hash,
        )
    except asyncpg.UniqueViolationError as exc:
        if exc.constraint_name == "staff_accounts_email":
            raise AccountRefused({"email": EMAIL_TAKEN}) from None
        raise AccountRefused({"login": "Ce login est déjà pris."}) from None
    account = _account(row)
    assert account is not None
    return account


async def by_login(conn: asyncpg.Connection, login: str) -> Account | None:
    row = await conn.fetchrow(
        f"SELECT {COLUMNS} FROM staff_accounts WHERE login = $1",  # noqa: S608 - constant
        normalize_login(login),
    )
    return _account(row)


async def by_id(conn: asyncpg.Connection, account_id: uuid.UUID | str) -> Account | None:
    try:
        key = uuid.UUID(str(account_id))
    except ValueError:
        return None
    row = await conn.fetchrow(
        f"SELECT {COLUMNS} FROM staff_accounts WHERE id = $1",  # noqa: S608 - constant
        key,
    )
    return _account(row)


async def search(
    conn: asyncpg.Connection,
    *,
    words: str = "",
    role: str = "",
    sort: str = "login",
    descending: bool = False,
    limit: int = 50,
    offset: int = 0,
) -> tuple[int, list[Account]]:
    """(total, one page) of the accounts whose login, name or body contains ``words``."""
    order = SORTS.get(sort, "login")
    direction = "DESC NULLS LAST" if descending else "ASC NULLS FIRST"
    where = """($1 = '' OR login ILIKE '%' || $1 || '%' OR display_name ILIKE '%' || $1 || '%'
               OR coalesce(body_id, '') ILIKE '%' || $1 || '%'
               OR coalesce(email, '') ILIKE '%' || $1 || '%')
               AND ($2 = '' OR role = $2)"""
    pattern = words.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    total = await conn.fetchval(
        f"SELECT count(*) FROM staff_accounts WHERE {where}",  # noqa: S608 - constant
        pattern,
        role,
    )
    rows = await conn.fetch(
        f"""SELECT {COLUMNS} FROM staff_accounts WHERE {where}
            ORDER BY {order} {direction}, login LIMIT $3 OFFSET $4""",  # noqa: S608 - from SORTS
        pattern,
        role,
        limit,
        offset,
    )
    return total, [a for a in map(_account, rows) if a is not None]


async def set_active(conn: asyncpg.Connection, account_id: uuid.UUID, active: bool) -> None:
    await conn.execute(
        "UPDATE staff_accounts SET active = $2, updated_at = now() WHERE id = $1",
        account_id,
        active,
    )


async def set_password_hash(
    conn: asyncpg.Connection, account_id: uuid.UUID, password_hash: str | None
) -> None:
    """The new hash; None: no password until the agent chooses one through a link."""
    await conn.execute(
        """UPDATE staff_accounts SET password_hash = $2, password_changed_at = now(),
                  updated_at = now() WHERE id = $1""",
        account_id,
        password_hash,
    )


async def set_role(
    conn: asyncpg.Connection, account_id: uuid.UUID, role: Role, body_id: str | None
) -> None:
    await conn.execute(
        "UPDATE staff_accounts SET role = $2, body_id = $3, updated_at = now() WHERE id = $1",
        account_id,
        role.value,
        body_id if role == Role.FOCAL_POINT else None,
    )


async def set_email(conn: asyncpg.Connection, account_id: uuid.UUID, email: str) -> None:
    """``email`` as :func:`normalize_email` gives it; AccountRefused when another account has it."""
    try:
        await conn.execute(
            "UPDATE staff_accounts SET email = $2, updated_at = now() WHERE id = $1",
            account_id,
            email,
        )
    except asyncpg.UniqueViolationError:
        raise AccountRefused({"email": EMAIL_TAKEN}) from None


async def set_alerts(conn: asyncpg.Connection, account_id: uuid.UUID, alerts: str) -> None:
    await conn.execute(
        "UPDATE staff_accounts SET alerts = $2, updated_at = now() WHERE id = $1",
        account_id,
        alerts,
    )


async def mark_signed_in(conn: asyncpg.Connection, account_id: uuid.UUID) -> None:
    await conn.execute(
        "UPDATE staff_accounts SET last_sign_in_at = now() WHERE id = $1", account_id
    )


async def active_administrators(conn: asyncpg.Connection) -> int:
    return await conn.fetchval(
        "SELECT count(*) FROM staff_accounts WHERE role = 'administrator' AND active"
    )


async def focal_points_of(conn: asyncpg.Connection, body_id: str) -> list[Account]:
    """The active focal points of ``body_id``, by name: the agents a request of that body may
    be handed to (« Réaffecter »)."""
    rows = await conn.fetch(
        f"""SELECT {COLUMNS} FROM staff_accounts
            WHERE role = $1 AND body_id = $2 AND active
            ORDER BY lower(display_name), login""",  # noqa: S608 - constant
        Role.FOCAL_POINT.value,
        body_id,
    )
    return [a for a in map(_account, rows) if a is not None]


# Why an agent may not be handed a request of a body: code → French (the ministry API gives both).
NOT_ASSIGNABLE = {
    "unknown_agent": "Aucun point focal de votre organisme ne porte ce login.",
    "inactive_agent": "Le compte de cet agent est désactivé.",
}


class NotAssignable(Exception):
    """The agent named is not one a request of the body may be handed to: ``code``, a key of
    :data:`NOT_ASSIGNABLE`, for a program; ``message`` in French."""

    def __init__(self, code: str) -> None:
        self.code, self.message = code, NOT_ASSIGNABLE[code]
        super().__init__(self.message)


async def assignable(
    conn: asyncpg.Connection,
    body_id: str | None,
    *,
    login: str | None = None,
    account_id: uuid.UUID | str | None = None,
) -> Account:
    """The agent, named by ``login`` or ``account_id``, a request of ``body_id`` may be handed to
    (« Réaffecter »): an active focal point of that body — the rule :func:`focal_points_of`
    lists the choices by. Raises :class:`NotAssignable` otherwise. Treatment knows no accounts:
    the back office's form and the ministry API both ask here before they ask treatment."""
    if account_id is not None:
        agent = await by_id(conn, account_id)
    else:
        agent = await by_login(conn, login or "")
    # Whether a login exists elsewhere (another body, an analyst, an administrator) is not the
    # body's to learn: all are « unknown » to it. Only its own agent's disabled account is said.
    if agent is None or agent.role != Role.FOCAL_POINT or not body_id or agent.body_id != body_id:
        raise NotAssignable("unknown_agent")
    if not agent.active:
        raise NotAssignable("inactive_agent")
    return agent


async def focal_point_names(conn: asyncpg.Connection, body_id: str | None) -> dict[str, str]:
    """login → name of the focal points of ``body_id`` (of every body for None), gone ones too:
    whom an export's « Pris en compte par » may name."""
    rows = await conn.fetch(
        """SELECT login, display_name FROM staff_accounts
           WHERE role = $1 AND ($2::text IS NULL OR body_id = $2) AND display_name <> ''""",
        Role.FOCAL_POINT.value,
        body_id,
    )
    return {r["login"]: r["display_name"] for r in rows}


async def names_by_id(conn: asyncpg.Connection, ids: Iterable[str]) -> dict[str, str]:
    """account id → the name the back office shows, its login for an account without one (a
    staff id signed into a service's row: « Suivi d'un appel »'s operator); an id without an
    account is left out."""
    wanted = []
    for text in {x for x in ids if x}:
        try:
            wanted.append(uuid.UUID(text))
        except ValueError:
            continue
    if not wanted:
        return {}
    rows = await conn.fetch(
        "SELECT id, login, display_name FROM staff_accounts WHERE id = ANY($1::uuid[])", wanted
    )
    return {str(r["id"]): r["display_name"] or r["login"] for r in rows}


async def display_names(conn: asyncpg.Connection, logins: Iterable[str]) -> dict[str, str]:
    """login → the name the back office shows (issue 12: people by name, never by login); a
    login without an account, or an account without a name, is left out."""
    wanted = sorted({x for x in logins if x})
    if not wanted:
        return {}
    rows = await conn.fetch(
        "SELECT login, display_name FROM staff_accounts WHERE login = ANY($1::text[])", wanted
    )
    return {r["login"]: r["display_name"] for r in rows if r["display_name"]}
