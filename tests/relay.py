"""A TCP relay a test can cut: a process connected through it sees its server go away, as when
PostgreSQL stops or the network between them fails (its connections reset, new ones refused),
while the real server stays up for every other test. Cut with ``counting``, it still accepts new
connections but resets each at once, and counts them: a test can wait until the process has
tried again (its retry loops are in their failure branches)."""

from __future__ import annotations

import asyncio
import contextlib

from tests.support import free_port


class Relay:
    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.port = free_port()
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._cut = False
        # Connections tried since the cut (``cut(counting=True)``), each reset at once.
        self.tried_since_cut = 0

    async def __aenter__(self) -> Relay:
        self._server = await asyncio.start_server(self._relay, "127.0.0.1", self.port)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.cut()

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self._cut:
            self.tried_since_cut += 1
            writer.transport.abort()
            return
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.close()
            return
        self._writers |= {writer, up_writer}

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            with contextlib.suppress(OSError, asyncio.CancelledError):
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            dst.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))

    async def cut(self, *, counting: bool = False) -> None:
        """Refuse new connections (reset them, counted, when ``counting``) and reset the open
        ones."""
        self._cut = True
        if self._server is not None and not counting:
            self._server.close()
            self._server = None
        for writer in self._writers:
            writer.transport.abort()
        self._writers.clear()
