"""Who may reach what: every back-office route of the gateway and every staff endpoint of a service,
against every role, a focal point of another body, and nobody signed in.

To add yours: a row in ROUTES (a gateway page, asked with that person's session) or in
SERVICE_ENDPOINTS (a service asked directly with that person's signed identity, or with none).
A path may hold placeholders: ``{account_id}`` (an analyst account nobody signs in with) and what
the functions in PREPARE return (``async def f(ctx: Context) -> dict[str, str]``, run once
before the table, e.g. to submit a request of the focal point's body and give its ``{code}``).
Every ``/admin`` route the gateway registers must have a row: a new page without one fails here.
Besides the statuses: every POST without its CSRF token gets 403; the GETs and the token-less
POSTs change nothing stored; every refusal of a signed-in person is in the audit log.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import NamedTuple

import aiohttp
import asyncpg

from gateway.clients.transport import Services
from gateway.web.keys import GATEWAY_SETTINGS
from shared.identity import Identity, Role
from tests.ministry import helpers as ministry_helpers
from tests.staff.helpers import create_account, form_token, new_session, signed_in_session
from tests.support import signed_session
from tests.treatment import pages as treatment_pages
from tests.triage import access as triage_access

PASSWORD = "mot de passe des tests d'accès"
# Who asks: the four roles, a focal point of another body, nobody.
WHO = ("administrator", "analyst", "focal-point", "operator", "other-body", "anonymous")
STAFF = WHO[:-1]
BODY = "ministere-budget"  # the focal point's body
OTHER_BODY = "ministere-justice"  # the other focal point's


def staff_only(status: int = 200) -> dict[str, int]:
    """Every signed-in person gets ``status``; nobody is sent to the sign-in page."""
    return {**dict.fromkeys(STAFF, status), "anonymous": 303}


def only(*roles: str, status: int = 200) -> dict[str, int]:
    """``roles`` get ``status``, other staff 403, nobody the sign-in page."""
    return {**{w: (status if w in roles else 403) for w in STAFF}, "anonymous": 303}


class Row(NamedTuple):
    method: str
    path: str
    expect: dict[str, int]
    data: dict[str, str] | None = None  # a POST's form (the CSRF token is added)


ADMIN = "administrator"
ANALYST = "analyst"
OPERATOR = "operator"
ROUTES: list[Row] = [
    Row("GET", "/admin", {w: 301 for w in WHO}),
    Row("GET", "/admin/", staff_only()),
    Row("GET", "/admin/aide", staff_only()),
    # Signed in already: sent on to the back office.
    Row("GET", "/admin/connexion", {**dict.fromkeys(STAFF, 303), "anonymous": 200}),
    # Wrong credentials for everyone (401), but the route itself is open.
    Row("POST", "/admin/connexion", dict.fromkeys(WHO, 401), {"login": "x.y", "password": "z"}),
    Row("GET", "/admin/comptes", only(ADMIN)),
    Row("GET", "/admin/comptes/export.csv", only(ADMIN)),
    Row("GET", "/admin/comptes/export.xlsx", only(ADMIN)),
    Row("GET", "/admin/comptes/nouveau", only(ADMIN)),
    Row("POST", "/admin/comptes/nouveau", only(ADMIN, status=422), {}),  # empty form refused
    Row("GET", "/admin/comptes/{account_id}", only(ADMIN)),
    Row("POST", "/admin/comptes/{account_id}/desactiver", only(ADMIN, status=303), {}),
    Row("POST", "/admin/comptes/{account_id}/activer", only(ADMIN, status=303), {}),
    # Issue 13: a new sign-in link (the old « reset password »), the address.
    Row("POST", "/admin/comptes/{account_id}/nouveau-lien", only(ADMIN, status=303), {}),
    Row("POST", "/admin/comptes/{account_id}/email", only(ADMIN, status=422), {}),
    # The first sign-in link's page is open to anyone; a link that does not exist: 404.
    Row("GET", "/admin/premiere-connexion/{link_token}", dict.fromkeys(WHO, 404)),
    Row("POST", "/admin/premiere-connexion/{link_token}", dict.fromkeys(WHO, 404), {}),
    # « Mes alertes »: focal points only; an empty choice is refused.
    Row("GET", "/admin/mes-alertes", only("focal-point", "other-body")),
    Row("POST", "/admin/mes-alertes", only("focal-point", "other-body", status=422), {}),
    Row("POST", "/admin/comptes/{account_id}/role", only(ADMIN, status=422), {}),
    Row("POST", "/admin/comptes/{account_id}/double-authentification", only(ADMIN, status=303), {}),
    # The second factor's page is for a session that gave only the password: a session that
    # gave both is sent on, nobody else reaches it (its own tests: test_second_factor.py).
    Row("GET", "/admin/double-authentification", dict.fromkeys(WHO, 303)),
    Row("POST", "/admin/double-authentification", dict.fromkeys(WHO, 303), {"code": "1"}),
    Row("GET", "/admin/journal", only(ADMIN)),
    Row("GET", "/admin/journal/export.csv", only(ADMIN)),
    Row("GET", "/admin/journal/export.xlsx", only(ADMIN)),
    # « Administration › Motifs »: administrators only; empty forms are refused (422) before
    # triage is asked.
    Row("GET", "/admin/motifs", only(ADMIN)),
    Row("POST", "/admin/motifs", only(ADMIN, status=422), {}),
    Row("GET", "/admin/motifs/{reason_id}", only(ADMIN)),
    Row("POST", "/admin/motifs/{reason_id}", only(ADMIN, status=422), {}),
    # « Administration › Clés d'API » (the ministry API): administrators only; an empty form is
    # refused (422); revoking a key of the table (303).
    Row("GET", "/admin/cles-api", only(ADMIN)),
    Row("POST", "/admin/cles-api", only(ADMIN, status=422), {}),
    Row("GET", "/admin/cles-api/creee", only(ADMIN)),  # the key made, shown once
    Row("GET", "/admin/cles-api/{api_key_id}", only(ADMIN)),
    Row("POST", "/admin/cles-api/{api_key_id}/revoquer", only(ADMIN, status=303), {}),
    # « Administration › Limites et SMS » (issue 14): an empty form is refused (422).
    Row("GET", "/admin/limites", only(ADMIN)),
    Row("POST", "/admin/limites", only(ADMIN, status=422), {}),
    # « Administration › Délais »: administrators only; empty forms are refused (422) before
    # treatment is asked.
    Row("GET", "/admin/delais", only(ADMIN)),
    *(
        Row("POST", f"/admin/delais{path}", only(ADMIN, status=422), {})
        for path in ("", "/supprimer", "/jours", "/jours/supprimer")
    ),
    # « Administration › Catalogue »: administrators only. Empty forms are refused (422) before
    # intake is asked; an empty list of themes for a body without one changes nothing (303);
    # retiring then restoring a body, a theme and a place of no other row (303 each).
    *(
        Row("GET", f"/admin/catalogue{path}", only(ADMIN))
        for path in (
            "",
            "/organismes/nouveau",
            "/organismes/{cat_body}",
            "/organismes/{cat_body}/modifier",
            "/themes",
            "/themes/nouveau",
            "/themes/{cat_theme}/modifier",
            "/lieux",
            "/lieux/nouveau",
            "/lieux/{cat_place}/modifier",
        )
    ),
    *(
        Row("POST", f"/admin/catalogue{path}", only(ADMIN, status=422), {})
        for path in (
            "/organismes/nouveau",
            "/organismes/{cat_body}/modifier",
            "/organismes/{cat_body}/nouveau-theme",
            "/themes/nouveau",
            "/themes/{cat_theme}/modifier",
            "/lieux/nouveau",
            "/lieux/{cat_place}/modifier",
        )
    ),
    Row("POST", "/admin/catalogue/organismes/{cat_body}/themes", only(ADMIN, status=303), {}),
    *(
        Row("POST", f"/admin/catalogue/{kind}/{{{key}}}/{action}", only(ADMIN, status=303), {})
        for kind, key in (
            ("organismes", "cat_body"),
            ("themes", "cat_theme"),
            ("lieux", "cat_place"),
        )
        for action in ("retirer", "retablir")
    ),
    # « Traitements » (triage): analysts and administrators. An empty decision form is refused
    # (422: no version of the request, no message, no body), so the table decides nothing.
    Row("GET", "/admin/traitements", only(ADMIN, ANALYST)),
    Row("GET", "/admin/traitements/export.csv", only(ADMIN, ANALYST)),
    Row("GET", "/admin/traitements/export.xlsx", only(ADMIN, ANALYST)),
    Row("GET", "/admin/traitements/{code}", only(ADMIN, ANALYST)),
    *(
        Row("POST", f"/admin/traitements/{{code}}/{action}", only(ADMIN, ANALYST, status=422), {})
        for action in ("valider", "reformuler", "rejeter", "reindexer", "clarifier")
    ),
    # A file sent with a request to the focal point's body (intake refuses the other body's).
    Row("GET", "/admin/pieces-jointes/{attachment_id}", only(ADMIN, ANALYST, "focal-point")),
    # « Traiter » (treatment): everyone but the call centre reads a request of the focal point's
    # body, its other body's focal point finds no such code (404, as for an unknown one); only
    # focal points act, and an empty form (no version) is refused (422) before anything is done.
    Row(
        "GET",
        "/admin/requetes/{pf_code}",
        {**only(ADMIN, ANALYST, "focal-point"), "other-body": 404},
    ),
    *(
        Row(
            "POST",
            f"/admin/requetes/{{pf_code}}/{action}",
            {**only("focal-point", status=422), "other-body": 404},
            {},
        )
        for action in (
            "prendre-en-compte",
            "mettre-en-attente",
            "reprendre",
            "reaffecter",
            "baliser",
            "repondre",
            "repondre-a-nouveau",
        )
    ),
    # A document kept for the answer of that request.
    Row(
        "GET",
        "/admin/documents/{document_id}",
        {**only(ADMIN, ANALYST, "focal-point"), "other-body": 404},
    ),
    # The call centre's form: operators only; an empty form is refused (422).
    Row("GET", "/admin/appel", only(OPERATOR)),
    Row("POST", "/admin/appel", only(OPERATOR, status=422), {}),
    # « Suivi d'un appel »: operators only; an empty form (no code, no contact) is refused (422)
    # before intake is asked, so the table records no reply.
    Row("GET", "/admin/appel/suivi", only(OPERATOR)),
    *(
        Row("POST", f"/admin/appel/suivi{path}", only(OPERATOR, status=422), {})
        for path in ("", "/avis", "/relancer")
    ),
    # « Statistiques »: every focal point too (stats answers only its own body's counts).
    *(
        Row("GET", f"/admin/statistiques{suffix}", {**staff_only(), OPERATOR: 403})
        for suffix in ("", "/export.csv", "/export.xlsx")
    ),
    Row("GET", "/admin/consultations", only(ADMIN, ANALYST)),
    # « Rappels »: administrators only (an empty form: 422).
    Row("GET", "/admin/rappels", only(ADMIN)),
    Row("POST", "/admin/rappels", only(ADMIN, status=422), {}),
    # The bodies' lists: every focal point (treatment gives each its own body's rows only, see
    # tests/treatment/test_pages_lists.py), analysts and administrators read-only.
    *(
        Row("GET", f"{path}{suffix}", only(ADMIN, ANALYST, "focal-point", "other-body"))
        for path in (
            "/admin/traitements/en-cours",
            "/admin/traitements/retraitement",
            "/admin/traitements/insatisfaits",
            "/admin/traitements/en-retard",
            "/admin/pf/consultations",
        )
        for suffix in ("", "/export.csv", "/export.xlsx")
    ),
    # Signing out is tried last: it ends the sessions the table uses.
    Row("POST", "/admin/deconnexion", dict.fromkeys(WHO, 303), {}),
]


class Endpoint(NamedTuple):
    service: str
    method: str
    path: str
    expect: dict[str, int]  # WHO; "anonymous" means no identity header at all
    json: object = None


def service_staff(*roles: str, status: int = 200) -> dict[str, int]:
    return {**{w: (status if w in roles else 403) for w in STAFF}, "anonymous": 401}


READERS = (ADMIN, ANALYST, "focal-point", "other-body")  # of treatment's requests


SERVICE_ENDPOINTS: list[Endpoint] = [
    Endpoint("intake", "GET", "/catalogue/admin", service_staff(ADMIN)),
    # intake's configuration table (issue 14): an empty change is refused (422).
    Endpoint("intake", "GET", "/config", service_staff(ADMIN)),
    Endpoint("intake", "PUT", "/config", service_staff(ADMIN, status=422), {}),
    # triage: analysts and administrators; decisions with a faulty body are refused (422)
    # before anything is decided.
    Endpoint("triage", "GET", "/queue", service_staff(ADMIN, ANALYST)),
    Endpoint("triage", "GET", "/queue/export.csv", service_staff(ADMIN, ANALYST)),
    Endpoint("triage", "GET", "/queue/{code}", service_staff(ADMIN, ANALYST)),
    Endpoint(
        "triage",
        "POST",
        "/queue/{code}/validate",
        service_staff(ADMIN, ANALYST, status=422),
        {"message": "x" * 5001},
    ),
    *(
        Endpoint(
            "triage",
            "POST",
            f"/queue/{{code}}/{action}",
            service_staff(ADMIN, ANALYST, status=422),
            {},
        )
        for action in ("reformulate", "reject", "clarify", "reindex")
    ),
    Endpoint("triage", "GET", "/audit", service_staff(ADMIN)),
    # Ready-made reasons: analysts read them, administrators keep them (a faulty body: 422).
    Endpoint("triage", "GET", "/reasons", service_staff(ADMIN, ANALYST)),
    Endpoint("triage", "POST", "/reasons", service_staff(ADMIN, status=422), {}),
    Endpoint("triage", "PUT", "/reasons/{reason_id}", service_staff(ADMIN, status=422), {}),
    # intake: a file sent to the focal point's body, which the other body's may not read; the
    # catalogue's administration.
    Endpoint(
        "intake",
        "GET",
        "/attachments/{attachment_id}",
        service_staff(ADMIN, ANALYST, "focal-point"),
    ),
    # Faulty bodies (422 before any write) to each of the catalogue's administration routes.
    *(
        Endpoint("intake", "POST", f"/catalogue/{kind}", service_staff(ADMIN, status=422), {})
        for kind in ("bodies", "themes", "places")
    ),
    *(
        Endpoint("intake", "PATCH", path, service_staff(ADMIN, status=422), {"x": 1})
        for path in (
            "/catalogue/bodies/{body}",
            "/catalogue/themes/accueil-espace",
            "/catalogue/places/abidjan-plateau",
        )
    ),
    # notify: the delivery log names citizens' addresses.
    Endpoint("notify", "GET", "/deliveries?request_id={request_id}", service_staff(ADMIN, ANALYST)),
    # stats: « Statistique générale », a focal point's own body only.
    Endpoint(
        "stats", "GET", "/stats/general", service_staff(ADMIN, ANALYST, "focal-point", "other-body")
    ),
    # stats: a body's dashboard and « En attente »; a focal point gets its own body whatever it
    # names (tests/stats/test_body_dashboard.py checks which body answers).
    *(
        Endpoint(
            "stats",
            "GET",
            f"/stats/{name}?body_id={{body}}",
            service_staff(ADMIN, ANALYST, "focal-point", "other-body"),
        )
        for name in ("body-dashboard", "body-waiting")
    ),
    # treatment: analysts and administrators read, focal points read and act, each on its own
    # body (the table's {code} is still with the analysts: 404 to every reader); a faulty form
    # is refused (422) before anything is looked up.
    Endpoint("treatment", "GET", "/requests", service_staff(*READERS)),
    Endpoint("treatment", "GET", "/audit", service_staff(ADMIN)),
    # The clock's reminders (« Rappels »): administrators set them, nonsense refused (422).
    Endpoint("treatment", "GET", "/reminders/settings", service_staff(ADMIN)),
    Endpoint("treatment", "PUT", "/reminders/settings", service_staff(ADMIN, status=422), {}),
    Endpoint("treatment", "GET", "/requests/export.csv", service_staff(*READERS)),
    Endpoint("treatment", "GET", "/requests/{code}", service_staff(*READERS, status=404)),
    Endpoint("treatment", "GET", "/documents/{request_id}", service_staff(*READERS, status=404)),
    *(
        Endpoint(
            "treatment",
            "POST",
            f"/requests/{{code}}/{action}",
            service_staff("focal-point", "other-body", status=422),
            {"version": 0},
        )
        for action in ("take", "hold", "resume", "reassign", "answer", "answer-again", "tag")
    ),
    # The body's feed of changes (the ministry API's polling): focal points, their own body.
    Endpoint("treatment", "GET", "/changes", service_staff("focal-point", "other-body")),
    # The deadline policy (« Délais »): administrators only; faulty bodies are refused (422)
    # before anything is written.
    Endpoint("treatment", "GET", "/deadlines", service_staff(ADMIN)),
    Endpoint("treatment", "PUT", "/deadlines/rules", service_staff(ADMIN, status=422), {}),
    Endpoint("treatment", "POST", "/deadlines/days-off", service_staff(ADMIN, status=422), {}),
    Endpoint("treatment", "DELETE", "/deadlines/days-off/jamais", service_staff(ADMIN, status=422)),
    # A document comes as a stream (shared.signing.streamed): a JSON call is refused whoever
    # signs it; tests/treatment/test_focal_api.py checks its roles and bodies.
    Endpoint("treatment", "POST", "/requests/{code}/documents", dict.fromkeys(WHO, 401), {}),
]


@dataclass
class Context:
    """What PREPARE functions get: the running platform and the people of the table."""

    stack: object
    database_url: str
    accounts: dict[str, object] = field(default_factory=dict)  # WHO → gateway Account


async def catalogue_rows(ctx: Context) -> dict[str, str]:
    """A body, a theme and a place of the data files that no other row of the table uses."""
    return {
        "cat_body": "ministere-eaux-forets",
        "cat_theme": "accueil-agent",
        "cat_place": "abidjan-yopougon",
    }


async def seeded_reason(ctx: Context) -> dict[str, str]:
    """A ready-made reason of triage's migration (0060_reasons.sql seeds them)."""
    return {"reason_id": "1"}


