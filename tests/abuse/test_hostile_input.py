"""Hostile input at every public entry, as an attacker or a broken client sends it, against the
six real processes: bytes that are not UTF-8, NUL characters, huge values and names, duplicated
fields, forms without their token, broken multipart bodies, the wrong Content-Type, JSON nested
10,000 deep or with a charset nobody knows, addresses holding ``%00`` or ``..%2f``, methods not
allowed, a body announced longer than it is.

Each gets a clear 4xx, never a 5xx nor a hang: a French page for the citizen's and the staff's
pages, a JSON body with a machine-readable ``error`` for /api/, Open311's own error list for
/open311/. Afterwards the platform still serves a normal request and no process logged an
unhandled exception. Requests are written by hand on a socket, so that nothing on the client's
side fixes them; the client waits for the server's answer or close, a timeout only guarding
against a hang."""

from __future__ import annotations

import asyncio
import html
import json
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import aiohttp
import asyncpg
import pytest

from deploy.local.platform import PROCESSES, Platform
from gateway.staff import api_keys
from gateway.web import malformed_http
from shared.identity import Identity, Role
from shared.numbers import whole
from tests.e2e.conftest import BODY, analyst_headers, running_platform, submission
from tests.staff.helpers import create_account, signed_in_session
from tests.support import as_staff, eventually, signed_session

TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')
# Only a guard: every case is answered (or closed) by the server long before.
GUARD = 120.0
# The gateway's own timeouts for a body that does not come, short so the test waits little.
TIMEOUTS = {"MILIE_BODY_TIMEOUT": "2", "MILIE_UPLOAD_IDLE_TIMEOUT": "2"}
OPEN311_KEY = "cle-open311-hostile-0123456789"
ENV = {**TIMEOUTS, "MILIE_OPEN311_KEYS": json.dumps({OPEN311_KEY: "canal-hostile"})}
# What must never reach a client: a traceback, Python's or aiohttp's English exception text.
LEAKS = (
    "Traceback",
    "Error",
    "Exception",
    "Got more than",
    "Invalid",
    "boundary",
    "codec",
    "should be",  # pydantic's « Input should be a valid string »
)


async def ministry_key(database_url: str) -> str:
    """A ministry's API key, as « Clés d'API » makes one."""
    conn = await asyncpg.connect(database_url, server_settings={"search_path": "gateway,public"})
    try:
        _, whole = await api_keys.create(
            conn,
            body_id="ministere-budget",
            label="SI budget",
            calls_per_minute=10_000,
            created_by="admin.tests",
        )
        return whole
    finally:
        await conn.close()


@pytest.fixture
async def hostile_platform(
    database_url, amqp_url, namespace, smtp_server, request
) -> AsyncIterator[Platform]:
    async with running_platform(
        database_url, amqp_url, namespace, smtp_server.port, request.node.name, ENV
    ) as platform:
        yield platform


# -- requests written by hand ------------------------------------------------------------------


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")


def http(method: str, path: str, headers=(), body: bytes = b"", length: int | None = None) -> bytes:
    """One request as bytes; ``length``: the Content-Length announced, whatever the body."""
    lines = [f"{method} {path} HTTP/1.1".encode("latin-1"), b"Host: 127.0.0.1"]
    lines += [b"Connection: close"]
    lines += [h if isinstance(h, bytes) else h.encode("latin-1") for h in headers]
    if body or length is not None:
        lines.append(f"Content-Length: {len(body) if length is None else length}".encode())
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


async def send(base: str, raw: bytes) -> Answer:
    """Send ``raw`` and read the answer: its head, then its body by its Content-Length (else until
    the server closes: every request says Connection: close)."""
    host, port = base.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    try:
        writer.write(raw)
        await writer.drain()
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), GUARD)
        status_line, *header_lines = head.decode("latin-1").rstrip("\r\n").split("\r\n")
        headers = {}
        for line in header_lines:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        if "content-length" in headers:
            read = reader.readexactly(int(headers["content-length"]))
        else:
            read = reader.read()
        body = await asyncio.wait_for(read, GUARD)
    finally:
        writer.close()
    return Answer(int(status_line.split(" ")[1]), headers, body)


