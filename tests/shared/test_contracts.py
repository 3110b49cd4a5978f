import json

import pytest
from pydantic import ValidationError

from shared import messages


def test_exported_schemas_match_the_contracts():
    assert messages.check() == []


def test_a_changed_contract_without_a_new_version_is_caught(tmp_path):
    messages.export(tmp_path)
    path = tmp_path / "request.submitted.v1.json"
    schema = json.loads(path.read_text())
    schema["properties"].pop("code")
    path.write_text(json.dumps(schema))
    assert messages.check(tmp_path) == [
        "request.submitted.v1: schema changed without a new version"
    ]


def test_consumers_ignore_unknown_fields():
    from tests.support import submitted_event

    event = submitted_event()
    raw = json.loads(event.model_dump_json())
    raw["added_in_a_later_minor_change"] = 1
    assert messages.RequestSubmittedV1.model_validate(raw) == event


def test_a_reply_by_phone_names_its_operator_and_only_by_phone():
    """citizen.*_recorded.v2: the call centre's operator takes a caller's reply by telephone;
    the citizen's own reply (web) has none."""
    fields = {
        "request_id": "00000000-0000-4000-8000-000000000001",
        "code": "1234567890",
        "body_id": "ministere-budget",
        "opinion": "satisfied",
        "recorded_at": "2027-01-12T10:00:00+00:00",
    }
    operator = messages.CallCentreOperator(staff_id="op-1", login="operatrice")
    by_phone = messages.CitizenOpinionRecordedV2(**fields, channel="phone", operator=operator)
    assert by_phone.operator == operator
    assert messages.CitizenOpinionRecordedV2(**fields, channel="web").operator is None
    for wrong in ({"channel": "phone"}, {"channel": "web", "operator": operator}):
        with pytest.raises(ValidationError, match="only by phone"):
            messages.CitizenOpinionRecordedV2(**fields, **wrong)
    # Both versions under the one routing key: a consumer bound to it gets either.
    assert messages.CitizenOpinionRecordedV2.name == messages.CitizenOpinionRecordedV1.name
    assert messages.CitizenReopeningRecordedV2.name == messages.CitizenReopeningRecordedV1.name


def test_a_replys_id_is_an_optional_field_read_both_ways():
    """``reply_id`` (citizen.*_recorded.v2 to treatment, request.opinion_given.v1 and
    request.reopened.v1 back to intake) was added without a new version: a message from before
    reads as a reply that says no id, and a consumer that does not know the field reads the new
    message as the old one."""
    reply_id = "00000000-0000-4000-8000-00000000000a"
    before = {
        "request_id": "00000000-0000-4000-8000-000000000001",
        "code": "1234567890",
        "body_id": "ministere-budget",
        "opinion": "satisfied",
        "given_at": "2027-01-12T10:00:00+00:00",
    }
    assert messages.RequestOpinionGivenV1.model_validate(before).reply_id is None
    given = messages.RequestOpinionGivenV1.model_validate({**before, "reply_id": reply_id})
    assert str(given.reply_id) == reply_id

    class Before(messages.Contract):  # request.opinion_given.v1 as a consumer knew it
        request_id: str
        opinion: str

    assert Before.model_validate(json.loads(given.model_dump_json())).opinion == "satisfied"
    for contract in (
        messages.CitizenOpinionRecordedV2,
        messages.CitizenReopeningRecordedV2,
        messages.RequestOpinionGivenV1,
        messages.RequestReopenedV1,
    ):
        assert "reply_id" not in messages.schema_of(contract).get("required", []), contract


def test_the_operator_of_a_phone_submission_is_an_optional_field_read_both_ways():
    """request.submitted.v1 ``operator`` (the call centre's operator who typed it by phone) was
    added without a new version: an event from before, by phone or not, reads as naming nobody;
    a consumer that does not know the field reads the new event as the old one; and only a
    submission by phone names an operator."""
    from tests.support import submitted_event

    web = submitted_event()
    before = json.loads(web.model_dump_json(exclude={"operator"}))
    assert "operator" not in before
    for channel in ("web", "phone"):
        event = messages.RequestSubmittedV1.model_validate({**before, "channel": channel})
        assert event.operator is None
    operator = {"staff_id": "op-1", "login": "cecile.ng"}
    by_phone = messages.RequestSubmittedV1.model_validate(
        {**before, "channel": "phone", "operator": operator}
    )
    assert by_phone.operator == messages.CallCentreOperator(**operator)

    class Before(messages.Contract):  # request.submitted.v1 as a consumer knew it
        code: str
        channel: str

    assert Before.model_validate(json.loads(by_phone.model_dump_json())).channel == "phone"
    schema = messages.schema_of(messages.RequestSubmittedV1)
    assert "operator" in schema["properties"]
    assert "operator" not in schema.get("required", [])
    for channel in ("web", "api", "broker", "open311"):
        with pytest.raises(ValidationError, match="only by phone"):
            messages.RequestSubmittedV1.model_validate(
                {**before, "channel": channel, "operator": operator}
            )