PREPARE: list[Callable[[Context], Awaitable[dict[str, str]]]] = [
    catalogue_rows,
    seeded_reason,  # {reason_id}  # {cat_body}, {cat_theme}, {cat_place}
    triage_access.request_in_queue,  # {code}, {attachment_id}
    treatment_pages.request_in_treatment,  # {pf_code}, {document_id}
    ministry_helpers.key_for_the_table,  # {api_key_id}
]

IDENTITY_ROLES = {
    "administrator": (Role.ADMINISTRATOR, None),
    "analyst": (Role.ANALYST, None),
    "focal-point": (Role.FOCAL_POINT, BODY),
    "operator": (Role.OPERATOR, None),
    "other-body": (Role.FOCAL_POINT, OTHER_BODY),
}


async def _people(database_url: str) -> dict[str, object]:
    made = {}
    for who, (role, body) in IDENTITY_ROLES.items():
        made[who] = await create_account(database_url, role, f"acces.{who}", PASSWORD, body)
    return made


async def test_every_back_office_route_against_every_role(stack, database_url):
    ctx = Context(stack, database_url)
    ctx.accounts = await _people(database_url)
    target = await create_account(database_url, Role.ANALYST, "acces.cible", PASSWORD)
    values = {"account_id": str(target.id), "link_token": "lien-qui-n-existe-pas-0123456789"}
    for prepare in PREPARE:
        values.update(await prepare(ctx))

    # Every /admin route has a row.
    gateway_app = stack.apps["gateway"].app
    registered = {
        (route.method, route.resource.canonical)
        for route in gateway_app.router.routes()
        if route.resource is not None
        and route.resource.canonical.startswith("/admin")
        and route.method != "HEAD"
    }
    table = {(row.method, _route_pattern(gateway_app, row)) for row in ROUTES}
    assert registered - table == set(), "back-office routes without a row in ROUTES"

    sessions: dict[str, aiohttp.ClientSession] = {}
    try:
        for who in STAFF:
            sessions[who] = await signed_in_session(stack.gateway, f"acces.{who}", PASSWORD)
        sessions["anonymous"] = new_session()
        tokens = {}
        for who, http in sessions.items():
            page = "/admin/connexion" if who == "anonymous" else "/admin/aide"
            tokens[who] = await form_token(http, stack.gateway + page)
        wrong = []
        before = await _state(database_url)
        # Without its CSRF token, every form is refused (403) before anything else, whoever posts.
        for row in ROUTES:
            if row.method != "POST":
                continue
            url = stack.gateway + row.path.format(**values)
            for who in WHO:
                async with sessions[who].post(url, data=row.data or {}) as resp:
                    if resp.status != 403:
                        wrong.append(f"POST {row.path} as {who} without CSRF: {resp.status}")
        # Every GET first: then nothing may have changed (no state changes over GET).
        gets = [row for row in ROUTES if row.method == "GET"]
        for row in gets + [row for row in ROUTES if row.method != "GET"]:
            if row.method != "GET" and gets:
                gets = []
                after = await _state(database_url)
                for table, (old, new) in zip(
                    STATE_TABLES, zip(before, after, strict=True), strict=True
                ):
                    if old != new:
                        wrong.append(f"a GET or a POST without CSRF token changed {table}")
            url = stack.gateway + row.path.format(**values)
            for who in WHO:
                http = sessions[who]
                if row.method == "GET":
                    request = http.get(url, allow_redirects=False)
                else:
                    data = {**(row.data or {}), "csrf_token": tokens[who]}
                    request = http.post(url, data=data, allow_redirects=False)
                async with request as resp:
                    await resp.read()
                    if resp.status != row.expect[who]:
                        wrong.append(
                            f"{row.method} {row.path} as {who}: {resp.status}, "
                            f"expected {row.expect[who]}"
                        )
                    elif resp.status == 303 and who == "anonymous" and row.expect[who] == 303:
                        if "/admin/connexion" not in resp.headers["Location"] and (
                            row.path != "/admin/deconnexion"
                        ):
                            wrong.append(f"{row.path} as nobody: not sent to sign in")
        assert wrong == [], "\n".join(wrong)
    finally:
        for http in sessions.values():
            await http.close()

    # Every refusal of a signed-in person is in the audit log: who, what, from where.
    refused = {
        (f"acces.{who}", f"{row.method} {row.path.format(**values)}")
        for row in ROUTES
        for who in STAFF
        if row.expect[who] == 403
    }
    conn = await asyncpg.connect(database_url)
    try:
        logged = await conn.fetch(
            "SELECT actor_login, target, address FROM gateway.audit_log"
            " WHERE action = 'access_refused'"
        )
    finally:
        await conn.close()
    assert refused - {(r["actor_login"], r["target"]) for r in logged} == set()
    assert all(r["address"] for r in logged)


