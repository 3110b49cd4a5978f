"""The gateway: the only public HTTP entry (citizen pages, back office, /api routing)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import aiohttp_jinja2
import jinja2
from aiohttp import web
from prometheus_client.aiohttp import make_aiohttp_handler

from gateway.backoffice import (
    account_pages,
    alert_pages,
    api_key_pages,
    audit_pages,
    dashboard,
    deadline_pages,
    first_sign_in,
    limit_pages,
    not_found,
    operator_followup,
    operator_pages,
    reason_pages,
    reminder_pages,
    second_factor_pages,
    shell,
    stats_pages,
)
from gateway.backoffice.catalogue import bodies as catalogue_bodies
from gateway.backoffice.catalogue import places as catalogue_places
from gateway.backoffice.catalogue import retiring as catalogue_retiring
from gateway.backoffice.catalogue import themes as catalogue_themes
from gateway.backoffice.treatment import lists as treatment_lists
from gateway.backoffice.treatment import request as treatment_request
from gateway.backoffice.triage import attachments as triage_attachments
from gateway.backoffice.triage import decisions as triage_decisions
from gateway.backoffice.triage import queue as triage_queue
from gateway.backoffice.triage import request as triage_request
from gateway.citizen import directory, home, info, statistics, submission, tracking
from gateway.clients import catalogue
from gateway.clients.intake import INTAKE, Intake
from gateway.clients.notify import NOTIFY, Notify
from gateway.clients.stats import STATS, Stats
from gateway.clients.transport import SERVICES, Services
from gateway.clients.treatment import TREATMENT, Treatment
from gateway.clients.triage import TRIAGE, Triage
from gateway.public_api import open311, open311_openapi, v1, v1_openapi
from gateway.public_api import tracking as tracking_api
from gateway.public_api.ministry import api as ministry_api
from gateway.public_api.ministry import openapi as ministry_openapi
from gateway.settings import GatewaySettings
from gateway.staff import api_keys, auth, notify_outbox, passwords, signin
from gateway.web import (
    compression,
    csrf,
    dev,
    form_parts,
    forms,
    malformed_http,
    phones,
    reading,
    security_headers,
    static_files,
)
from gateway.web.client_address import know_the_caller
from gateway.web.errors import answer_errors
from gateway.web.keys import GATEWAY_SETTINGS, METRICS_URL
from shared import codes, french, periodic
from shared.service import POOL, ServiceSpec, create_service_app

HERE = Path(__file__).parent
SPEC = ServiceSpec(
    name="gateway",
    sql_dir=HERE / "sql",
    uses_broker=False,
    signed_calls_only=False,
    metrics_on_http_port=False,
)


async def _read_common_passwords(app: web.Application) -> None:
    await asyncio.to_thread(passwords.common_passwords)


async def _forget_ended_staff(app: web.Application) -> None:
    async with app[POOL].acquire(timeout=app[GATEWAY_SETTINGS].db_acquire_timeout) as conn:
        await auth.forget_ended(conn, app[GATEWAY_SETTINGS].staff_idle_timeout_seconds)


async def _service_client(app: web.Application) -> AsyncIterator[None]:
    settings = app[GATEWAY_SETTINGS]
    session = aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=settings.service_connections),
        timeout=aiohttp.ClientTimeout(total=settings.service_timeout),
    )
    services = Services(
        session,
        {
            "intake": settings.intake_url,
            "triage": settings.triage_url,
            "treatment": settings.treatment_url,
            "notify": settings.notify_url,
            "stats": settings.stats_url,
        },
        identity_secret=settings.identity_secret.get_secret_value().encode(),
    )
    app[SERVICES] = services
    # One typed client per service, on the one transport: pages call these, never a path.
    app[INTAKE] = Intake(services)
    app[TRIAGE] = Triage(services)
    app[TREATMENT] = Treatment(services)
    app[STATS] = Stats(services)
    app[NOTIFY] = Notify(services)
    yield
    await session.close()


async def _metrics_listener(app: web.Application) -> AsyncIterator[None]:
    """/metrics on MILIE_METRICS_HOST:MILIE_METRICS_PORT, apart from the public address: the
    figures (routes, rates, errors) are for the ops team's Prometheus, not for everyone."""
    settings = app[GATEWAY_SETTINGS]
    metrics = web.Application()
    metrics.router.add_get("/metrics", make_aiohttp_handler())
    runner = web.AppRunner(metrics, access_log=None)
    await runner.setup()
    try:
        site = web.TCPSite(runner, settings.metrics_host, settings.metrics_port)
        await site.start()
        host, port = runner.addresses[0][:2]
        app[METRICS_URL] = f"http://{f'[{host}]' if ':' in host else host}:{port}"
        yield
    finally:
        await runner.cleanup()


