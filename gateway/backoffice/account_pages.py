"""Administrators' account pages: list (search, sort, pages, CSV and .xlsx exports), create,
change the email address, disable or enable, send a new sign-in link, change role or body. Each
change is written to the audit log and to notify's outbox in its own transaction; disabling an
account or sending it a new link ends its sessions at once (the use cases:
``staff.account_actions``, which ``milie users`` calls too). A new account has no password: the
agent gets an email with a first sign-in link (``backoffice.first_sign_in``).

The list is searched, filtered by role and paged: the link to an account (and « Créer un
compte ») carries its search, role and page (``ACCOUNTS.back_of``), and so do the account's page,
its questions and its forms, so that its breadcrumb leads back to the list there after any
action, done or refused, as « Clés d'API » does. An account that is not there (an old tab) is
the back office's « Compte introuvable » (``ACCOUNTS.gone``), whatever the action.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from aiohttp import web

from gateway.backoffice import shell
from gateway.backoffice.access import staff_required
from gateway.backoffice.not_found import RowList
from gateway.staff import account_actions, accounts, notify_outbox
from gateway.staff.auth import current_staff
from gateway.web import forms, xlsx
from gateway.web.client_address import client_address
from gateway.web.keys import GATEWAY_SETTINGS
from gateway.web.listing import EXPORT_LIMIT, back_query, csv_response, listing_of
from shared.db import run_in_transaction
from shared.identity import Role
from shared.service import POOL

routes = web.RouteTableDef()
ADMIN = Role.ADMINISTRATOR
ID = "{account_id:[0-9a-fA-F-]{36}}"
# The list's role filter is « filtre-role », not « role »: it travels in the account's forms,
# whose own field « role » is the role to give.
ROLE_FILTER = "filtre-role"
ACCOUNTS = RowList(
    "/admin/comptes",
    "Compte introuvable",
    "Ce compte n'existe pas.",
    "Retour à la liste des comptes",
    filters=(ROLE_FILTER,),
)
LABELS = {
    "login": "Login",
    "display_name": "Nom et prénoms",
    "email": "Adresse électronique",
    "role": "Rôle",
    "body_id": "Organisme public",
}
DONE = {
    "cree": "Le compte est créé. Un email avec le lien pour choisir son mot de passe part vers "
    "l'adresse de l'agent (valable 48 heures).",
    "desactive": "Le compte est désactivé ; ses sessions ont pris fin.",
    "active": "Le compte est réactivé.",
    "lien": "Un nouveau lien de connexion part vers l'adresse de l'agent (valable 48 heures) ; "
    "son ancien mot de passe ne vaut plus et ses sessions ont pris fin.",
    "email": "L'adresse électronique est enregistrée.",
    "role": "Le rôle et l'organisme sont enregistrés.",
    "double-authentification": "La double authentification est réinitialisée : l'agent "
    "l'activera de nouveau à sa prochaine connexion ; ses sessions ont pris fin.",
}


def _see_other(location: str) -> web.Response:
    return web.Response(status=303, headers={"Location": location})


def _roles() -> list[tuple[str, str]]:
    return [(r.value, accounts.ROLE_LABELS[r]) for r in Role]


async def _bodies(request: web.Request) -> list[tuple[str, str]]:
    names = await shell.body_names(request)
    return sorted(names.items(), key=lambda item: item[1])


async def _body_problem(request: web.Request, role: str, body_id: str) -> str | None:
    """A focal point's body must be in intake's catalogue (checked when intake answers)."""
    if role != Role.FOCAL_POINT.value or not body_id:
        return None
    return await shell.body_problem(request, body_id)


def _actor(request: web.Request) -> account_actions.Actor:
    staff = current_staff(request)
    assert staff is not None
    return account_actions.Actor(staff.login, client_address(request), staff.account_id)


# --- the list ----------------------------------------------------------------------------------


def _listing(request: web.Request):
    listing = listing_of(request, accounts.SORTS, "login", filters=ACCOUNTS.filters)
    role = request.query.get(ROLE_FILTER, "")
    return listing, (role if accounts.parse_role(role) else "")


@routes.get("/admin/comptes", name="bo-comptes")
@staff_required(ADMIN)
async def account_list(request: web.Request) -> web.Response:
    listing, role = _listing(request)
    async with request.app[POOL].acquire(timeout=10) as conn:
        total, rows = await accounts.search(
            conn,
            words=listing.words,
            role=role,
            sort=listing.sort,
            descending=listing.descending,
            limit=listing.per_page,
            offset=listing.offset,
        )
    return await shell.render(
        request,
        "backoffice/accounts.html",
        {
            "title": "Comptes",
            "listing": listing,
            # Carried by the link to each account, so its page leads back here.
            "back_query": back_query(listing.back),
            "role_filter": role,
            "roles": _roles(),
            "rows": rows,
            "total": total,
            "body_names": await shell.body_names(request),
        },
    )


HEADER = [
    "Login",
    "Nom",
    "Adresse électronique",
    "Rôle",
    "Organisme",
    "État",
    "Créé le",
    "Dernière connexion",
]


async def _export_rows(request: web.Request) -> list[list[object]]:
    listing, role = _listing(request)
    async with request.app[POOL].acquire(timeout=10) as conn:
        _, rows = await accounts.search(
            conn,
            words=listing.words,
            role=role,
            sort=listing.sort,
            descending=listing.descending,
            limit=EXPORT_LIMIT,
        )
    names = await shell.body_names(request)
    return [
        [
            a.login,
            a.display_name,
            a.email or "",
            a.role_label,
            names.get(a.body_id, a.body_id) if a.body_id else "",
            "Actif" if a.active else "Désactivé",
            a.created_at,
            a.last_sign_in_at,
        ]
        for a in rows
    ]


@routes.get("/admin/comptes/export.csv", name="bo-comptes-export")
@staff_required(ADMIN)
async def account_export(request: web.Request) -> web.Response:
    return csv_response("comptes-milie.csv", HEADER, await _export_rows(request))


@routes.get("/admin/comptes/export.xlsx", name="bo-comptes-xlsx")
@staff_required(ADMIN)
async def account_xlsx(request: web.Request) -> web.StreamResponse:
    rows = await _export_rows(request)
    return await xlsx.response(request, "comptes-milie.xlsx", HEADER, rows, "Comptes")


# --- creating ----------------------------------------------------------------------------------


async def _new_form(
    request: web.Request,
    values: dict[str, str],
    errors: dict[str, str],
    back: Mapping[str, str],
    status: int = 200,
) -> web.Response:
    """« Créer un compte »; ``back``: the list's search, role and page it was opened from, that
    its breadcrumb, « Annuler » and form carry."""
    return await shell.render(
        request,
        "backoffice/account_new.html",
        {
            "title": "Nouveau compte",
            "values": forms.cut(values, accounts.FIELD_MAX, forms.TYPED_ROOM),
            "errors": errors,
            "labels": LABELS,
            "roles": _roles(),
            "bodies": await _bodies(request),
            "back": back,
            "back_query": back_query(back),
        },
        status=status,
    )


@routes.get("/admin/comptes/nouveau", name="bo-compte-nouveau")
@staff_required(ADMIN)
async def new_account_form(request: web.Request) -> web.Response:
    return await _new_form(
        request, {"role": Role.ANALYST.value}, {}, ACCOUNTS.back_of(request.query)
    )


@routes.post("/admin/comptes/nouveau")
@staff_required(ADMIN)
async def create_account(request: web.Request) -> web.Response:
    form = await request.post()
    back = ACCOUNTS.back_of(form)
    # Whole: checked as typed, cut only to be shown again (forms.cut).
    values = {k: str(form.get(k, "")).strip() for k in accounts.FIELD_MAX}
    login = accounts.normalize_login(values["login"])
    errors = accounts.problems(
        login=login,
        role=values["role"],
        body_id=values["body_id"],
        display_name=values["display_name"],
        email=values["email"],
    )
    errors.update(forms.too_long(values, accounts.FIELD_MAX))
    if "body_id" not in errors and (
        problem := await _body_problem(request, values["role"], values["body_id"])
    ):
        errors["body_id"] = problem
    if errors:
        return await _new_form(request, values, errors, back, 422)

    async def work(conn):
        return await account_actions.create(
            conn,
            _actor(request),
            role=values["role"],
            login=login,
            email=values["email"],
            public_url=request.app[GATEWAY_SETTINGS].public_url,
            body_id=values["body_id"] or None,
            display_name=values["display_name"],
        )

    try:
        account, _ = await run_in_transaction(request.app[POOL], work)
    except accounts.AccountRefused as exc:
        return await _new_form(request, values, exc.errors, back, 422)
    notify_outbox.wake(request.app)
    return _see_other(f"/admin/comptes/{account.id}{back_query({'fait': 'cree', **back})}")


# --- one account -------------------------------------------------------------------------------


async def _account_or_404(request: web.Request) -> accounts.Account:
    async with request.app[POOL].acquire(timeout=10) as conn:
        account = await accounts.by_id(conn, request.match_info["account_id"])
    if account is None:
        raise ACCOUNTS.gone()
    return account


async def _detail(
    request: web.Request,
    account: accounts.Account,
    *,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    status: int = 200,
    back: Mapping[str, str] | None = None,
) -> web.Response:
    """The account's page; ``back``: the list's search, sort and page, posted with a refused action
    (read from the address otherwise), that its breadcrumb, questions and forms carry."""
    back = ACCOUNTS.back_of(request.query) if back is None else back
    staff = current_staff(request)
    assert staff is not None
    names = await shell.body_names(request)
    return await shell.render(
        request,
        "backoffice/account.html",
        {
            "title": f"Compte {account.login}",
            "account": account,
            "own": account.id == staff.account_id,
            "body_label": names.get(account.body_id, account.body_id) if account.body_id else "",
            "errors": errors or {},
            # What the agent typed in the form that failed; the account's own values elsewhere.
            "values": {
                "role": account.role.value,
                "body_id": account.body_id or "",
                "email": account.email or "",
                **forms.cut(values or {}, accounts.FIELD_MAX, forms.TYPED_ROOM),
            },
            "labels": LABELS,
            "roles": _roles(),
            "bodies": sorted(names.items(), key=lambda item: item[1]),
            "done": DONE.get(request.query.get("fait", "")),
            # Disabling, a new link and a reset of the second factor ask first: the button opens
            # the question (?confirmer=…), whose form posts « oui ».
            "confirming": request.query.get("confirmer", ""),
            "back": back,
            "back_query": back_query(back),
        },
        status=status,
    )


@routes.get(f"/admin/comptes/{ID}", name="bo-compte")
@staff_required(ADMIN)
async def account_page(request: web.Request) -> web.Response:
    return await _detail(request, await _account_or_404(request))


def _unconfirmed(form, account: accounts.Account, question: str) -> web.Response | None:
    """The way to the question ``question`` when ``form`` is not its « oui » (an old form, a
    double click on the first button): each of these actions locks the agent out at once."""
    if form.get("confirm") == "oui":
        return None
    asked = {"confirmer": question, **ACCOUNTS.back_of(form)}
    return _see_other(f"/admin/comptes/{account.id}{back_query(asked)}")


async def _changed(
    request: web.Request,
    account: accounts.Account,
    act: Callable[..., Awaitable[object]],
    *args: Any,
    done: str,
    back: Mapping[str, str],
) -> web.Response:
    """``act(conn, actor, account, *args)`` (a use case of ``account_actions``) in one
    transaction, notify's outbox woken for what it queued, then the account's page saying
    ``done``, at the list's search, sort and page ``back``; ``accounts.AccountRefused`` is the
    caller's to show."""

    async def work(conn):
        return await act(conn, _actor(request), account, *args)

    await run_in_transaction(request.app[POOL], work)
    notify_outbox.wake(request.app)
    return _see_other(f"/admin/comptes/{account.id}{back_query({'fait': done, **back})}")