STATE_TABLES = (
    "gateway.staff_accounts",
    "triage.queue_items",
    "triage.history",
    "intake.requests",
    "intake.outbox",
    "triage.outbox",
    "treatment.treatments",
    "treatment.history",
    "treatment.outbox",
)


async def _state(database_url: str) -> list[str]:
    """A fingerprint of what staff pages could change: accounts, triage's queue and history,
    intake's requests, every outbox."""
    conn = await asyncpg.connect(database_url)
    try:
        return [
            await conn.fetchval(
                f"SELECT md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), ''))"
                f" FROM {table} t"
            )
            for table in STATE_TABLES
        ]
    finally:
        await conn.close()


def _fits(canonical: str, path: str) -> bool:
    """Whether a concrete path is one of a route's (``/queue/{code}`` and ``/queue/0123456789``)."""
    return re.fullmatch(re.sub(r"\\\{\w+\\\}", "[^/]+", re.escape(canonical)), path) is not None


def _route_pattern(app, row: Row) -> str:
    """The route's pattern as the router writes it ({account_id} stays a placeholder)."""
    for route in app.router.routes():
        resource = route.resource
        if resource is None or route.method != row.method:
            continue
        if resource.canonical == row.path or _matches(resource.canonical, row.path):
            return resource.canonical
    return row.path


