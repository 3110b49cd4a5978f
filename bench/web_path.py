"""The citizen's web path, page by page as a browser goes through it, figures printed.

    python -m bench.web_path [--requests 300] [--concurrency 64] [--warmup 20] [--from-start]
                             [--set [PROCESS:]KEY=VALUE]... [--idle 2] [--keep]

Each simulated citizen is a browser of its own (an aiohttp session, its cookie jar, its
connection to the gateway) that opens « Exprimez votre préoccupation » for a nature and a body
(``GET /soumettre/formulaire?nature=…&organisme=…``, the link « Choix de l'organisme public »
gives), fetches the stylesheet the page names (a fresh browser's cache is empty), reads the form
out of the HTML (the CSRF token, the draft field, the options offered for the place, the theme,
the nature, the country), fills it and posts it as a browser does (``multipart/form-data``, every
field in the page's order, the empty file part of « Pièces jointes »), follows the 303 to « Êtes-
vous sûr de vouloir soumettre ces informations ? », posts its « Envoyer ma requête » form (found
by that button's words), follows the 303 to the
page with the code and reads the code there. Redirections are followed by hand so that each
request is timed as a step of its own. With ``--from-start`` the citizen first goes through
« Soumettre une requête » (the nature) and « Choix de l'organisme public » (paging to the body)
and follows the links there. The acknowledgement email of each code is awaited at an
in-process SMTP server and checked to carry it.

The six processes start as ``make up`` starts them, on a database and a broker namespace of the
run's own, removed at the end (``bench.harness``). Not a test: run it by hand.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform as host
import random
import re
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from html import unescape
from urllib.parse import parse_qs, urlencode, urljoin, urlsplit

import aiohttp

from bench.harness import (
    ROOT,
    bench_run,
    cpu_by_pid,
    cpu_used,
    database_activity,
    delta,
    machine_cpu,
    main_of,
    mean_ms,
    percentile,
    process_env,
    say,
    scrape,
    wait_for_mail,
)
from bench.load import MESSAGES, NAMES, check_codes
from deploy.local.platform import PROCESSES

# The aim of the change this benchmark is for (2-core machine).
GOAL_RATE = 150.0
FORM = "/soumettre/formulaire"
SUBMIT_BUTTON = "Soumettre votre requête"
OK_BUTTON = "Envoyer ma requête"
# The steps of one citizen's path, in order: (name, the gateway's route it hits).
STEPS = (
    ("nature page", ("GET", "/soumettre")),  # with --from-start
    ("body page", ("GET", "/soumettre/organisme")),  # with --from-start
    ("form page", ("GET", "/soumettre/formulaire")),
    ("stylesheet", ("GET", "/static/{name}")),
    ("Soumettre", ("POST", "/soumettre/formulaire")),
    ("confirmation page", ("GET", "/soumettre/confirmer")),
    ("OK", ("POST", "/soumettre/confirmer")),
    ("code page", ("GET", "/soumettre/enregistree")),
)
HEADERS = {
    "User-Agent": "Mozilla/5.0 (X11; Linux x86_64) bench.web_path",
    "Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
    "Accept-Language": "fr-FR,fr;q=0.9",
}
CODE = re.compile(r"^\d{10}$")


# -- reading pages as a browser does ---------------------------------------------------------


@dataclass
class Control:
    """One form control: an ``input`` (with its type), a ``select`` or a ``textarea``."""

    tag: str
    name: str
    type: str = ""
    value: str = ""
    checked: bool = False
    options: list[tuple[str, bool]] = field(default_factory=list)  # (value, selected)


@dataclass
class Form:
    action: str
    method: str
    enctype: str
    controls: list[Control] = field(default_factory=list)
    buttons: list[str] = field(default_factory=list)  # the submit buttons' texts

    def control(self, name: str) -> Control:
        for c in self.controls:
            if c.name == name:
                return c
        raise Failed("no field", f"the form has no field {name!r}")

    def data(self, typed: dict[str, str], ticked: set[str]) -> list[tuple[str, str | None]]:
        """The form's data set as a browser builds it, in the page's order: ``typed`` values
        for text fields and choices (a choice must be one of the options the page offers),
        ``ticked`` check boxes; ``None`` stands for a file input with no file chosen."""
        out: list[tuple[str, str | None]] = []
        for c in self.controls:
            if not c.name:
                continue
            if c.tag == "select":
                offered = [v for v, _ in c.options]
                chosen = next((v for v, sel in c.options if sel), offered[0] if offered else "")
                value = typed.get(c.name, chosen)
                if value not in offered:
                    raise Failed("form: choice not offered", f"{c.name}: {value!r} not offered")
                out.append((c.name, value))
            elif c.tag == "textarea":
                out.append((c.name, typed.get(c.name, c.value)))
            elif c.type in ("checkbox", "radio"):
                if c.checked or c.name in ticked:
                    out.append((c.name, c.value or "on"))
            elif c.type == "file":
                out.append((c.name, None))
            elif c.type not in ("submit", "button", "reset", "image"):
                out.append((c.name, typed.get(c.name, c.value)))
        return out


# The start and end tags the benchmark reads, with their attributes. The pages are our own
# templates' output: well formed, no inline script, every ``>`` in a value escaped. Scanning
# these tags alone costs the benchmark a sixth of ``html.parser``'s CPU for the form page (0.6
# against 4 ms, measured side by side): CPU it would otherwise take from the platform it measures.
TAG = re.compile(r"<(/?)(a|link|form|input|select|option|textarea|button|span)\b([^>]*)>")
ATTR = re.compile(r"([^\s=>/]+)(?:\s*=\s*(?:\"([^\"]*)\"|'([^']*)'|([^\s>]+)))?")
OPTION_VALUE = re.compile(r'value="([^"]*)"')


def _attrs(raw: str) -> dict[str, str]:
    return {
        m.group(1).lower(): unescape(m.group(2) or m.group(3) or m.group(4) or "")
        for m in ATTR.finditer(raw)
    }


def _text(html: str, start: int, tag: str) -> str:
    """The text from ``start`` to the element's end tag (elements without children here)."""
    end = html.find(f"</{tag}", start)
    return unescape(html[start : end if end >= 0 else len(html)])


