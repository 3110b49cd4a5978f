"""What the gateway hands on from a service as it comes: a document, an export.

The bytes are streamed chunk by chunk (never held whole); the service's own headers that describe
the file are passed on, the rest of the answer is the gateway's (its security headers, its
cache rules: no personal data is ever kept by a cache).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import IO

import aiohttp
from aiohttp import web

CHUNK = 64 * 1024
# What a service says of a document it serves: its type and size, how to save it, how a browser
# may show it.
DOCUMENT_HEADERS = (
    "Content-Type",
    "Content-Disposition",
    "Content-Length",
    "X-Content-Type-Options",
    "Content-Security-Policy",
    "Cache-Control",
)


def passed_on(
    upstream: aiohttp.ClientResponse, names: Sequence[str] = DOCUMENT_HEADERS
) -> dict[str, str]:
    """The headers among ``names`` that the service's answer carries."""
    return {name: upstream.headers[name] for name in names if name in upstream.headers}


def csv_headers(filename: str) -> dict[str, str]:
    """An export's CSV file: saved under ``filename``, never kept by a cache."""
    return {
        "Content-Type": "text/csv; charset=utf-8",
        "Content-Disposition": f'attachment; filename="{filename}"',
        "Cache-Control": "no-store",
    }


async def relay(
    request: web.Request, upstream: aiohttp.ClientResponse, headers: Mapping[str, str]
) -> web.StreamResponse:
    """The service's body streamed to the browser as it comes, under ``headers``."""
    out = web.StreamResponse(headers=headers)
    await out.prepare(request)
    async for chunk in upstream.content.iter_chunked(CHUNK):
        await out.write(chunk)
    await out.write_eof()
    return out


async def spool(upstream: aiohttp.ClientResponse, into: IO[bytes]) -> None:
    """The service's body written to a (temporary) file as it comes."""
    async for chunk in upstream.content.iter_chunked(CHUNK):
        into.write(chunk)