def _matches(canonical: str, path: str) -> bool:
    # Any placeholder stands for any other ({pf_code} for the route's {code}); regex suffixes
    # are dropped.
    return re.sub(r"\{\w+(:[^}]*)?\}", "{}", canonical) == re.sub(r"\{\w+\}", "{}", path)


async def test_every_staff_endpoint_of_the_services_against_every_role(stack, database_url):
    ctx = Context(stack, database_url)
    values: dict[str, str] = {"body": BODY, "request_id": str(uuid.uuid4())}
    for prepare in PREPARE:
        values.update(await prepare(ctx))
    secret = stack.apps["gateway"].app[GATEWAY_SETTINGS].identity_secret.get_secret_value()
    identities = {
        who: Identity(staff_id=f"id-{who}", role=role, body_id=body, login=f"acces.{who}")
        for who, (role, body) in IDENTITY_ROLES.items()
    }
    # Every staff endpoint a service registers (``requires``) has a row.
    table = {
        (e.service, e.method, e.path.format(**values).partition("?")[0]) for e in SERVICE_ENDPOINTS
    }
    missing = [
        f"{name} {route.method} {route.resource.canonical}"
        for name in ("intake", "triage", "treatment", "notify", "stats")
        for route in stack.apps[name].app.router.routes()
        if route.method != "HEAD"
        and getattr(route.handler, "required_roles", None) is not None
        and not any(
            s == name and m == route.method and _fits(route.resource.canonical, p)
            for s, m, p in table
        )
    ]
    assert missing == [], f"service staff endpoints without a row in SERVICE_ENDPOINTS: {missing}"
    wrong = []
    async with signed_session() as http:
        urls = {
            name: stack.url(name) for name in ("intake", "triage", "treatment", "notify", "stats")
        }
        services = Services(http, urls, identity_secret=secret.encode())
        forger = Services(http, urls, identity_secret=b"not the shared secret")
        for endpoint in SERVICE_ENDPOINTS:
            path = endpoint.path.format(**values)
            for who in WHO:
                status, _ = await services.call(
                    endpoint.method,
                    endpoint.service,
                    path,
                    json=endpoint.json,
                    identity=identities.get(who),
                )
                if status != endpoint.expect[who]:
                    wrong.append(f"{endpoint.service} {endpoint.method} {path} as {who}: {status}")
            status, _ = await forger.call(
                endpoint.method, endpoint.service, path, identity=identities["administrator"]
            )
            if status != 401:
                wrong.append(f"{endpoint.service} {endpoint.method} {path} forged: {status}")
    assert wrong == [], "\n".join(wrong)