class Page:
    """What the benchmark reads in a page: its forms, links, stylesheets, ``#code``'s text."""

    def __init__(self, html: str) -> None:
        self.forms: list[Form] = []
        self.links: list[str] = []
        self.stylesheets: list[str] = []
        self.code = ""
        form: Form | None = None
        for m in TAG.finditer(html):
            closing, tag, raw = m.groups()
            if closing:
                if tag == "form":
                    form = None
                continue
            if tag == "option":  # most of the tags of the form page: read without _attrs
                if form is not None and form.controls and form.controls[-1].tag == "select":
                    value = OPTION_VALUE.search(raw)
                    selected = " selected" in raw
                    form.controls[-1].options.append(
                        (unescape(value.group(1)) if value else "", selected)
                    )
                continue
            if tag == "span" and "code" not in raw:
                continue
            a = _attrs(raw)
            if tag == "a" and a.get("href"):
                self.links.append(a["href"])
            elif tag == "link" and a.get("rel") == "stylesheet":
                self.stylesheets.append(a.get("href", ""))
            elif tag == "form":
                form = Form(
                    a.get("action", ""),
                    a.get("method", "get").lower(),
                    a.get("enctype", "application/x-www-form-urlencoded"),
                )
                self.forms.append(form)
            elif a.get("id") == "code":
                # « 503 052 9490 »: grouped as people read it aloud.
                self.code = "".join(_text(html, m.end(), tag).split())
            if form is None:
                continue
            name = a.get("name", "")
            if tag == "input":
                kind = a.get("type", "text").lower()
                form.controls.append(
                    Control("input", name, kind, a.get("value", ""), "checked" in a)
                )
            elif tag == "select":
                form.controls.append(Control("select", name))
            elif tag == "textarea":
                # The newline just after <textarea> is not part of the value.
                form.controls.append(
                    Control("textarea", name, value=_text(html, m.end(), tag).removeprefix("\n"))
                )
            elif tag == "button" and a.get("type", "submit") == "submit":
                form.buttons.append(_text(html, m.end(), tag).strip())

    def form_with(self, button: str) -> Form:
        for form in self.forms:
            if button in form.buttons:
                return form
        raise Failed("no form", f"no form with the button « {button} »")


