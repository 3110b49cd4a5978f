"""Names and arguments of the design's exchanges and queues, in one place.

- ``milie.events``: topic exchange of domain events, routing key = event name.
- ``milie.commands``: topic exchange of commands from other channels (``intake.submit``).
- ``milie.dead-letter``: direct exchange; each service's dead-letter queue is bound with the
  service's name.
- one durable quorum queue per consuming service (``milie.<service>``) with a delivery limit and
  the dead-letter exchange, and one dead-letter queue per service (``milie.<service>.dead-letter``).

A namespace prefixes every name so that test runs share a broker without seeing each other.
"""

from __future__ import annotations

from dataclasses import dataclass

EVENTS = "events"
COMMANDS = "commands"
DEAD_LETTER = "dead-letter"
DEFAULT = ""  # the broker's default exchange, to answer on a reply_to queue


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
