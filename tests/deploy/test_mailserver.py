"""make up's development mail server, run as make up runs it: each email it accepts is a whole
.eml file with the envelope first, and SIGTERM stops it cleanly; an email it cannot write is
refused for now (4xx), never taken and lost."""

from __future__ import annotations

import asyncio
import signal
import sys
from email import message_from_bytes, policy
from pathlib import Path

import aiosmtplib
from aiosmtpd.smtp import Envelope, Session

from deploy.local.mailserver import SaveToDirectory
from tests.support import eventually, free_port

ROOT = Path(__file__).resolve().parents[2]


async def test_each_email_is_a_file_with_its_envelope(tmp_path: Path) -> None:
    port = free_port()
    server = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "deploy.local.mailserver",
        "--port",
        str(port),
        "--dir",
        str(tmp_path),
        cwd=ROOT,
        stderr=asyncio.subprocess.PIPE,
    )
    try:

        async def connected() -> aiosmtplib.SMTP | None:
            client = aiosmtplib.SMTP(hostname="127.0.0.1", port=port, start_tls=False)
            try:
                await client.connect()
            except aiosmtplib.SMTPConnectError:
                return None  # not listening yet
            return client

        client = await eventually(connected, timeout=10)
        for n in range(3):
            await client.sendmail(
                "no-reply@milie.ci",
                [f"aya.{n}@example.ci", "bcc@example.ci"],
                f"Subject: essai {n}\r\n\r\nBonjour {n}\r\n",
            )
        await client.quit()
    finally:
        server.send_signal(signal.SIGTERM)
        _, log = await server.communicate()
    assert server.returncode == 0, log.decode()
    check_files(tmp_path)


def check_files(directory: Path) -> None:
    files = sorted(directory.iterdir())
    assert [f.suffix for f in files] == [".eml"] * 3  # no temporary file left
    subjects = set()
    for file in files:
        message = message_from_bytes(file.read_bytes(), policy=policy.default)
        n = message["Subject"].removeprefix("essai ")
        subjects.add(n)
        assert message["X-MailFrom"] == "no-reply@milie.ci"
        assert message["X-RcptTo"] == f"aya.{n}@example.ci, bcc@example.ci"
        assert message.get_content().strip() == f"Bonjour {n}"
    assert subjects == {"0", "1", "2"}


async def test_an_email_it_cannot_write_is_refused_for_now(tmp_path: Path) -> None:
    session = Session(asyncio.get_running_loop())
    session.peer = ("127.0.0.1", 40000)
    envelope = Envelope()
    envelope.mail_from = "no-reply@milie.ci"
    envelope.rcpt_tos = ["aya@example.ci"]
    envelope.original_content = b"Subject: essai\r\n\r\nBonjour\r\n"
    handler = SaveToDirectory(tmp_path / "missing")
    answer = await handler.handle_DATA(None, session, envelope)
    assert answer.startswith("451 ")