# -- one citizen -----------------------------------------------------------------------------


class Failed(Exception):
    """A step went wrong; ``kind`` is what the error counts name."""

    def __init__(self, kind: str, detail: str) -> None:
        super().__init__(detail)
        self.kind = kind


@dataclass
class Catalogue:
    """What the pages offer before the form: the natures (« Soumettre une requête ») and the
    bodies (« Choix de l'organisme public », every page of it)."""

    natures: list[str]
    bodies: list[str]


@dataclass
class Phase:
    paths: list[float] = field(default_factory=list)  # whole path per citizen, seconds
    steps: dict[str, list[float]] = field(default_factory=dict)
    codes: dict[str, tuple[str, float]] = field(default_factory=dict)  # email → (code, when)
    stored: dict[str, float] = field(default_factory=dict)  # email → when « OK » was answered
    errors: Counter[str] = field(default_factory=Counter)
    samples: list[str] = field(default_factory=list)
    started: float = 0.0
    ended: float = 0.0
    last_code: float = 0.0


class Browser:
    """One citizen's browser: its session (cookies, connection) and the step timings."""

    def __init__(self, http: aiohttp.ClientSession, gateway: str, phase: Phase) -> None:
        self.http = http
        self.gateway = gateway
        self.phase = phase
        self.current = ""  # the page the browser shows: the Referer of what it does next
        self.cached: set[str] = set()

    async def go(
        self, step: str, method: str, url: str, *, expect: int, data=None
    ) -> tuple[str, str]:
        """One request of the path, timed until its body is read: (body, Location)."""
        url = urljoin(self.gateway, url)
        headers = {"Referer": self.current} if self.current else {}
        if method == "POST":
            headers["Origin"] = self.gateway
        started = time.perf_counter()
        try:
            async with self.http.request(
                method, url, data=data, headers=headers, allow_redirects=False
            ) as resp:
                body = await resp.text()
                status, location = resp.status, resp.headers.get("Location", "")
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise Failed(f"{step}: {type(exc).__name__}", f"{step}: {exc!r}") from None
        self.phase.steps.setdefault(step, []).append(time.perf_counter() - started)
        if status != expect:
            raise Failed(f"{step}: HTTP {status}", f"{step}: HTTP {status} {url}: {body[:300]!r}")
        return body, urljoin(url, location)

    async def stylesheets(self, page: Page) -> None:
        """The page's stylesheets, the first time only (then the browser has them in cache)."""
        for sheet in page.stylesheets:
            url = urljoin(self.current, sheet)
            if url not in self.cached:
                await self.go("stylesheet", "GET", url, expect=200)
                self.cached.add(url)


def multipart(data: list[tuple[str, str | None]]) -> aiohttp.FormData:
    """The form as ``multipart/form-data``; a file input without a file is the part a browser
    sends for it: an empty file with an empty name."""
    form = aiohttp.FormData()
    for name, value in data:
        if value is None:
            form.add_field(name, b"", filename="", content_type="application/octet-stream")
        else:
            form.add_field(name, value)
    return form


def _link(where: Page, path: str, /, **query: str) -> str | None:
    """The first link of ``where`` to ``path`` whose query has these values."""
    for link in where.links:
        parts = urlsplit(link)
        found = parse_qs(parts.query)
        if parts.path == path and all(found.get(k) == [v] for k, v in query.items()):
            return link
    return None


