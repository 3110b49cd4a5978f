import json

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
