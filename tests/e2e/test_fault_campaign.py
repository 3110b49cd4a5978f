"""The short fault campaign (``python -m bench.faults --short``) in CI: a few kill -9 of processes
(the gateway first) and a broker restart under a steady stream of submissions and decisions, plus
poison messages; nothing lost, nothing done twice, every poison message dead-lettered with its
reason. The whole campaign's figures are in docs/reliability.md."""

from __future__ import annotations

import pytest

from bench.faults import SHORT, main_async
from deploy.local.private_servers import Missing


@pytest.mark.timeout(900)
async def test_the_short_fault_campaign_loses_nothing_and_repeats_nothing():
    try:
        results = await main_async(SHORT, seed=14, keep=False)
    except Missing as exc:
        pytest.skip(str(exc))
    assert results.faults == {"kill": SHORT.kills, "broker restart": SHORT.broker_restarts}
    assert results.submissions_accepted > 0 and results.decisions_applied > 0
    assert sum(results.lost.values()) == 0, results.lost
    assert sum(results.duplicated.values()) == 0, results.duplicated
    assert results.emails_sent_twice == 0
    assert results.valid_dead_lettered == 0
    assert results.poison_not_dead_lettered == []
    assert results.poison_dead_lettered > 0
    assert results.unknown_body_answered > 0 and results.duplicate_ids_ignored > 0
    assert results.processes_ready
    assert results.ok