def create_app(settings: GatewaySettings) -> web.Application:
    """The whole gateway: every middleware and every route table is listed here."""
    app = create_service_app(
        settings,
        SPEC,
        # gzip first: it sees every page the others give, error pages included.
        middlewares=(compression.gzip_pages, answer_errors, know_the_caller),
    )
    # A NUL in the address refused, a body read in time (and a page's form readable) first.
    app.middlewares.append(reading.read_first)
    app.middlewares.append(auth.load_staff)  # the signed-in staff member, or None
    # After load_staff: a staff form's token is checked against the session it was issued in.
    app.middlewares.append(csrf.protect)
    app.middlewares.append(not_found.admin_not_found)  # the back office's own 404 page
    app.on_response_prepare.append(security_headers.on_prepare)
    app.on_response_prepare.append(auth.no_store_for_staff)
    form_parts.install()  # the submission form's part headers parsed once each
    # aiohttp's parser's refusals in French, without a traceback, with the security headers.
    malformed_http.install(production=settings.env == "production")
    # The breached passwords' list (a second to read) read at start, off the event loop, rather
    # than by the first request that checks a password.
    app.on_startup.append(_read_common_passwords)
    app[GATEWAY_SETTINGS] = settings
    # The APIs that word their refusals their own way: Open311's errors, the ministries' problems.
    app[reading.REFUSED_BY] = {
        open311.PREFIX: open311.refused,
        ministry_api.BASE: ministry_api.refused,
    }
    app[csrf.SECRET] = settings.form_secret.get_secret_value().encode()
    app[csrf.SECURE] = settings.env == "production"
    app[csrf.BOUND_TO] = auth.session_binding  # staff forms' tokens hold their session
    env = aiohttp_jinja2.setup(
        app,
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        autoescape=jinja2.select_autoescape(["html"]),
        # Only a developer edits templates while the gateway runs: elsewhere, no stat() of each
        # template file at every page (jinja2's default checks them all, each time).
        auto_reload=settings.env == "development",
        context_processors=[aiohttp_jinja2.request_processor],  # base.html marks the current page
    )
    env.globals["call_centre_phone"] = settings.call_centre_phone  # the citizen pages' footer
    # Whether SMS are sent (MILIE_SMS_ENABLED): a page promises an SMS only when they are.
    env.globals["sms_enabled"] = settings.sms_enabled
    env.globals["max_lengths"] = forms.MAX_LENGTHS  # each citizen field's maxlength
    env.filters.update(french.FILTERS)  # {{ x | jour }}, | moment, | horodatage, | nombre
    env.filters["code_groupes"] = codes.grouped  # « 503 052 9490 »
    env.filters["email_masque"] = codes.masked_email  # « a***@example.ci »
    env.filters["pays"] = forms.country_label  # « COTE D'IVOIRE (+225) » for « CI »
    # {{ p | tel }} « tel:+2250707123456 », | telephone, | contact_masque « 07 ** ** ** 56 »
    env.filters.update(phones.FILTERS)
    app[catalogue.KEPT] = catalogue.Kept()
    app[submission.BLANK_FORMS] = {}
    app[submission.SHOWN_NEXT] = {}
    app[shell.BODY_NAMES] = {}
    app.cleanup_ctx.append(_service_client)
    app.cleanup_ctx.append(_metrics_listener)
    # Account changes for notify's staff directory and the staff emails (issue 13).
    app.cleanup_ctx.append(notify_outbox.relay_task)
    # The ministry API's call log past its keeping time (GatewaySettings.api_calls_kept_days).
    app.cleanup_ctx.append(
        periodic.every(
            "gateway-api-calls",
            lambda app: app[GATEWAY_SETTINGS].api_calls_sweep_seconds,
            lambda app: api_keys.forget_old_calls(
                app[POOL], app[GATEWAY_SETTINGS].api_calls_kept_days
            ),
        )
    )
    # Ended staff sessions, old failed sign-ins and long-dead first sign-in links, also
    # forgotten at each sign-in.
    app.cleanup_ctx.append(
        periodic.every(
            "gateway-staff-retention",
            lambda app: app[GATEWAY_SETTINGS].retention_sweep_seconds,
            _forget_ended_staff,
        )
    )
    # The citizen's pages.
    app.add_routes(home.routes)
    app.add_routes(submission.routes)
    app.add_routes(directory.routes)
    app.add_routes(statistics.routes)
    app.add_routes(info.routes)  # « À propos », « Informations », « Le guide »
    app.add_routes(tracking.routes)
    # The public APIs.
    app.add_routes(tracking_api.routes)
    app.add_routes(v1.routes)
    app.add_routes(v1_openapi.routes)  # its OpenAPI document
    app.add_routes(open311_openapi.routes)  # before open311's catch-all of unknown addresses
    app.add_routes(open311.routes)  # Open311 GeoReport v2 under /open311/v2/
    app.add_routes(ministry_api.routes)  # the ministries' systems, per-body API keys
    app.add_routes(ministry_openapi.routes)  # its OpenAPI document and page
    # The back office (/admin).
    app.add_routes(signin.routes)
    app.add_routes(second_factor_pages.routes)  # « Double authentification » (issue 14)
    app.add_routes(dashboard.routes)
    app.add_routes(account_pages.routes)
    app.add_routes(first_sign_in.routes)  # the first sign-in link's page (issue 13)
    app.add_routes(alert_pages.routes)  # « Mes alertes » (issue 13)
    app.add_routes(audit_pages.routes)
    # « Administration › Catalogue »: its bodies, themes and places, and retiring any of them.
    app.add_routes(catalogue_bodies.routes)
    app.add_routes(catalogue_themes.routes)
    app.add_routes(catalogue_places.routes)
    app.add_routes(catalogue_retiring.routes)
    app.add_routes(reason_pages.routes)  # « Administration › Motifs » (issue 12)
    app.add_routes(api_key_pages.routes)  # « Administration › Clés d'API » (issue 13)
    app.add_routes(limit_pages.routes)  # « Administration › Limites et SMS » (issue 14)
    app.add_routes(reminder_pages.routes)  # « Administration › Rappels » (issue 13)
    app.add_routes(deadline_pages.routes)  # « Administration › Délais » (issue 13)
    app.add_routes(stats_pages.routes)  # « Statistiques », « Consultations »
    # « Traitements »: the analysts' queue, a request's page, the decisions, the attachments.
    app.add_routes(triage_queue.routes)
    app.add_routes(triage_request.routes)
    app.add_routes(triage_decisions.routes)
    app.add_routes(triage_attachments.routes)
    app.add_routes(treatment_lists.routes)  # the bodies' lists: En cours, Retraitement…
    app.add_routes(operator_pages.routes)  # the call centre's form (channel phone)
    app.add_routes(operator_followup.routes)  # « Suivi d'un appel »: a caller's request
    app.add_routes(treatment_request.routes)  # « Traiter »: a request and the agent's actions
    if settings.env == "development":
        app.add_routes(dev.routes)
    # {{ static_url('milie.css') }}: the stylesheet's versioned address, kept a year by browsers.
    env.globals["static_url"] = static_files.add_routes(app, HERE / "static")
    return app
