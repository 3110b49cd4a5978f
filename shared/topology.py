"""Names and arguments of the design's exchanges and queues, in one place.

- ``milie.events``: topic exchange of domain events, routing key = event name.
- ``milie.commands``: topic exchange of commands from other channels (``intake.submit``).
- ``milie.dead-letter``: direct exchange; each service's dead-letter queue is bound with the
  service's name.
- one durable quorum queue per consuming service (``milie.<service>``) with a delivery limit and
  the dead-letter exchange, and one dead-letter queue per service (``milie.<service>.dead-letter``).

A namespace prefixes every name so that test runs share a broker without seeing each other.

Every queue here, dead-letter queues included, is bounded by the policy of
:meth:`Topology.limits_policy` (deploy/rabbitmq/definitions.json holds it): past its length a
queue refuses publishes (``overflow: reject-publish``, the publisher gets a nack) instead of
filling the broker's disk. A policy rather than ``x-max-length`` arguments, because RabbitMQ
refuses to redeclare a queue with other arguments (PRECONDITION_FAILED): the queues of every
installation declared before the limits would make the services fail at start, and changing a
limit would mean deleting a queue full of messages. A policy applies to the existing queues at
once and is changed in place. (An operator policy, which users cannot override, would be better
still, but RabbitMQ 3.x accepts no ``overflow`` in one.) The services set no policy of their
own: only one policy applies to a queue, so another one matching these queues must repeat these
keys.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

EVENTS = "events"
COMMANDS = "commands"
DEAD_LETTER = "dead-letter"
DEFAULT = ""  # the broker's default exchange, to answer on a reply_to queue
# Of each queue (messages ready): a service stopped for a day under load stays well within them.
QUEUE_MAX_LENGTH = 1_000_000
QUEUE_MAX_BYTES = 2 * 1024**3


@dataclass(frozen=True)
class Topology:
    namespace: str = ""

    def _name(self, base: str) -> str:
        return f"{self.namespace}.milie.{base}" if self.namespace else f"milie.{base}"

    def exchange(self, logical: str) -> str:
        """The broker name of a logical exchange (``events``, ``commands``, ``dead-letter``)."""
        return "" if logical == DEFAULT else self._name(logical)

    def queue(self, service: str) -> str:
        return self._name(service)

    def dead_letter_queue(self, service: str) -> str:
        return self._name(f"{service}.dead-letter")

    def queue_arguments(self, service: str, delivery_limit: int) -> dict:
        return {
            "x-queue-type": "quorum",
            "x-delivery-limit": delivery_limit,
            "x-dead-letter-exchange": self.exchange(DEAD_LETTER),
            "x-dead-letter-routing-key": service,
        }

    @staticmethod
    def dead_letter_queue_arguments() -> dict:
        return {"x-queue-type": "quorum"}

    def limits_policy(
        self, max_length: int = QUEUE_MAX_LENGTH, max_length_bytes: int = QUEUE_MAX_BYTES
    ) -> dict:
        """The policy bounding every queue of this topology, as definitions.json writes it
        (``rabbitmqctl set_policy NAME PATTERN DEFINITION --apply-to queues`` sets the same)."""
        return {
            "vhost": "/",
            "name": self._name("queue-limits"),
            "pattern": f"^{re.escape(self._name(''))}",
            "apply-to": "queues",
            "priority": 0,
            "definition": {
                "max-length": max_length,
                "max-length-bytes": max_length_bytes,
                "overflow": "reject-publish",
            },
        }