async def to_the_form(browser: Browser, nature: str, body: str) -> str:
    """« Soumettre une requête » → the nature → « Choix de l'organisme public », page after page
    until the body's link; returns that link (the form's address)."""
    html, _ = await browser.go("nature page", "GET", "/soumettre", expect=200)
    browser.current = urljoin(browser.gateway, "/soumettre")
    page = Page(html)
    await browser.stylesheets(page)
    url = _link(page, "/soumettre/organisme", nature=nature)
    number = 1
    while url is not None:
        html, _ = await browser.go("body page", "GET", url, expect=200)
        browser.current = urljoin(browser.current, url)
        page = Page(html)
        if form := _link(page, FORM, nature=nature, organisme=body):
            return form
        number += 1
        url = _link(page, "/soumettre/organisme", nature=nature, page=str(number))
    raise Failed("body page: body not found", f"no link to {body} in the pages of bodies")


async def one_citizen(
    gateway: str,
    catalogue: Catalogue,
    rng: random.Random,
    email: str,
    label: str,
    phase: Phase,
    from_start: bool,
) -> str:
    """(With ``from_start``: nature page → body page(s) →) form page → « Soumettre votre
    requête » → confirmation → « OK » → the code; returns it."""
    jar = aiohttp.CookieJar(unsafe=True)  # the gateway answers on an IP address
    timeout = aiohttp.ClientTimeout(total=60)
    async with aiohttp.ClientSession(cookie_jar=jar, timeout=timeout, headers=HEADERS) as http:
        browser = Browser(http, gateway, phase)
        nature, body = rng.choice(catalogue.natures), rng.choice(catalogue.bodies)
        if from_start:
            url = await to_the_form(browser, nature, body)
        else:  # the link the body page would give
            url = f"{FORM}?{urlencode({'nature': nature, 'organisme': body})}"
        html, _ = await browser.go("form page", "GET", url, expect=200)
        browser.current = urljoin(browser.current or gateway, url)
        page = Page(html)
        await browser.stylesheets(page)

        form = page.form_with(SUBMIT_BUTTON)
        last, first = rng.choice(NAMES)
        typed = {
            "message": f"{rng.choice(MESSAGES)} (essai web {label})",
            "last_name": last,
            "first_names": first,
            "phone": f"{rng.choice(('01', '05', '07'))} {rng.randrange(10**8):08d}",
            "email": email,
        }
        for name, share in (("theme_id", 0.8), ("place_id", 0.6)):
            offered = [v for v, _ in form.control(name).options if v]
            if offered and rng.random() < share:
                typed[name] = rng.choice(offered)
        fields = form.data(typed, ticked={"terms_accepted"})
        if (form.method, form.enctype) != ("post", "multipart/form-data"):
            raise Failed("form: not a multipart POST", f"{form.method} {form.enctype}")
        _, confirm_url = await browser.go(
            "Soumettre", "POST", form.action, expect=303, data=multipart(fields)
        )
        if urlsplit(confirm_url).path != "/soumettre/confirmer":
            raise Failed("Soumettre: redirected elsewhere", f"Soumettre → {confirm_url}")

        html, _ = await browser.go("confirmation page", "GET", confirm_url, expect=200)
        browser.current = confirm_url
        page = Page(html)
        if email not in html:
            raise Failed("confirmation page: no email", f"{email} not in the recap")
        ok = page.form_with(OK_BUTTON)
        if ok.method != "post":
            raise Failed(
                "confirmation page: « Envoyer ma requête » not a POST", f"form: {ok.method}"
            )
        _, code_url = await browser.go("OK", "POST", ok.action, expect=303, data=ok.data({}, set()))
        phase.stored[email] = time.perf_counter()  # the request is stored: its email may leave
        if urlsplit(code_url).path != "/soumettre/enregistree":
            raise Failed("OK: redirected elsewhere", f"OK → {code_url}")

        html, _ = await browser.go("code page", "GET", code_url, expect=200)
        code = Page(html).code
        if not CODE.match(code):
            raise Failed("code page: no code", f"code page without a code: {html[:300]!r}")
        return code