def multipart(parts: list[tuple[bytes, bytes]], boundary: bytes = b"b", close=True) -> bytes:
    """``(head lines, value)`` parts; ``close``: with the closing boundary."""
    out = b"".join(b"--" + boundary + b"\r\n" + h + b"\r\n\r\n" + v + b"\r\n" for h, v in parts)
    return out + (b"--" + boundary + b"--\r\n" if close else b"")


def named(name: bytes, extra: bytes = b"") -> bytes:
    return b'Content-Disposition: form-data; name="' + name + b'"' + extra


FORM = "Content-Type: application/x-www-form-urlencoded"
DRAFT = b"00000000-0000-4000-8000-000000000000"
MULTIPART = "Content-Type: multipart/form-data; boundary=b"
JSON = "Content-Type: application/json"


@dataclass
class Case:
    name: str
    kind: str  # page, api, open311, http (malformed HTTP): the form of the refusal expected
    raw: bytes
    statuses: tuple[int, ...] = field(default=(400, 401, 403, 404, 405, 408, 410, 413, 415, 422))


def cases(token: str, key: str) -> list[Case]:
    cookie = f"Cookie: milie_csrf={token}"
    tok = f"csrf_token={token}".encode()
    part_token = (named(b"csrf_token"), token.encode())

    def page_form(path: str, body: bytes, *headers: str) -> bytes:
        return http("POST", path, [cookie, *(headers or (FORM,))], body)

    def api(path: str, body: bytes, content_type: str = JSON) -> bytes:
        return http("POST", path, [content_type], body)

    submit = "/soumettre/formulaire"
    return [
        # Citizen's forms read whole (urlencoded).
        Case("suivre: bytes not UTF-8", "page", page_form("/suivre", tok + b"&code=\xff\xfe")),
        Case("suivre: field name not UTF-8", "page", page_form("/suivre", tok + b"&\xff=1")),
        Case("suivre: NUL in fields", "page", page_form("/suivre", tok + b"&code=%00&email=%00")),
        Case("suivre: 1 MB field", "page", page_form("/suivre", tok + b"&code=" + b"1" * 2**20)),
        Case("suivre: 10,000-char name", "page", page_form("/suivre", tok + b"&" + b"n" * 10_000)),
        Case("suivre: duplicated fields", "page", page_form("/suivre", tok + b"&code=1&code=2")),
        Case("suivre: no token", "page", http("POST", "/suivre", [FORM], b"code=1")),
        Case(
            "suivre: another cookie's token",
            "page",
            http("POST", "/suivre", ["Cookie: milie_csrf=a.b", FORM], tok + b"&code=1"),
        ),
        Case("suivre: JSON body", "page", page_form("/suivre", b"{}", JSON)),
        Case(
            "suivre: multipart without boundary",
            "page",
            page_form("/suivre", multipart([part_token]), "Content-Type: multipart/form-data"),
        ),
        Case(
            "suivre: multipart, wrong boundary",
            "page",
            page_form(
                "/suivre",
                multipart([part_token]),
                "Content-Type: multipart/form-data; boundary=zz",
            ),
        ),
        Case(
            "suivre: multipart cut short",
            "page",
            page_form("/suivre", multipart([part_token], close=False)[:-5], MULTIPART),
        ),
        Case(
            "suivre: multipart, unknown charset",
            "page",
            page_form(
                "/suivre",
                multipart(
                    [part_token, (named(b"code", b"\r\nContent-Type: text/plain; charset=x"), b"1")]
                ),
                MULTIPART,
            ),
        ),
        Case(
            "suivre: urlencoded, unknown charset",
            "page",
            page_form("/suivre", tok, "Content-Type: application/x-www-form-urlencoded; charset=x"),
        ),
        Case("suivre: PUT", "page", page_form("/suivre", tok).replace(b"POST", b"PUT", 1)),
        Case("avis: not UTF-8", "page", page_form("/suivre/avis", tok + b"&opinion=\xff")),
        Case("relancer: NUL", "page", page_form("/suivre/relancer", tok + b"&message=%00")),
        Case(
            "document: not UTF-8", "page", page_form("/suivre/document", tok + b"&document_id=\xff")
        ),
        Case("code oublié: NUL", "page", page_form("/suivre/code-oublie", tok + b"&email=a%00")),
        Case(
            "code oublié: not UTF-8", "page", page_form("/suivre/code-oublie", tok + b"&email=\xff")
        ),
        Case("modifier: not UTF-8", "page", page_form("/suivre/modifier", tok + b"&message=\xff")),
        Case(
            "modifier: multipart NUL and bytes",
            "page",
            page_form(
                "/suivre/modifier",
                multipart([part_token, (named(b"message"), b"\x00\xff")]),
                MULTIPART,
            ),
        ),
        Case(
            "confirmer: not UTF-8",
            "page",
            page_form("/soumettre/confirmer", tok + b"&draft_id=\xff"),
        ),
        Case(
            "confirmer: version=²",
            "page",
            page_form("/soumettre/confirmer", tok + b"&draft_id=" + DRAFT + b"&version=%C2%B2"),
        ),
        # The submission form, streamed (gateway.citizen.uploads).
        Case(
            "formulaire: no boundary",
            "page",
            page_form(submit, multipart([part_token]), "Content-Type: multipart/form-data"),
        ),
        Case(
            "formulaire: cut short",
            "page",
            page_form(submit, multipart([part_token, (named(b"message"), b"x")])[:-9], MULTIPART),
        ),
        Case(
            "formulaire: 100 KB part header line",
            "page",
            page_form(
                submit,
                multipart([part_token, (named(b"message", b"\r\nX-A: " + b"a" * 100_000), b"x")]),
                MULTIPART,
            ),
        ),
        Case(
            "formulaire: part of unknown charset",
            "page",
            page_form(
                submit,
                multipart(
                    [
                        part_token,
                        (named(b"message", b"\r\nContent-Type: text/plain; charset=x"), b"x"),
                    ]
                ),
                MULTIPART,
            ),
        ),
        Case(
            "formulaire: _charset_ nobody knows",
            "page",
            page_form(
                submit,
                multipart(
                    [(named(b"_charset_"), b"x-nothing"), part_token, (named(b"message"), b"x")]
                ),
                MULTIPART,
            ),
        ),
        Case(
            "formulaire: large, unknown charset",
            "page",
            page_form(
                submit,
                multipart(
                    [
                        part_token,
                        (
                            named(b"message", b"\r\nContent-Type: text/plain; charset=x"),
                            b"x" * 70_000,
                        ),
                    ]
                ),
                MULTIPART,
            ),
        ),
        Case(
            "formulaire: NUL and bytes in names",
            "page",
            page_form(submit, multipart([part_token, (named(b"\xff\x00"), b"1")]), MULTIPART),
        ),
        Case("formulaire: urlencoded", "page", page_form(submit, tok + b"&\xff=1")),
        # The staff's sign-in pages.
        Case("connexion: not UTF-8", "page", page_form("/admin/connexion", tok + b"&login=\xff")),
        Case(
            "connexion: NUL in the login",
            "page",
            page_form("/admin/connexion", tok + b"&login=a%00&password=x"),
        ),
        Case(
            "double authentification: not UTF-8",
            "page",
            page_form("/admin/double-authentification", tok + b"&code=\xff"),
        ),
        Case(
            "première connexion: not UTF-8",
            "page",
            page_form("/admin/premiere-connexion", tok + b"&token=\xff"),
        ),
        # Addresses.
        Case("GET /suivre?code=%00", "page", http("GET", "/suivre?code=%00")),
        Case("GET /organismes?q=%00", "page", http("GET", "/organismes?q=%00")),
        Case("GET /%00", "page", http("GET", "/%00")),
        # « ² » is a digit to str.isdigit, not to int; int refuses 4,300 digits and more.
        # A page number that is none: the first page (the list's own rule).
        Case("GET /organismes?page=²", "page", http("GET", "/organismes?page=%C2%B2"), (200,)),
        Case(
            "GET /organismes?page=9…9",
            "page",
            http("GET", "/organismes?page=" + "9" * 5000),
            (200,),
        ),
        Case("GET /admin/traitements/..%2f", "page", http("GET", "/admin/traitements/..%2f%2e")),
        Case("GET a 7,000-char path", "page", http("GET", "/" + "a" * 7000)),
        Case("TRACE /", "page", http("TRACE", "/")),
        # The public JSON API.
        Case(
            "api: 10,000 nested arrays",
            "api",
            api("/api/v1/requests", b"[" * 10_000 + b"]" * 10_000),
        ),
        Case(
            "api: 10,000 nested objects",
            "api",
            api("/api/v1/tracking", b'{"a":' * 10_000 + b"1" + b"}" * 10_000),
        ),
        Case(
            "api: 5,000-digit number",
            "api",
            api("/api/v1/tracking", b'{"code":' + b"9" * 5000 + b"}"),
        ),
        Case("api: 1e999", "api", api("/api/v1/requests", b'{"nature":1e999}')),
        Case("api: NaN", "api", api("/api/v1/tracking", b'{"code":NaN,"email":Infinity}')),
        Case(
            "api: duplicate keys",
            "api",
            api("/api/v1/tracking", b'{"code":"1","code":[],"email":{}}'),
        ),
        Case(
            "api: wrong types",
            "api",
            api(
                "/api/v1/requests",
                json.dumps({"nature": [1], "contact": "x", "message": 5}).encode(),
            ),
        ),
        Case("api: a list", "api", api("/api/v1/requests", b"[1,2]")),
        Case(
            "api: contacts that are none",
            "api",
            api(
                "/api/v1/requests",
                json.dumps(
                    {
                        "nature": "reclamation",
                        "body_id": "ministere-budget",
                        "message": "Bonjour",
                        "contact": {"email": "a@-.ci", "phone": "+2250707", "country": "ZZ"},
                    }
                ).encode(),
            ),
        ),
        Case(
            "api: tracking email a@", "api", api("/api/v1/tracking", b'{"code":"1","email":"a@"}')
        ),
        Case("api: bytes not UTF-8", "api", api("/api/v1/tracking", b'{"code":"\xff"}')),
        Case("api: NUL escaped", "api", api("/api/v1/tracking", b'{"code":"\\u0000"}')),
        Case("api: lone surrogate", "api", api("/api/v1/tracking", b'{"code":"\\ud800"}')),
        Case("api: form body", "api", api("/api/v1/tracking", b"code=1", FORM)),
        Case(
            "api: unknown charset",
            "api",
            api("/api/v1/tracking", b"{}", "Content-Type: application/json; charset=x"),
        ),
        Case(
            "api: 10,000-char key",
            "api",
            api("/api/v1/tracking", json.dumps({"k" * 10_000: 1}).encode()),
        ),
        Case(
            "api: 1 MB value",
            "api",
            api("/api/v1/tracking", json.dumps({"code": "1" * 2**20}).encode()),
        ),
        Case("api: DELETE", "api", http("DELETE", "/api/v1/tracking")),
        Case("api: themes?body_id=%00", "api", http("GET", "/api/v1/themes?body_id=%00")),
        Case(
            "ministry: /requests/%00..%2f",
            "api",
            http("GET", "/api/ministeres/v1/requests/%00..%2f", [f"X-Api-Key: {key}"]),
        ),
        Case(
            "ministry: ..%2f without key", "api", http("GET", "/api/ministeres/v1/requests/..%2f")
        ),
        Case(
            "ministry: changes?limit=9…9",
            "api",
            http("GET", "/api/ministeres/v1/changes?limit=" + "9" * 5000, [f"X-Api-Key: {key}"]),
        ),
        Case(
            "ministry: 10,000 nested arrays",
            "api",
            http(
                "POST",
                "/api/ministeres/v1/requests/5030529490/take",
                [JSON, f"X-Api-Key: {key}"],
                b"[" * 10_000,
            ),
        ),
        # Open311.
        Case(
            "open311: not UTF-8", "open311", api("/open311/v2/requests.json", b"api_key=\xff", FORM)
        ),
        Case(
            "open311: unknown charset",
            "open311",
            api("/open311/v2/requests.json", b"a=1", FORM + "; charset=x"),
        ),
        Case(
            "open311: /requests/%00.json", "open311", http("GET", "/open311/v2/requests/%00.json")
        ),
        Case(
            "open311: hostile fields, a good key",
            "open311",
            api(
                "/open311/v2/requests.json",
                f"api_key={OPEN311_KEY}&service_code=%00&description=".encode()
                + b"d" * 2**20
                + b"&lat=1e999&long=NaN&email=%ff%fe&email=b&attribute["
                + b"a" * 10_000
                + b"]=1&attribute[x]=%00&phone=%C2%B2",
                FORM,
            ),
        ),
        Case(
            "open311: 700 ids, dates that are none",
            "open311",
            http(
                "GET",
                "/open311/v2/requests.json?start_date=x&end_date=9999-99-99&service_request_id="
                + ",".join(["5030529490"] * 700),
            ),
            (200, 400, 404, 422),
        ),
        Case(
            "open311: a 3 MB form",
            "open311",
            api("/open311/v2/requests.json", b"description=" + b"d" * 3 * 2**20, FORM),
            (413,),
        ),
        Case(
            "open311: XML, not UTF-8",
            "open311-xml",
            api("/open311/v2/requests.xml", b"api_key=\xff", FORM),
        ),
        # Files the site does not have.
        Case(
            "GET /static/..%2f..%2fsettings.py",
            "text",
            http("GET", "/static/..%2f..%2fsettings.py"),
        ),
        Case("GET /static/a/b", "text", http("GET", "/static/a/b")),
    ]


