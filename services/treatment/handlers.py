"""Message handlers of treatment: none yet (request.validated has no contract so far)."""

from __future__ import annotations

from shared.consumer import Handler

HANDLERS: dict[str, Handler] = {}
