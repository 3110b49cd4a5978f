"""Development SMTP server that keeps every message it receives as an .eml file.

Local runs and end-to-end tests point the notify service at it instead of a real mail relay, then
read the files: `<dir>/<UTC timestamp>-<uuid>.eml`, each written whole (tmp file, then rename), so
a reader never sees half a message. The envelope goes first as X-Peer, X-MailFrom and X-RcptTo
headers, as aiosmtpd's Message handler does: it is the only record of Bcc recipients.

    python -m deploy.local.mailserver --port 1025 --dir .run/mail

`--port 0` picks a free port and logs it. SIGTERM or SIGINT stops it.
"""

import argparse
import asyncio
import logging
import os
import signal
import socket
import uuid
from datetime import UTC, datetime
from pathlib import Path

from aiosmtpd.controller import Controller

log = logging.getLogger("mailserver")


def save_message(directory: Path, data: bytes) -> Path:
    """Write one message to `directory` under a new unique name; return its path."""
    name = f"{datetime.now(UTC):%Y%m%dT%H%M%S.%fZ}-{uuid.uuid4()}.eml"
    tmp = directory / f".{name}.tmp"  # not *.eml: readers that glob skip it
    with tmp.open("wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    return tmp.replace(directory / name)


def free_port(host: str) -> int:
    # aiosmtpd's Controller cannot take port 0 (it connects to its own port to check it started).
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


class SaveToDirectory:
    """aiosmtpd handler: accept every message and save it with `save_message`."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    async def handle_DATA(self, server, session, envelope) -> str:
        envelope_headers = (
            f"X-Peer: {session.peer[0]}\r\n"
            f"X-MailFrom: {envelope.mail_from}\r\n"
            f"X-RcptTo: {', '.join(envelope.rcpt_tos)}\r\n"
        ).encode()
        path = await asyncio.to_thread(
            save_message, self.directory, envelope_headers + envelope.original_content
        )
        log.info("%s -> %s: %s", envelope.mail_from, ", ".join(envelope.rcpt_tos), path.name)
        return "250 Message accepted for delivery"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=1025, help="0 picks a free port")
    parser.add_argument("--dir", type=Path, default=Path(".run/mail"))
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    logging.getLogger("mail.log").setLevel(logging.WARNING)  # aiosmtpd: a line per SMTP command

    args.dir.mkdir(parents=True, exist_ok=True)
    port = args.port or free_port(args.host)
    # Block the stop signals before the server thread starts, so that it inherits the mask and
    # only the main thread's sigwait below receives them.
    stop_signals = {signal.SIGTERM, signal.SIGINT}
    signal.pthread_sigmask(signal.SIG_BLOCK, stop_signals)
    controller = Controller(
        SaveToDirectory(args.dir), hostname=args.host, port=port, enable_SMTPUTF8=True
    )
    controller.start()
    log.info("listening on %s:%d, saving to %s", args.host, port, args.dir.resolve())
    received = signal.sigwait(stop_signals)
    log.info("%s: stopping", signal.Signals(received).name)
    controller.stop()


if __name__ == "__main__":
    main()
