"""Development pages: the mail kept by the development mail server (MILIE_ENV=development)."""

from __future__ import annotations

from email import message_from_bytes, policy
from pathlib import Path

import aiohttp_jinja2
from aiohttp import web

from gateway.web.keys import GATEWAY_SETTINGS

routes = web.RouteTableDef()


def _mail_dir(request: web.Request) -> Path:
    return Path(request.app[GATEWAY_SETTINGS].dev_mail_dir)


@routes.get("/dev/mail")
@aiohttp_jinja2.template("dev_mail.html")
async def mail_list(request: web.Request) -> dict:
    folder = _mail_dir(request)
    files = sorted(folder.glob("*.eml"), reverse=True)[:200] if folder.is_dir() else []
    mails = []
    for path in files:
        msg = message_from_bytes(path.read_bytes(), policy=policy.default)
        mails.append(
            {"name": path.name, "to": msg["To"], "subject": msg["Subject"], "date": msg["Date"]}
        )
    return {"mails": mails, "folder": str(folder)}


@routes.get("/dev/mail/{name}")
async def mail_show(request: web.Request) -> web.Response:
    name = request.match_info["name"]
    path = _mail_dir(request) / name
    if "/" in name or not name.endswith(".eml") or not path.is_file():
        raise web.HTTPNotFound()
    msg = message_from_bytes(path.read_bytes(), policy=policy.default)
    part = msg.get_body(preferencelist=("plain",))
    text = part.get_content() if part is not None else ""
    header = f"From: {msg['From']}\nTo: {msg['To']}\nSubject: {msg['Subject']}\n\n"
    return web.Response(text=header + text, content_type="text/plain")