def refusal_problems(case: Case, answer: Answer) -> list[str]:
    """What is wrong with the answer to ``case`` (nothing: a clear refusal)."""
    problems = []
    if answer.status not in case.statuses:
        problems.append(f"status {answer.status}")
    if leaked := [w for w in LEAKS if w in answer.text]:
        problems.append(f"leaks {leaked}")
    kind = answer.headers.get("content-type", "")
    if case.kind == "page":
        if not kind.startswith("text/html") or '<html lang="fr">' not in answer.text:
            problems.append(f"not a French page ({kind})")
    elif case.kind == "api":
        try:
            body = json.loads(answer.body)
        except ValueError:
            return [*problems, f"not JSON ({kind})"]
        if not (isinstance(body, dict) and isinstance(body.get("error") or body.get("type"), str)):
            problems.append(f"no error code: {answer.text[:200]}")
    elif case.kind == "http":
        if (answer.status, answer.text.strip()) != (400, malformed_http.TEXT):
            problems.append(f"not our French refusal: {answer.text[:200]}")
    elif case.kind == "text":
        if not kind.startswith("text/plain") or answer.text.strip() != "Introuvable.":
            problems.append(f"not our French text: {answer.text[:200]}")
    elif case.kind == "open311-xml":
        if "xml" not in kind or "<errors>" not in answer.text:
            problems.append(f"not Open311's XML errors: {answer.text[:200]}")
    elif case.kind == "open311":
        body = json.loads(answer.body)
        if not (isinstance(body, list) and {"code", "description"} <= set(body[0])):
            problems.append(f"not Open311's errors: {answer.text[:200]}")
    return problems