async def fire(
    gateway: str,
    catalogue: Catalogue,
    count: int,
    concurrency: int,
    run_id: str,
    prefix: str,
    from_start: bool = False,
) -> Phase:
    """``count`` citizens, ``concurrency`` at once: each one, done, makes room for the next."""
    phase = Phase()
    indexes = iter(range(count))
    rng = random.Random(f"{run_id}{prefix}")

    async def seat() -> None:
        for i in indexes:
            email = f"web.{run_id}.{prefix}{i}@example.ci"
            started = time.perf_counter()
            try:
                code = await one_citizen(
                    gateway, catalogue, rng, email, f"{prefix}{i}", phase, from_start
                )
            except Failed as exc:
                phase.errors[exc.kind] += 1
                if len(phase.samples) < 3:
                    phase.samples.append(str(exc)[:400])
                continue
            done = time.perf_counter()
            phase.paths.append(done - started)
            phase.codes[email] = (code, done)
            phase.last_code = max(phase.last_code, done)

    phase.started = time.perf_counter()
    await asyncio.gather(*(seat() for _ in range(concurrency)))
    phase.ended = time.perf_counter()
    return phase


async def read_catalogue(gateway: str) -> Catalogue:
    """The natures and bodies the pages before the form offer, following their links."""
    natures: list[str] = []
    bodies: list[str] = []
    async with aiohttp.ClientSession(headers=HEADERS) as http:

        async def page(url: str) -> Page:
            async with http.get(urljoin(gateway, url)) as resp:
                resp.raise_for_status()
                return Page(await resp.text())

        for link in (await page("/soumettre")).links:
            parts = urlsplit(link)
            if parts.path == "/soumettre/organisme":
                natures += parse_qs(parts.query).get("nature", [])
        # Every page of « Choix de l'organisme public », by its pager's links.
        waiting = [f"/soumettre/organisme?{urlencode({'nature': natures[0]})}"]
        visited: set[str] = set()
        while waiting:
            url = waiting.pop()
            visited.add(url)
            for link in (await page(url)).links:
                parts = urlsplit(link)
                query = parse_qs(parts.query)
                if parts.path == FORM:
                    bodies += [b for b in query.get("organisme", []) if b not in bodies]
                elif parts.path == "/soumettre/organisme" and "page" in query:
                    if link not in visited and link not in waiting:
                        waiting.append(link)
    return Catalogue(natures, bodies)


# -- what the platform says about the path ---------------------------------------------------


def tcp_states(port: int) -> Counter[str]:
    """Sockets of 127.0.0.1 with ``port`` at one end, by state (``ESTABLISHED`` counted on the
    client's side only, so once per connection; ``TIME_WAIT``: connections closed lately)."""
    out: Counter[str] = Counter()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as f:
                lines = f.readlines()[1:]
        except OSError:
            continue
        for line in lines:
            cols = line.split()
            local, remote, state = int(cols[1][-4:], 16), int(cols[2][-4:], 16), cols[3]
            if state == "01" and remote == port:
                out["ESTABLISHED"] += 1
            elif state == "06" and port in (local, remote):
                out["TIME_WAIT"] += 1
    return out


def http_calls(after: dict, before: dict) -> dict[tuple[str, str], float]:
    """HTTP requests a process answered between two scrapes, by (method, route), without the
    benchmark's own ``/metrics`` and health checks."""
    out: dict[tuple[str, str], float] = {}
    for (name, labels), value in after.items():
        if name != "milie_http_requests_total":
            continue
        lab = dict(labels)
        if lab["route"] in ("/metrics", "/health/ready", "/health/live"):
            continue
        key = (lab["method"], lab["route"])
        out[key] = out.get(key, 0.0) + value - before.get((name, labels), 0.0)
    return {k: v for k, v in out.items() if v}


