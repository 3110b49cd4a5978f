"""The site's stylesheets and icons, served from memory, under names that carry their content.

aiohttp's static route stats and opens the file in a thread for every answer: 1 ms of the
gateway's CPU per stylesheet (timed alone; 0.16–0.2 ms from memory), and every new browser
fetches one per citizen path. The few files of ``gateway/static`` are read when the app is built
(a changed file is served after a restart).

Each file answers under two names:

- ``/static/milie.3f2a9c0b1d4e.css``, its versioned name (the first 12 hex digits of the
  content's SHA-256), which the pages link through :func:`static_url`: a browser keeps it a year
  without asking again (``immutable``), and a new stylesheet is a new name, so no citizen gets
  last month's rules with this month's HTML;
- ``/static/milie.css``, its plain name, as before (bookmarks, old pages in a cache): an ETag and
  the file's Last-Modified, so a browser that has it gets a 304. A versioned name whose digits
  are not the current ones (a page cached before a deployment) is redirected to the current one.

Text files (CSS, SVG) are gzipped once here, and sent so to a browser that accepts gzip: the
stylesheet shrinks to about a quarter. ``/favicon.ico``, which browsers ask for on their own, is
served from the same folder with a day's lifetime.
"""

from __future__ import annotations

import gzip
import hashlib
import mimetypes
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from aiohttp import hdrs, web

from gateway.web.compression import accepts_gzip

# A year: what browsers and caches take as "forever" (RFC 9111 puts no longer limit).
IMMUTABLE = "public, max-age=31536000, immutable"
FAVICON_LIFETIME = "public, max-age=86400"
DIGITS = 12
COMPRESSIBLE = ("text/", "image/svg+xml", "application/javascript", "application/json")


@dataclass(frozen=True)
class StaticFile:
    body: bytes
    gzipped: bytes | None  # None: not worth it (an image already compressed, a tiny file)
    content_type: str
    digest: str  # the first DIGITS hex digits of the content's SHA-256
    modified: float

    @property
    def etag(self) -> str:
        return self.digest

    def versioned(self, name: str) -> str:
        path = PurePosixPath(name)
        return f"{path.stem}.{self.digest}{path.suffix}"


def read_folder(folder: Path) -> dict[str, StaticFile]:
    """Every file directly in ``folder``, by its plain name."""
    files: dict[str, StaticFile] = {}
    for path in sorted(folder.iterdir()):
        if not path.is_file():
            continue
        body = path.read_bytes()
        content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        gzipped = None
        if content_type.startswith(COMPRESSIBLE):
            # mtime=0: the same bytes on every start and every copy of the gateway.
            packed = gzip.compress(body, compresslevel=9, mtime=0)
            gzipped = packed if len(packed) < len(body) else None
        files[path.name] = StaticFile(
            body=body,
            gzipped=gzipped,
            content_type=content_type,
            digest=hashlib.sha256(body).hexdigest()[:DIGITS],
            modified=path.stat().st_mtime,
        )
    return files


def _answer(request: web.Request, found: StaticFile, cache_control: str | None) -> web.Response:
    zipped = found.gzipped is not None and accepts_gzip(request)
    # The gzipped bytes are another representation: another ETag (RFC 9110 §8.8.3).
    etag = found.etag + ("-gz" if zipped else "")
    if any(tag.value in (found.etag, etag) for tag in request.if_none_match or ()):
        response = web.Response(status=304)
    elif zipped:
        response = web.Response(body=found.gzipped, content_type=found.content_type)
        response.headers[hdrs.CONTENT_ENCODING] = "gzip"
    else:
        response = web.Response(body=found.body, content_type=found.content_type)
    if found.gzipped is not None:
        response.headers[hdrs.VARY] = "Accept-Encoding"
    response.etag = etag
    response.last_modified = found.modified
    if cache_control:
        response.headers[hdrs.CACHE_CONTROL] = cache_control
    return response


def add_routes(app: web.Application, folder: Path, prefix: str = "/static") -> Callable[[str], str]:
    """``GET {prefix}/{name}`` for each file directly in ``folder``, under its plain and its
    versioned name; ``GET /favicon.ico`` when the folder has one; other names are 404.

    Returns :func:`static_url` for these files: what the templates call."""
    files = read_folder(folder)
    versioned = {found.versioned(name): found for name, found in files.items()}
    urls = {name: f"{prefix}/{found.versioned(name)}" for name, found in files.items()}
    # milie.<any 12 hex digits>.css: a version of a file we have, not the current one.
    stale = re.compile(rf"^(?P<stem>.+)\.[0-9a-f]{{{DIGITS}}}(?P<suffix>\.[^.]+)$")

    async def serve(request: web.Request) -> web.Response:
        name = request.match_info["name"]
        if (found := versioned.get(name)) is not None:
            return _answer(request, found, IMMUTABLE)
        if (found := files.get(name)) is not None:
            return _answer(request, found, None)
        if (old := stale.match(name)) and (plain := old["stem"] + old["suffix"]) in files:
            raise web.HTTPFound(urls[plain])
        raise web.HTTPNotFound()

    app.router.add_get(prefix + "/{name}", serve)
    if "favicon.ico" in files:
        icon = files["favicon.ico"]

        async def favicon(request: web.Request) -> web.Response:
            return _answer(request, icon, FAVICON_LIFETIME)

        app.router.add_get("/favicon.ico", favicon)

    def static_url(name: str) -> str:
        """``/static/milie.<digits>.css`` for ``milie.css``; a name we do not have is an error
        of the template, raised while it renders."""
        return urls[name]

    return static_url
