"""The AsyncAPI document given to the channels' developers says what the code does: the names
of the exchange, routing key, queues and message types, and the exported JSON schemas.

(No YAML parser is among the project's dependencies: the document is checked as text.)"""

from __future__ import annotations

import re
from pathlib import Path

from services.intake.channels.commands import REPLY_ATTEMPTS, reply_queue_allowed
from shared.codes import is_well_formed
from shared.messages import COMMAND_MAX_BYTES, IntakeSubmitReplyV1, IntakeSubmitV1
from shared.topology import COMMANDS, Topology

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "asyncapi.yaml"


def test_the_document_names_what_intake_declares_and_reads():
    text = DOC.read_text()
    topology = Topology()
    assert text.startswith("asyncapi: 3.0.0\n")
    assert f"name: {topology.exchange(COMMANDS)}\n" in text
    assert "type: topic\n" in text
    assert f"address: {IntakeSubmitV1.name}\n" in text
    assert f"address: {topology.dead_letter_queue('intake')}\n" in text
    assert f"`{topology.queue('intake')}`" in text
    for contract in (IntakeSubmitV1, IntakeSubmitReplyV1):
        assert f"name: {contract.type_name()}\n" in text
        assert f"messageType: {contract.type_name()}\n" in text
        ref = f"../shared/schemas/{contract.type_name()}.json"
        assert f"$ref: '{ref}'" in text
        assert (DOC.parent / ref).resolve().is_file()
    for reason_header in ("x-milie-reason", "x-milie-in-reply-to"):
        assert reason_header in text
    assert "$message.header#/reply_to" in text
    assert "$message.header#/correlation_id" in text
    assert REPLY_ATTEMPTS == 5  # « retried a few times (about 15 seconds) »
    # Who the channel is, where it is answered, what a reused id gets.
    assert "required: [message_id, type, user_id, correlation_id, reply_to, delivery_mode]" in text
    assert reply_queue_allowed("guichet-unique", "guichet-unique.replies.x")
    assert "`<channel>.replies` or `<channel>.replies.<anything>`" in text
    assert '"code": "submission_key_reused"' in text
    assert f"over {COMMAND_MAX_BYTES // 1024} KiB" in text


def test_the_examples_codes_are_well_formed():
    codes = re.findall(r"code: '(\d+)'", DOC.read_text())
    assert codes and all(is_well_formed(c) for c in codes)
