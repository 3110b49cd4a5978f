"""The gateway's audit log: who did what, when, from where.

Every sign-in, failed or refused sign-in, sign-out, refused access and account change is one row.
A row is written in the same transaction as the change it records where there is one, so that the
log and the accounts cannot disagree.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import asyncpg

# The actions, with the words the back office shows.
ACTIONS = {
    "sign_in": "Connexion",
    "sign_in_failed": "Échec de connexion",
    "sign_in_refused": "Connexion refusée (trop de tentatives)",
    "sign_out": "Déconnexion",
    "access_refused": "Accès refusé",
    "account_created": "Compte créé",
    "account_disabled": "Compte désactivé",
    "account_enabled": "Compte réactivé",
    "password_reset": "Mot de passe réinitialisé",
    "password_rehashed": "Empreinte du mot de passe renouvelée",
    "role_changed": "Rôle ou organisme modifié",
    # Issue 13: the address, the first sign-in link, the agent's alerts.
    "email_changed": "Adresse électronique modifiée",
    "sign_in_link_sent": "Nouveau lien de connexion envoyé",
    "password_chosen": "Mot de passe choisi (lien de première connexion)",
    "alerts_changed": "Alertes modifiées",
    # The catalogue (backoffice.catalogue): target « organisme|thème|lieu <id> », detail
    # what changed, « Champ : « avant » → « après » ».
    "catalogue_created": "Catalogue : ajout",
    "catalogue_changed": "Catalogue : modification",
    "catalogue_retired": "Catalogue : retrait",
    "catalogue_restored": "Catalogue : rétablissement",
    # Ready-made reasons (backoffice.reason_pages): target « motif <id> », detail what changed.
    "reason_created": "Motifs : ajout",
    "reason_changed": "Motifs : modification",
    # The second factor (staff.second_factor): enrolment, a recovery code used, wrong codes,
    # an administrator's reset.
    "second_factor_enrolled": "Double authentification : activée",
    "second_factor_recovery_used": "Double authentification : code de secours utilisé",
    "second_factor_failed": "Double authentification : code refusé",
    "second_factor_reset": "Double authentification : réinitialisée",
    # A page of the gateway's own showing a citizen's contact (the call centre's « Requête
    # enregistrée »): target « requête <code> » (REQUEST_TARGET).
    "personal_data_read": "Consultation des données personnelles",
    # « Suivi d'un appel » (backoffice.operator_followup): an operator reads a caller's request,
    # records the caller's opinion or « Relancer » on their behalf; target « requête <code> ».
    "caller_request_read": "Suivi d'un appel : requête consultée",
    "caller_opinion_recorded": "Suivi d'un appel : avis de l'appelant enregistré",
    "caller_reopening_recorded": "Suivi d'un appel : relance de l'appelant enregistrée",
    # The ministries' systems' keys (backoffice.api_key_pages): target « clé d'API <id> ».
    "api_key_created": "Clé d'API créée",
    "api_key_revoked": "Clé d'API révoquée",
    # Intake's configuration table (backoffice.limit_pages): target « configuration », detail
    # « réglage : avant → après ».
    "config_changed": "Limites et SMS : modification",
    # « Délais » (backoffice.deadline_pages): target « délai <nature> » or « jour <date> »;
    # treatment keeps its own line of each change too.
    "deadline_set": "Délais : modification",
    "day_off_declared": "Délais : jour chômé déclaré",
    "day_off_removed": "Délais : jour chômé retiré",
}
REQUEST_TARGET = "requête {code}"
SORTS = {"date": "at", "login": "actor_login", "action": "action", "adresse": "address"}
CLI_ADDRESS = "ligne de commande"


@dataclass(frozen=True)
class Entry:
    id: int
    at: datetime
    actor_id: uuid.UUID | None
    actor_login: str
    action: str
    target: str | None
    address: str
    detail: str

    @property
    def action_label(self) -> str:
        return ACTIONS.get(self.action, self.action)


async def record(
    conn: asyncpg.Connection,
    action: str,
    *,
    actor_login: str,
    address: str,
    actor_id: uuid.UUID | None = None,
    target: str | None = None,
    detail: str = "",
) -> None:
    """Add one line. ``actor_login`` is what was typed for a failed sign-in (cut to 64)."""
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}")
    await conn.execute(
        """INSERT INTO audit_log (actor_id, actor_login, action, target, address, detail)
           VALUES ($1, $2, $3, $4, $5, $6)""",
        actor_id,
        actor_login[:64],
        action,
        target,
        address[:64],
        detail[:500],
    )


async def search(
    conn: asyncpg.Connection,
    *,
    words: str = "",
    action: str = "",
    start: date | None = None,
    end: date | None = None,
    sort: str = "date",
    descending: bool = True,
    limit: int = 50,
    offset: int = 0,
    person: str = "",
    code: str = "",
) -> tuple[int, list[Entry]]:
    """(total, one page) of the log; ``words`` is searched in login, target, address, detail;
    ``person``: part of the login; ``code``: a request's (its line's target)."""
    order = SORTS.get(sort, "at")
    direction = "DESC" if descending else "ASC"
    pattern = words.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    # end is inclusive: the whole last day counts.
    end_at = end + timedelta(days=1) if end else None
    where = """($1 = '' OR actor_login ILIKE '%' || $1 || '%' OR coalesce(target, '') ILIKE
               '%' || $1 || '%' OR address ILIKE '%' || $1 || '%' OR detail ILIKE '%' || $1 || '%')
               AND ($2 = '' OR action = $2)
               AND ($3::date IS NULL OR at >= $3::date)
               AND ($4::date IS NULL OR at < $4::date)
               AND ($5 = '' OR actor_login ILIKE '%' || $5 || '%')
               AND ($6 = '' OR target = $6)"""
    who = person.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    target = REQUEST_TARGET.format(code=code) if code else ""
    args = (pattern, action, start, end_at, who, target)
    total = await conn.fetchval(
        f"SELECT count(*) FROM audit_log WHERE {where}",  # noqa: S608 - constant
        *args,
    )
    rows = await conn.fetch(
        f"""SELECT id, at, actor_id, actor_login, action, target, address, detail
            FROM audit_log WHERE {where}
            ORDER BY {order} {direction}, id {direction} LIMIT $7 OFFSET $8""",  # noqa: S608
        *args,
        limit,
        offset,
    )
    return total, [Entry(**dict(r)) for r in rows]