async def csrf_token(base: str) -> str:
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as client:
        async with client.get(base + "/suivre") as resp:
            return TOKEN.search(await resp.text()).group(1)


async def assert_still_serving_and_logs_clean(platform: Platform) -> None:
    base = platform.url("gateway")
    async with aiohttp.ClientSession() as client:
        async with client.get(base + "/suivre") as resp:
            assert resp.status == 200
        lookup = {"code": "5030529490", "email": "personne@example.ci"}
        async with client.post(base + "/api/v1/tracking", json=lookup) as resp:
            assert (resp.status, (await resp.json())["error"]) == (404, "not_found")
    for name in PROCESSES:
        log = (platform.log_dir / f"{name}.log").read_text(encoding="utf-8", errors="replace")
        tracebacks = [line[:400] for line in log.splitlines() if "Traceback" in line]
        assert not tracebacks, f"{name}: {tracebacks}"


async def test_every_hostile_input_gets_a_clear_4xx(hostile_platform, database_url):
    base = hostile_platform.url("gateway")
    token = await csrf_token(base)
    table, wrong = [], []
    for case in cases(token, await ministry_key(database_url)):
        answer = await send(base, case.raw)
        problems = refusal_problems(case, answer)
        table.append(f"{case.name:40} {answer.status} {'; '.join(problems) or 'ok'}")
        if problems:
            wrong.append(table[-1])
    print("\n".join(table))
    assert not wrong, "\n".join(wrong)
    await assert_still_serving_and_logs_clean(hostile_platform)


