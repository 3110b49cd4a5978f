"""Each service's bindings come from its handler table: what it handles is what it is sent."""

from __future__ import annotations

from services.intake.app import SPEC as INTAKE
from services.notify.app import spec as notify_spec
from services.notify.settings import NotifySettings
from shared.service import ServiceSpec, bindings_of
from shared.topology import COMMANDS, EVENTS


def test_one_binding_per_message_name_commands_on_their_exchange() -> None:
    handlers = {
        "request.submitted.v1": None,
        "request.submitted.v2": None,
        "intake.submit.v1": None,
    }
    assert bindings_of(handlers) == [(COMMANDS, "intake.submit"), (EVENTS, "request.submitted")]


def test_a_spec_without_bindings_takes_its_handlers_names() -> None:
    spec = ServiceSpec(name="x", sql_dir=None, handlers={"request.rejected.v1": None})
    assert spec.bindings == [(EVENTS, "request.rejected")]
    assert ServiceSpec(name="x", sql_dir=None).bindings == []


def test_every_service_is_bound_to_what_it_handles() -> None:
    assert (COMMANDS, "intake.submit") in INTAKE.bindings
    assert {key for _, key in INTAKE.bindings} == {
        name.rpartition(".v")[0] for name in INTAKE.handlers
    }
    notify = notify_spec(NotifySettings(_env_file=None))
    assert {key for _, key in notify.bindings} == {
        "request.submitted",
        "deadlines.policy_changed",
        "citizen.codes_reminder_requested",
        "request.validated",
        "request.reformulation_requested",
        "request.rejected",
        "request.clarification_sent",
        "request.assigned",
        # The agent a request is handed to is told (not the one who handed it over).
        "request.reassigned",
        "request.put_on_hold",
        "request.treated",
        "request.citizen_answered",
        "request.reopened",
        "request.personal_data_purged",
        # A closing « sans retour » is told (one by the citizen's own opinion is not).
        "request.closed",
        # A reply of the citizen's treatment could not apply (the portal said « enregistré »).
        "request.citizen_reply_refused",
        "request.deadline_warning",
        "request.deadline_missed",
    }
