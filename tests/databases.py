"""Test databases: one template migrated once per run, cloned for each test.

Migrating six schemas for every test cost more than most tests themselves. The session migrates a
template database with the same :func:`shared.migrations.migrate` the services run at start,
then each test gets ``CREATE DATABASE … TEMPLATE`` of it; the services' own migrations at start
then find nothing to do (they still take their advisory lock). The copy for the next test is made
while this one runs (:class:`Copies`), and the copies used are dropped by batches in the
background (:class:`Drops`). Tests of the migrations themselves take an empty database instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from pathlib import Path

import asyncpg

from shared.migrations import migrate


def service_schemas() -> list[tuple[str, Path | None]]:
    """(schema, migrations folder) of every process that owns a schema, from their ServiceSpec.

    The one list of them for the tests; ``tests/shared/test_databases.py`` fails when a folder of
    migrations exists that is not here."""
    from gateway.app import SPEC as gateway
    from services.intake.app import SPEC as intake
    from services.notify.app import NAME as notify
    from services.notify.app import SQL_DIR as notify_sql
    from services.stats.app import SQL_DIR as stats_sql
    from services.treatment.app import SQL_DIR as treatment_sql
    from services.triage.app import SQL_DIR as triage_sql

    return [
        (intake.name, intake.sql_dir),
        ("triage", triage_sql),
        ("treatment", treatment_sql),
        (notify, notify_sql),
        ("stats", stats_sql),
        (gateway.name, gateway.sql_dir),
    ]


def with_database(url: str, name: str) -> str:
    """``url`` pointing at database ``name`` on the same server."""
    base, _, _ = url.rpartition("/")
    return f"{base}/{name}"


def _new_name(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:12]}"


async def _admin(server_url: str, *statements: str) -> None:
    conn = await asyncpg.connect(with_database(server_url, "postgres"))
    try:
        for statement in statements:
            await conn.execute(statement)
    finally:
        await conn.close()


async def create_template(server_url: str) -> str:
    """A database with every service's schema migrated; returns its name.

    Its name is new to this run (other runs share the server), and nobody may connect to it
    afterwards: ``CREATE DATABASE … TEMPLATE`` refuses a template that has a session."""
    name = _new_name("milie_tpl")
    await _admin(server_url, f'CREATE DATABASE "{name}"')
    try:
        conn = await asyncpg.connect(with_database(server_url, name))
        try:
            for schema, folder in service_schemas():
                await migrate(conn, schema, folder)
        finally:
            await conn.close()
        await _admin(server_url, f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS false')
    except BaseException:
        await drop_database(server_url, name)
        raise
    return name


async def create_database(server_url: str, template: str | None = None) -> str:
    """A new database (a copy of ``template``, else empty); returns its URL."""
    name = _new_name("milie_t")
    source = f' TEMPLATE "{template}"' if template else ""
    await _admin(
        server_url,
        f'CREATE DATABASE "{name}"{source}',
        # A commit need not wait for its WAL to reach the disk: the shared test server is
        # never crashed (the tests that restart PostgreSQL run their own, tests/e2e).
        f'ALTER DATABASE "{name}" SET synchronous_commit = off',
    )
    return with_database(server_url, name)


async def drop_database(server_url: str, name: str) -> None:
    await _admin(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


class Copies:
    """Copies of a template, one made ahead: a copy takes the server ~0.15 s of mostly disk
    writes, done while the previous test runs instead of before the next one."""

    def __init__(self, server_url: str, template: str) -> None:
        self.server_url = server_url
        self.template = template
        self._next: asyncio.Task[str] | None = None

    def _make(self) -> asyncio.Task[str]:
        return asyncio.create_task(create_database(self.server_url, self.template))

    async def take(self) -> str:
        """A new copy's URL; it is the caller's to drop."""
        task, self._next = self._next or self._make(), None
        url = await task
        self._next = self._make()
        return url

    async def close(self) -> None:
        """Drop the copy made ahead, if any."""
        if self._next is None:
            return
        task, self._next = self._next, None
        with contextlib.suppress(Exception):
            await drop_database(self.server_url, (await task).rpartition("/")[2])


class Drops:
    """Databases dropped by batches, in the background.

    Every ``DROP DATABASE`` makes the server run a checkpoint and wait for it (PostgreSQL 15):
    0.2–1.4 s here in each test's teardown, a flush of every dirty page on the server, and full
    page images in the WAL after it. Eight drops at once share two or three checkpoints (0.25–0.8
    s in all), and no test waits for them. A batch starts once the one before it is done, so at
    most :attr:`BATCH` connections are taken for it. A drop that failed fails :meth:`close`.
    """

    BATCH = 8

    def __init__(self, server_url: str) -> None:
        self.server_url = server_url
        self._waiting: list[str] = []
        self._last: asyncio.Task[None] | None = None
        self._errors: list[BaseException] = []

    def add(self, name: str) -> None:
        """Drop database ``name`` soon; nobody may use it any more."""
        self._waiting.append(name)
        if len(self._waiting) >= self.BATCH:
            self._start()

    def _start(self) -> None:
        names, self._waiting = self._waiting, []
        self._last = asyncio.create_task(self._drop(self._last, names))

    async def _drop(self, previous: asyncio.Task[None] | None, names: list[str]) -> None:
        if previous is not None:
            await previous
        results = await asyncio.gather(
            *(drop_database(self.server_url, name) for name in names), return_exceptions=True
        )
        self._errors += [r for r in results if isinstance(r, BaseException)]

    async def close(self) -> None:
        """Drop those still waiting and wait for every batch; raise the first failure."""
        if self._waiting:
            self._start()
        if self._last is not None:
            await self._last
        if self._errors:
            raise self._errors[0]