def _own_refusal(request: web.Request, account: accounts.Account) -> str | None:
    staff = current_staff(request)
    if staff is not None and staff.account_id == account.id:
        # Keeps at least one administrator: the one acting cannot remove their own rights.
        return "Vous ne pouvez pas modifier le rôle ni l'état de votre propre compte."
    return None


@routes.post(f"/admin/comptes/{ID}/desactiver", name="bo-compte-desactiver")
@staff_required(ADMIN)
async def disable(request: web.Request) -> web.Response:
    account = await _account_or_404(request)
    form = await request.post()
    back = ACCOUNTS.back_of(form)
    if message := _own_refusal(request, account):
        return await _detail(request, account, errors={"state": message}, status=409, back=back)
    if asking := _unconfirmed(form, account, "desactiver"):
        return asking
    return await _changed(request, account, account_actions.disable, done="desactive", back=back)


@routes.post(f"/admin/comptes/{ID}/activer", name="bo-compte-activer")
@staff_required(ADMIN)
async def enable(request: web.Request) -> web.Response:
    account = await _account_or_404(request)
    back = ACCOUNTS.back_of(await request.post())
    return await _changed(request, account, account_actions.enable, done="active", back=back)


@routes.post(f"/admin/comptes/{ID}/nouveau-lien", name="bo-compte-nouveau-lien")
@staff_required(ADMIN)
async def send_new_link(request: web.Request) -> web.Response:
    """« Envoyer un nouveau lien de connexion » (what « Réinitialiser le mot de passe » was):
    the old password stops working, the sessions end, a link goes to the agent's address."""
    account = await _account_or_404(request)
    form = await request.post()
    back = ACCOUNTS.back_of(form)
    if asking := _unconfirmed(form, account, "lien"):
        return asking
    public_url = request.app[GATEWAY_SETTINGS].public_url
    try:
        return await _changed(
            request, account, account_actions.send_new_link, public_url, done="lien", back=back
        )
    except accounts.AccountRefused as exc:
        return await _detail(request, account, errors=exc.errors, status=422, back=back)


