"""Treatment's pure rules: the life cycle judged for the body, the texts asked for, the
documents judged by their content (no database)."""

import pytest

from services.treatment import actions
from shared import attachments
from shared.lifecycle import Event, Status
from shared.web import FieldErrors
from tests.front.conftest import PDF, PNG, pdf_bytes, with_javascript


def row(status: Status, opinion: str | None = None) -> dict:
    return {"status": status.value, "opinion": opinion}


@pytest.mark.parametrize(
    ("status", "event", "after"),
    [
        (Status.IN_TREATMENT, Event.ASSIGNED, Status.IN_TREATMENT),
        (Status.IN_TREATMENT, Event.PUT_ON_HOLD, Status.ON_HOLD),
        (Status.ON_HOLD, Event.RESUMED, Status.IN_TREATMENT),
        (Status.ON_HOLD, Event.REASSIGNED, Status.ON_HOLD),
        (Status.IN_TREATMENT, Event.TREATED, Status.TREATED),
        (Status.REOPENED, Event.TREATED, Status.TREATED),
        (Status.TREATED, Event.REOPENED, Status.REOPENED),
    ],
)
def test_the_body_moves_a_request_as_the_table_says(status, event, after):
    assert actions.judge(row(status), event) == after


@pytest.mark.parametrize(
    ("status", "event"),
    [
        (Status.ON_HOLD, Event.TREATED),  # resume first
        (Status.ON_HOLD, Event.PUT_ON_HOLD),
        (Status.IN_TREATMENT, Event.RESUMED),
        (Status.ACKNOWLEDGED, Event.ASSIGNED),  # a suggestion is read, not treated
        (Status.IN_TREATMENT, Event.OPINION_GIVEN),  # not answered yet
        (Status.IN_TREATMENT, Event.REOPENED),
        (Status.TREATED, Event.TREATED),
    ],
)
def test_every_other_move_is_refused_in_french(status, event):
    with pytest.raises(actions.Refused) as refused:
        actions.judge(row(status), event)
    assert refused.value.error == "not_allowed"
    assert "Action impossible" in refused.value.message
    assert refused.value.extra == {"current_status": status.value}


def test_an_opinion_closes_a_treated_request_once():
    assert actions.judge(row(Status.TREATED), Event.OPINION_GIVEN, opinion="satisfied") == (
        Status.CLOSED
    )
    with pytest.raises(actions.Refused):
        actions.judge(row(Status.CLOSED, "satisfied"), Event.OPINION_GIVEN, opinion="satisfied")
    with pytest.raises(actions.Refused):
        actions.judge(row(Status.CLOSED, "not_satisfied"), Event.REOPENED)


def test_a_further_answer_goes_only_to_an_unsatisfied_citizen():
    assert actions.judge(row(Status.CLOSED, "not_satisfied"), Event.CITIZEN_ANSWERED) == (
        Status.CLOSED
    )
    for opinion in ("satisfied", None):
        with pytest.raises(actions.Refused):
            actions.judge(row(Status.CLOSED, opinion), Event.CITIZEN_ANSWERED)


def test_a_text_is_asked_for_by_its_field():
    assert actions.required("reason", "  en attente du service  ", "?") == "en attente du service"
    with pytest.raises(FieldErrors) as missing:
        actions.required("reason", "   ", "Écrivez le motif.")
    assert missing.value.errors[0]["field"] == "reason"
    assert missing.value.errors[0]["message"] == "Écrivez le motif."
    with pytest.raises(FieldErrors):
        actions.required("message", "x" * (actions.MESSAGE_MAX + 1), "?")


def test_a_document_is_judged_by_its_content_as_a_citizens_attachment_is():
    name, kept = actions.checked_document("reponse.html", PDF)
    assert (name, kept.content_type, kept.data) == ("reponse.pdf", "application/pdf", PDF)
    name, kept = actions.checked_document("C:\\x\\plan", PNG)
    assert (name, kept.content_type) == ("plan.png", "image/png")
    for filename, data, code in (
        ("x.pdf", b"", "file_empty"),
        ("x.pdf", b"<html>not a pdf</html>", "file_type_not_allowed"),
        ("x.pdf", PDF + b"\0" * (5 * 1024 * 1024), "file_too_large"),
        # What its first bytes say, but not what it is.
        ("x.pdf", b"%PDF-1.7\n<script>alert(1)</script>", "pdf_unreadable"),
        ("x.png", PNG[:8] + b"<html></html>", "image_unreadable"),
        ("x.pdf", pdf_bytes(with_javascript), "pdf_javascript"),
        ("../../etc/x.pdf", PDF, "file_name_not_allowed"),
    ):
        with pytest.raises(FieldErrors) as refused:
            actions.checked_document(filename, data)
        assert refused.value.errors[0]["field"] == "document"
        assert refused.value.errors[0]["code"] == code
        assert refused.value.errors[0]["message"] == attachments.problem(code, filename)
