"""Fault injection for the crash tests, from outside the code under test.

Python imports ``sitecustomize`` at start from the first folder of its path that holds one:
``tests/e2e/test_crashes.py`` starts a service with this folder first on ``PYTHONPATH`` and one of
the variables below, and the real ``python -m services.…`` then kills itself with SIGKILL at the
worst moment, exactly there instead of somewhere by chance:

- ``MILIE_TEST_KILL_AFTER_COMMIT=<type>``: the consumer has committed a message of that type (its
  effect and its inbox row) and is about to acknowledge it;
- ``MILIE_TEST_KILL_AFTER_PUBLISH=<type>``: the outbox relay has published a row of that type and
  the broker confirmed it, and the row is not yet marked sent.

A hook that no longer finds what it wraps fails the process at start, so the crash test fails
instead of passing without a crash.
"""

from __future__ import annotations

import os
import signal
import sys


def _kill(moment: str) -> None:
    print(f"fault injection: SIGKILL {moment}", file=sys.stderr, flush=True)
    os.kill(os.getpid(), signal.SIGKILL)


def _kill_after_commit(message_type: str) -> None:
    import aio_pika

    from shared.consumer import Consumer

    # The consumer acknowledges only after its transaction committed: a batch through
    # Consumer._ack, a message applied alone through the message's own ack.
    batch_ack = Consumer._ack
    message_ack = aio_pika.IncomingMessage.ack

    async def ack_batch(self, messages):
        if any(m.type == message_type for m in messages):
            _kill(f"after committing {message_type}, before acknowledging it")
        return await batch_ack(self, messages)

    async def ack_message(self, *args, **kwargs):
        if self.type == message_type:
            _kill(f"after committing {message_type}, before acknowledging it")
        return await message_ack(self, *args, **kwargs)

    Consumer._ack = ack_batch
    aio_pika.IncomingMessage.ack = ack_message


def _kill_after_publish(message_type: str) -> None:
    from shared.outbox import OutboxRelay

    # _publish returns once the broker confirmed; the row is marked sent after the whole batch.
    publish = OutboxRelay._publish

    async def publish_then_kill(self, row):
        await publish(self, row)
        if row["message_type"] == message_type:
            _kill(f"after publishing {message_type}, before marking it sent")

    OutboxRelay._publish = publish_then_kill


if os.environ.get("MILIE_TEST_KILL_AFTER_COMMIT"):
    _kill_after_commit(os.environ["MILIE_TEST_KILL_AFTER_COMMIT"])
if os.environ.get("MILIE_TEST_KILL_AFTER_PUBLISH"):
    _kill_after_publish(os.environ["MILIE_TEST_KILL_AFTER_PUBLISH"])