# -- the run ---------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench.web_path", description=__doc__.split("\n")[0])
    p.add_argument("--requests", type=int, default=300, help="citizens measured (300)")
    p.add_argument("--concurrency", type=int, default=64, help="citizens at once (64)")
    p.add_argument("--warmup", type=int, default=20, help="citizens before measuring (20)")
    p.add_argument(
        "--mail-timeout", type=float, default=120.0, help="seconds to wait for the emails (120)"
    )
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="[PROCESS:]KEY=VALUE",
        help="environment for every process, or for one: gateway:MILIE_SERVICE_CONNECTIONS=50 "
        "(repeatable); to try settings without editing code",
    )
    p.add_argument(
        "--from-start",
        action="store_true",
        help="each citizen starts at « Soumettre une requête » (/soumettre), picks the nature, "
        "then the body in « Choix de l'organisme public » (paging to it) before the form",
    )
    p.add_argument(
        "--idle",
        type=float,
        default=2.0,
        help="seconds of CPU measured with no citizen before the paths (2): the platform's own "
        "idle cost, subtracted in the net figure, and the other processes' share",
    )
    p.add_argument("--keep", action="store_true", help="keep the database and broker namespace")
    args = p.parse_args(argv)
    if args.requests < 1 or args.concurrency < 1 or args.warmup < 0 or args.idle <= 0:
        p.error("--requests and --concurrency must be ≥ 1, --warmup ≥ 0, --idle > 0")
    args.env = process_env(p, args.set)
    return args


def ms(seconds: list[float]) -> str:
    values = sorted(seconds)
    return "  ".join(
        f"{name} {1000 * percentile(values, q):5.0f}"
        for name, q in (("p50", 50), ("p95", 95), ("p99", 99), ("max", 100))
    )