async def test_a_body_announced_longer_than_sent_is_answered_not_held(
    hostile_platform, database_url
):
    base = hostile_platform.url("gateway")
    token = await csrf_token(base)
    key = await ministry_key(database_url)
    cookie = f"Cookie: milie_csrf={token}"
    tok = f"csrf_token={token}".encode()
    short = [
        ("/suivre", "page", http("POST", "/suivre", [cookie, FORM], tok, length=len(tok) + 100)),
        (
            "/soumettre/formulaire",
            "page",
            http(
                "POST",
                "/soumettre/formulaire",
                [cookie, MULTIPART],
                multipart([(named(b"csrf_token"), token.encode())], close=False),
                length=1000,
            ),
        ),
        ("/api/v1/tracking", "api", http("POST", "/api/v1/tracking", [JSON], b"{}", length=100)),
        (
            "/open311/v2/requests.json",
            "open311",
            http("POST", "/open311/v2/requests.json", [FORM], b"a=1", length=100),
        ),
        (
            "/api/ministeres/v1/…/documents",
            "api",
            http(
                "POST",
                "/api/ministeres/v1/requests/5030529490/documents",
                ["Content-Type: application/pdf", f"X-Api-Key: {key}"],
                b"%PDF-",
                length=1000,
            ),
        ),
    ]
    for path, kind, raw in short:
        # The server answers within its own timeouts and closes; GUARD only catches a hang.
        answer = await send(base, raw)
        assert answer.headers.get("connection") == "close", (path, answer.headers)
        assert refusal_problems(Case(path, kind, raw), answer) == [], (path, answer)
    await assert_still_serving_and_logs_clean(hostile_platform)


