"""The focal point's « Tableau de bord » is read at one moment. Its counters come from three
statements (the present statuses, how the closed requests ended, what waits now) while stats'
consumer commits whenever its batch is applied: read apart, a request closed « sans retour »
between two of them was counted on one page both in « Avis attendus » (its status before) and
in « Sans retour » (its outcome after)."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime

from services.stats import body_dashboard, repository
from services.stats.app import create_app
from services.stats.settings import StatsSettings
from shared.lifecycle import Status
from shared.messages import Channel, Nature
from shared.service import POOL
from tests.support import RunningApp

BODY = "ministere-budget"
DAY = date(2020, 3, 10)


class CommitsAfterFirstRead:
    """A connection whose first ``fetch`` lets ``meanwhile`` commit on another connection before
    the next statement: stats' consumer applying a batch while a dashboard is being read."""

    def __init__(self, conn, meanwhile: Callable[[], Awaitable[None]]) -> None:
        self._conn = conn
        self._meanwhile: Callable[[], Awaitable[None]] | None = meanwhile

    def __getattr__(self, name: str):
        return getattr(self._conn, name)

    async def fetch(self, *args, **kwargs):
        rows = await self._conn.fetch(*args, **kwargs)
        if self._meanwhile is not None:
            meanwhile, self._meanwhile = self._meanwhile, None
            await meanwhile()
        return rows


async def test_a_request_closed_while_the_dashboard_is_read_counts_once(settings_for):
    async with RunningApp(create_app(settings_for(StatsSettings))) as running:
        pool = running.app[POOL]
        request_id = uuid.uuid4()
        async with pool.acquire() as conn, conn.transaction():
            await repository.record_submitted(
                conn,
                [
                    {
                        "request_id": str(request_id),
                        "body_id": BODY,
                        "body_name": "Ministère du budget",
                        "nature": Nature.RECLAMATION.value,
                        "theme_id": "accueil-espace",
                        "channel": Channel.WEB.value,
                        "status": Status.SUBMITTED.value,
                        "submitted_on": DAY.isoformat(),
                    }
                ],
            )
            answered = datetime(2020, 3, 20, tzinfo=UTC)
            assert await repository.move_status(conn, request_id, Status.TREATED.value, answered)

        async def closed_without_opinion() -> None:
            # What request.closed (no opinion) does in stats, in the consumer's transaction.
            async with pool.acquire() as other, other.transaction():
                closed = datetime(2020, 5, 20, tzinfo=UTC)
                await repository.move_status(other, request_id, Status.CLOSED.value, closed)
                await repository.record_outcome(other, request_id, repository.NO_OPINION)

        async with pool.acquire() as conn:
            read = CommitsAfterFirstRead(conn, closed_without_opinion)
            during = await body_dashboard.counters(read, BODY, DAY, DAY)
            after = await body_dashboard.counters(conn, BODY, DAY, DAY)
        cards = ("treated", "opinions_expected", "without_opinion")
        # As it stood when the page was read: answered, the opinion awaited; then « sans retour ».
        assert {card: during[card] for card in cards} == {
            "treated": 1,
            "opinions_expected": 1,
            "without_opinion": 0,
        }
        assert {card: after[card] for card in cards} == {
            "treated": 1,
            "opinions_expected": 0,
            "without_opinion": 1,
        }