async def run(args: argparse.Namespace) -> int:
    say(
        f"Miliê web path benchmark — {os.cpu_count()} CPU(s), Python {host.python_version()}, "
        f"{host.system()} {host.release()}, load average "
        + " ".join(f"{x:.2f}" for x in os.getloadavg())
        + " at start"
    )
    say(
        f"parameters: requests={args.requests} concurrency={args.concurrency} "
        f"warmup={args.warmup} mail-timeout={args.mail_timeout:g}s"
        + (" from-start" if args.from_start else "")
        + (f" set={' '.join(args.set)}" if args.set else "")
    )
    async with bench_run(keep=args.keep, env=args.env.get("", {})) as bench:
        sink, run_id = bench.sink, bench.run_id
        t0 = time.perf_counter()
        platform = await bench.start_platform(per_process=args.env)
        gateway = platform.url("gateway")
        say(
            f"platform ready in {time.perf_counter() - t0:.1f} s; logs "
            f"{bench.log_dir.relative_to(ROOT)}/; SMTP on 127.0.0.1:{bench.smtp_port}"
        )
        catalogue = await read_catalogue(gateway)
        say(
            f"the pages offer {len(catalogue.natures)} natures and {len(catalogue.bodies)} "
            "bodies; each form page its themes and places"
        )
        labels = {proc.pid: name for name, proc in platform.processes.items()}
        labels[os.getpid()] = "bench (browsers + SMTP)"
        urls = {name: platform.metrics_url(name) for name in PROCESSES}

        if args.warmup:
            warm = await fire(
                gateway,
                catalogue,
                args.warmup,
                min(args.concurrency, args.warmup),
                run_id,
                "w",
                args.from_start,
            )
            got, done = await wait_for_mail(sink, set(warm.codes), 60)
            say(
                f"warm-up: {len(warm.codes)}/{args.warmup} codes, {got} emails in "
                f"{done - warm.ended:.1f} s after the last"
            )
            for sample in warm.samples:
                say(f"  e.g. {sample}")

        # What the platform burns asked nothing (outbox polls, consumers' timers, the broker),
        # and what the other processes of the machine take meanwhile.
        idle_before, idle_machine = cpu_by_pid(), machine_cpu()
        await asyncio.sleep(args.idle)
        idle = cpu_used(idle_before, cpu_by_pid(), labels)
        idle_busy = machine_cpu()[0] - idle_machine[0]

        async with aiohttp.ClientSession() as http:
            before = {n: await scrape(http, u) for n, u in urls.items()}
            db_before = await database_activity(bench.database_url)
            intake_port, gateway_port = platform.ports["intake"], platform.ports["gateway"]
            tcp_before = (tcp_states(intake_port), tcp_states(gateway_port))
            cpu_before, t_before, machine_before = cpu_by_pid(), time.perf_counter(), machine_cpu()
            phase = await fire(
                gateway, catalogue, args.requests, args.concurrency, run_id, "", args.from_start
            )
            cpu_after, machine_after = cpu_by_pid(), machine_cpu()
            load_after = os.getloadavg()
            tcp_after = (tcp_states(intake_port), tcp_states(gateway_port))
            at_end = {n: await scrape(http, u) for n, u in urls.items()}
            recipients = set(phase.codes)
            got, waited_until = await wait_for_mail(sink, recipients, args.mail_timeout)
            cpu_mail, t_mail = cpu_by_pid(), time.perf_counter()
            db_after = await database_activity(bench.database_url)

        seconds = phase.ended - phase.started
        codes = len(phase.codes)
        per = max(1, codes)
        rate = codes / seconds if seconds else 0.0
        say()
        say(
            f"codes        {args.requests} citizens, {codes} codes, "
            f"{sum(phase.errors.values())} errors, in {seconds:.2f} s → {rate:.1f} codes/s  "
            f"[aim ≥ {GOAL_RATE:.0f}/s: {'met' if rate >= GOAL_RATE else 'NOT met'}]; "
            "load average " + " ".join(f"{x:.2f}" for x in load_after) + " at the end"
        )
        if phase.errors:
            say("  errors: " + ", ".join(f"{k} × {v}" for k, v in phase.errors.most_common()))
            for sample in phase.samples:
                say(f"  e.g. {sample}")
        if phase.paths:
            first = "nature page" if args.from_start else "form page"
            say(f"whole path   {ms(phase.paths)} ms  (per citizen: {first} → code page)")
        gw_before, gw_after = before["gateway"], at_end["gateway"]
        say("per step, client side, ms                              gateway's own time, mean")
        for step, (method, route) in STEPS:
            times = phase.steps.get(step, [])
            if times:
                server = mean_ms(
                    gw_after,
                    gw_before,
                    "milie_http_request_duration_seconds",
                    route=route,
                    method=method,
                )
                say(f"  {step:<18} {ms(times)}    {server}")

        report_mail(args, phase, sink, recipients, got, waited_until)

        say()
        during = cpu_used(cpu_before, cpu_after, labels)
        say(
            f"CPU during the citizens' paths, % of one core ({os.cpu_count()} cores = "
            f"{100 * (os.cpu_count() or 1)} %): "
            + ", ".join(f"{g} {100 * used / seconds:.0f}" for g, used in during)
        )
        busy = machine_after[0] - machine_before[0]
        idle_cores = machine_after[1] - machine_before[1]
        unseen = busy - sum(used for _, used in during)
        say(
            f"  the whole machine meanwhile (/proc/stat): {100 * busy / seconds:.0f} % busy, "
            f"{100 * idle_cores / seconds:.0f} % idle; {100 * max(0.0, unseen) / seconds:.0f} % "
            "of it by processes that came and went (others' test runs), not counted above"
        )
        whole = cpu_used(cpu_before, cpu_mail, labels)
        ours = sum(used for g, used in whole if not g.startswith(("other", "bench")))
        say(
            f"CPU per code, first citizen → last email: {1000 * ours / per:.1f} ms for the "
            "platform, PostgreSQL and RabbitMQ; ms: "
            + ", ".join(f"{g} {1000 * used / per:.2f}" for g, used in whole)
        )
        idle_ours = sum(used for g, used in idle if not g.startswith(("other", "bench")))
        net = ours - idle_ours / args.idle * (t_mail - t_before)
        say(
            f"  idle, {args.idle:g} s before the paths, % of one core: "
            + ", ".join(f"{g} {100 * used / args.idle:.0f}" for g, used in idle)
            + f" (the whole machine {100 * idle_busy / args.idle:.0f} % busy)"
            + f"; net of the platform's idle: {1000 * net / per:.1f} ms per code"
        )
        # What the rate would be with the browsers elsewhere, as a real platform's users are:
        # the platform's CPU per code against every core of this machine (a ceiling: no queue
        # ever waits), beside the same with the browsers' share on these cores, as measured.
        browsers = sum(used for g, used in whole if g.startswith("bench"))
        cores = os.cpu_count() or 1
        say(
            f"  ceiling on {cores} free cores: {cores * per / ours:.0f} codes/s for the platform "
            f"alone, {cores * per / (ours + browsers):.0f} with the browsers on the same cores"
        )

        say("HTTP calls per code (each process's /metrics, the measured citizens):")
        for name in ("gateway", "intake"):
            calls = http_calls(at_end[name], before[name])
            total = sum(calls.values())
            say(
                f"  {name} answered {total / per:.2f}: "
                + ", ".join(
                    f"{method} {route} {n / per:.2f} ("
                    + mean_ms(
                        at_end[name],
                        before[name],
                        "milie_http_request_duration_seconds",
                        route=route,
                        method=method,
                    )
                    + ")"
                    for (method, route), n in sorted(calls.items(), key=lambda kv: -kv[1])
                )
            )
        intake_tcp, gateway_tcp = tcp_after
        say(
            f"  connections: gateway → intake {intake_tcp['ESTABLISHED']} open at the end, "
            f"{intake_tcp['TIME_WAIT'] - tcp_before[0]['TIME_WAIT']} closed during the paths; "
            f"browsers → gateway {gateway_tcp['TIME_WAIT'] - tcp_before[1]['TIME_WAIT']} closed "
            "(one per citizen: each is a new browser)"
        )
        if db_before and db_after:
            say(
                "  PostgreSQL, per code, first citizen → last email: "
                + ", ".join(
                    f"{(db_after[k] - db_before[k]) / per:.1f} {k.replace('_', ' ')}"
                    for k in db_after
                )
            )
        published = delta(at_end["intake"], before["intake"], "milie_messages_published_total")
        say(f"  intake published {published / per:.2f} events per code while the paths ran")
        say(f"\nlogs: {bench.log_dir}")
        ok = not phase.errors and got == len(recipients) and codes == args.requests
        return 0 if ok else 1
    return 1  # not reached: the stack re-raises


def report_mail(
    args: argparse.Namespace,
    phase: Phase,
    sink,
    recipients: set[str],
    got: int,
    waited_until: float,
) -> None:
    arrivals = {r: sink.by_recipient[r][0][0] for r in recipients if r in sink.by_recipient}
    if not arrivals:
        say(f"emails       0/{len(recipients)} arrived within {args.mail_timeout:g} s")
        return
    tail = max(arrivals.values()) - phase.last_code
    missing = len(recipients) - got
    say(
        f"emails       {got}/{len(recipients)} arrived"
        + (f", {missing} MISSING after {waited_until - phase.last_code:.0f} s" if missing else "")
        + f"; drain: the last {tail:.2f} s after the last code"
    )
    per_mail = sorted(arrivals[r] - phase.stored[r] for r in arrivals)
    good, duplicates, wrong = check_codes(sink, phase.codes)
    say(
        f"             per email, « OK » answered → SMTP: p50 {percentile(per_mail, 50):.2f} s, "
        f"max {per_mail[-1]:.2f} s; {good} carry their request's code, {wrong} do not, "
        f"{duplicates} recipients got more than one"
    )


main = main_of(parse_args, run)


if __name__ == "__main__":
    sys.exit(main())