# Malformed HTTP itself, refused by aiohttp's parser before any middleware: a 400 in French
# (gateway.web.malformed_http), where the parser's English sentence quoted the client's bytes back
# and the gateway's log got an ERROR with a traceback (aiohttp.server).
MALFORMED_HTTP = [
    ("a 100 KB header line", http("GET", "/", ["X-A: " + "a" * 100_000])),
    ("a byte not ASCII in the query", http("GET", "/suivre?code=\u00ff")),
    ("Content-Length: abc", b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n"),
    ("a NUL in the method", b"G\x00T / HTTP/1.1\r\nHost: x\r\n\r\n"),
    (
        "Content-Length with chunked",
        http("POST", "/suivre", [FORM, "Transfer-Encoding: chunked"], b"0\r\n\r\n"),
    ),
]


async def test_malformed_http_is_refused_in_french_without_a_traceback(hostile_platform):
    base = hostile_platform.url("gateway")
    for name, raw in MALFORMED_HTTP:
        answer = await send(base, raw)
        assert refusal_problems(Case(name, "http", raw), answer) == [], (name, answer.text)
    await assert_still_serving_and_logs_clean(hostile_platform)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("12", 12),
        ("0012", 12),
        ("0", 0),
        ("1001", None),
        ("²", None),
        ("٣", None),
        ("-1", None),
        ("1e3", None),
        (" 1", None),
        ("", None),
        ("9" * 5000, None),
        ("0" * 5000 + "7", 7),
        (7, None),
    ],
)
def test_a_whole_number_is_ascii_digits_within_bounds(raw, expected):
    assert whole(raw, 0, 1000) == expected


PASSWORD = "Mot-de-passe-solide-2026!"
FOCAL_POINT = as_staff(Identity("e2e-focal", Role.FOCAL_POINT, body_id=BODY, login="point.focal"))