@routes.post(f"/admin/comptes/{ID}/email", name="bo-compte-email")
@staff_required(ADMIN)
async def change_email(request: web.Request) -> web.Response:
    account = await _account_or_404(request)
    form = await request.post()
    back = ACCOUNTS.back_of(form)
    email = str(form.get("email", "")).strip()
    values = {"role": account.role.value, "body_id": account.body_id or "", "email": email}
    if refused := forms.too_long({"email": email}, accounts.FIELD_MAX):
        return await _detail(request, account, errors=refused, values=values, status=422, back=back)
    try:
        return await _changed(
            request, account, account_actions.change_email, email, done="email", back=back
        )
    except accounts.AccountRefused as exc:
        return await _detail(
            request, account, errors=exc.errors, values=values, status=422, back=back
        )


@routes.post(
    f"/admin/comptes/{ID}/double-authentification", name="bo-compte-double-authentification"
)
@staff_required(ADMIN)
async def reset_second_factor(request: web.Request) -> web.Response:
    """A lost phone: the agent enrols a new one at the next sign-in (recovery codes spent)."""
    account = await _account_or_404(request)
    form = await request.post()
    if asking := _unconfirmed(form, account, "double-authentification"):
        return asking
    return await _changed(
        request,
        account,
        account_actions.reset_second_factor,
        done="double-authentification",
        back=ACCOUNTS.back_of(form),
    )


@routes.post(f"/admin/comptes/{ID}/role", name="bo-compte-role")
@staff_required(ADMIN)
async def change_role(request: web.Request) -> web.Response:
    account = await _account_or_404(request)
    form = await request.post()
    back = ACCOUNTS.back_of(form)
    values = {
        "role": str(form.get("role", "")).strip(),
        "body_id": str(form.get("body_id", "")).strip(),
    }
    errors = accounts.problems(role=values["role"], body_id=values["body_id"])
    errors.update(forms.too_long(values, accounts.FIELD_MAX))
    if message := _own_refusal(request, account):
        errors["role"] = message
    if not errors and (problem := await _body_problem(request, values["role"], values["body_id"])):
        errors["body_id"] = problem
    if errors:
        return await _detail(request, account, errors=errors, values=values, status=422, back=back)
    role = Role(values["role"])
    body_id = values["body_id"] if role == Role.FOCAL_POINT else None
    return await _changed(
        request, account, account_actions.change_role, role, body_id, done="role", back=back
    )
