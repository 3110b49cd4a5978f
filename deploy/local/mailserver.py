"""Development SMTP server that keeps every message it receives as an .eml file.

Local runs and end-to-end tests point the notify service at it instead of a real mail relay, then
read the files: `<dir>/<UTC timestamp>-<uuid>.eml`, each written whole (tmp file, then rename), so
a reader never sees half a message. The envelope goes first as X-Peer, X-MailFrom and X-RcptTo
headers, as aiosmtpd's Message handler does: it is the only record of Bcc recipients.

    python -m deploy.local.mailserver --port 1025 --dir .run/mail

`--port 0` picks a free port and logs it. SIGTERM or SIGINT stops it.

It keeps up with the platform on the same cores (``python -m bench.load --dev-mail-server``):
aiosmtpd serves on the main thread's uvloop and the file is written there, without a thread
and without an fsync per message. Once it has answered 250 a message survives the mail
server's own crash (the kernel holds the written file); a crash of the machine could lose the
last ones, as it already could before, when the rename was never synced — a development
server's trade. Writing the file is most of an email's cost here (0.6–0.8 ms of CPU, half of
it the kernel's creating the file, against 0.4–0.6 ms for aiosmtpd's conversation); a writer
thread beside the event loop was tried and lost (the last email 1.6 and 2.7 s after the last
submission against 0.7 and 0.6 s, at 220–250/s). A file that cannot be written is answered
451, so that the sender tries again later instead of giving the email up.
"""

import argparse
import asyncio
import logging
import signal
import uuid
from datetime import UTC, datetime
from pathlib import Path

import uvloop
from aiosmtpd.smtp import SMTP

log = logging.getLogger("mailserver")


def save_message(directory: Path, data: bytes) -> Path:
    """Write one message to `directory` under a new unique name; return its path."""
    name = f"{datetime.now(UTC):%Y%m%dT%H%M%S.%fZ}-{uuid.uuid4()}.eml"
    tmp = directory / f".{name}.tmp"  # not *.eml: readers that glob skip it
    tmp.write_bytes(data)
    return tmp.replace(directory / name)


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
        try:
            path = save_message(self.directory, envelope_headers + envelope.original_content)
        except OSError as exc:
            log.error("could not write a message: %s", exc)
            return "451 Requested action aborted: local error in processing"
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
    uvloop.run(serve(args.host, args.port, args.dir.resolve()))


async def serve(host: str, port: int, directory: Path) -> None:
    """Serve SMTP on ``host:port`` (0: a free port) until SIGTERM or SIGINT.

    On this loop rather than in aiosmtpd's ``Controller`` thread: every reply there waited for
    the GIL, and every message for a hop to a writer thread and back."""
    loop = asyncio.get_running_loop()
    handler = SaveToDirectory(directory)
    server = await loop.create_server(
        lambda: SMTP(handler, hostname=host, enable_SMTPUTF8=True), host, port
    )
    port = server.sockets[0].getsockname()[1]
    log.info("listening on %s:%d, saving to %s", host, port, directory)
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    log.info("stopping")
    server.close()
    await server.wait_closed()


if __name__ == "__main__":
    main()