async def test_the_back_office_refuses_numbers_no_int_reads(hostile_platform, database_url):
    """An administrator's and an analyst's forms given « ² » or 5,000 digits where a number is
    asked: the form again with the field's French message, never the 500 page."""
    base = hostile_platform.url("gateway")
    await create_account(database_url, "administrator", "admin.chiffres", PASSWORD)
    await create_account(database_url, "analyst", "analyste.chiffres", PASSWORD)
    forms = {
        "admin.chiffres": [
            ("/admin/motifs", {"kind": "rejection", "text": "Hors sujet", "position": "²"}),
            ("/admin/motifs", {"kind": "rejection", "text": "Hors sujet", "position": "9" * 5000}),
            (
                "/admin/cles-api",
                {"body_id": "ministere-budget", "label": "SI", "calls_per_minute": "9" * 5000},
            ),
            ("/admin/limites", {"submissions_per_client": "²"}),
        ],
        "analyste.chiffres": [
            (
                "/admin/traitements/5030529490/valider",
                {"version": "9" * 5000, "nature": "reclamation"},
            ),
        ],
    }
    for login, posts in forms.items():
        async with await signed_in_session(base, login, PASSWORD) as http:
            async with http.get(base + "/admin/") as resp:
                token = TOKEN.search(await resp.text()).group(1)
            for path, fields in posts:
                async with http.post(
                    base + path, data={"csrf_token": token, **fields}, allow_redirects=False
                ) as resp:
                    text = await resp.text()
                    assert 400 <= resp.status < 500, (path, resp.status, text[:300])
                    assert '<html lang="fr">' in text, path
    await assert_still_serving_and_logs_clean(hostile_platform)


async def _treated_request(platform: Platform, email: str) -> str:
    """A réclamation submitted, validated and answered (as test_citizen_opinion drives it): the
    citizen's page offers « Donner mon avis » and « Relancer »."""
    status, created = await _signed_call(
        "POST", platform.url("gateway") + "/api/v1/requests", body=submission(email)
    )
    assert status == 201, created
    code = created["code"]
    queue = platform.url("triage") + f"/queue/{code}"

    async def queued():
        return (await _signed_call("GET", queue, headers=analyst_headers()))[0] == 200

    await eventually(queued)
    assert (await _signed_call("POST", queue + "/validate", analyst_headers(), {}))[0] == 200
    at_body = platform.url("treatment") + f"/requests/{code}"

    async def in_treatment():
        status, item = await _signed_call("GET", at_body, headers=FOCAL_POINT)
        return item if status == 200 else None

    item = await eventually(in_treatment)
    answer = {"message": "Les bulletins sont partis ce matin.", "version": item["version"]}
    assert (await _signed_call("POST", at_body + "/answer", FOCAL_POINT, answer))[0] == 200
    return code


async def _signed_call(method: str, url: str, headers: dict | None = None, body=None):
    async with (
        signed_session() as client,
        client.request(method, url, headers=headers, json=body) as resp,
    ):
        return resp.status, await resp.json(content_type=None)


async def test_a_reply_holding_a_nul_is_told_beside_its_field_with_what_was_typed(
    hostile_platform,
):
    """Intake refuses a NUL in the citizen's opinion or reopening before it looks the request
    up: the page showed the look-up form, « comment : … » in its summary, the text lost."""
    base = hostile_platform.url("gateway")
    email = "avis.nul@example.ci"
    code = await _treated_request(hostile_platform, email)
    token = await csrf_token(base)
    cookie = f"Cookie: milie_csrf={token}"

    async def answered():  # intake's view of the request has the answer: the forms are shown
        lookup = {"code": code, "email": email}
        status, view = await _signed_call("POST", base + "/api/v1/tracking", body=lookup)
        return status == 200 and view.get("status") == "treated"

    await eventually(answered)
    for path, fields, field_id in (
        ("/suivre/avis", "opinion=satisfied&comment=Merci%00beaucoup", "f-comment"),
        ("/suivre/relancer", "message=Toujours%00rien", "f-relance"),
    ):
        body = f"csrf_token={token}&code={code}&email={email}&{fields}".encode()
        answer = await send(base, http("POST", path, [cookie, FORM], body))
        page = html.unescape(answer.text)
        assert answer.status == 422, page[:500]
        assert "Ce texte contient un caractère nul, refusé." in page, path
        assert f'id="{field_id}"' in page, path  # the reply's form, not the look-up form
        typed = "Merci\x00beaucoup" if "avis" in path else "Toujours\x00rien"
        assert typed in page or typed.replace("\x00", "\ufffd") in page, path
    await assert_still_serving_and_logs_clean(hostile_platform)
