"""Intake's message handlers. Intake listens to every request event to keep the citizen's
tracking view; the events that change it come with the triage and treatment issues."""

from shared.consumer import Handler

HANDLERS: dict[str, Handler] = {}
