"""NewTicket and Attachment: validation before anything is sent, and the payload they make."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from osticket_client import (
    Attachment,
    NewTicket,
    Priority,
    Settings,
    StrippedCharactersWarning,
    Ticket,
)

BASE: dict[str, Any] = {
    "name": "Ada",
    "email": "ada@example.com",
    "subject": "Printer",
    "message": "Jams",
}


def errors_of(**changes: Any) -> dict[str, str]:
    with pytest.raises(ValidationError) as caught:
        NewTicket(**{**BASE, **changes})
    return {".".join(map(str, e["loc"])): e["msg"] for e in caught.value.errors()}


def test_minimal_payload_sends_plain_text_as_a_utf8_data_url() -> None:
    assert NewTicket(**BASE).to_payload() == {
        "name": "Ada",
        "email": "ada@example.com",
        "subject": "Printer",
        "message": "data:text/plain;charset=utf-8,Jams",
    }


def test_a_message_that_itself_starts_with_data_is_kept_as_text() -> None:
    payload = NewTicket(**{**BASE, "message": "data: see log"}).to_payload()
    assert payload["message"] == "data:text/plain;charset=utf-8,data: see log"


def test_html_message() -> None:
    payload = NewTicket(**{**BASE, "message": "<p>Hi</p>", "html": True}).to_payload()
    assert payload["message"] == "data:text/html;charset=utf-8,<p>Hi</p>"


@pytest.mark.parametrize(
    ("value", "expected"),
    [("low", 1), ("Normal", 2), ("HIGH", 3), ("emergency", 4), (3, 3), ("4", 4)],
)
def test_priority_by_name_or_id(value: object, expected: int) -> None:
    assert NewTicket(**{**BASE, "priority": value}).to_payload()["priority"] == expected


def test_optional_fields_and_json_booleans() -> None:
    payload = NewTicket(
        **BASE,
        **dict[str, Any](source="web"),
        phone="+1 555 0100",
        phone_ext="7",
        topic_id=10,
        alert=False,
        autorespond=True,
        ip="192.0.2.7",
        fields={"notes": "VIP", "member": True},
    ).to_payload()
    assert payload["phone"] == "+1 555 0100X7"
    assert payload["topicId"] == 10
    assert payload["source"] == "Web"
    assert payload["alert"] is False and payload["autorespond"] is True
    assert payload["ip"] == "192.0.2.7"
    assert payload["notes"] == "VIP" and payload["member"] is True


@pytest.mark.parametrize(
    ("changes", "field", "fragment"),
    [
        ({"email": "not-an-email"}, "email", "not an e-mail address"),
        ({"subject": "   "}, "subject", "must not be blank"),
        ({"message": ""}, "message", "at least 1 character"),
        ({"name": ""}, "name", "at least 1 character"),
        ({"priority": "urgent"}, "priority", "unknown priority 'urgent'"),
        ({"priority": 9}, "priority", "Input should be 1, 2, 3 or 4"),
        ({"source": "Phone"}, "source", "'API', 'Web', 'Email' or 'Staff'"),
        ({"topic_id": 0}, "topic_id", "greater than 0"),
        ({"ip": "999.1.1.1"}, "ip", "not an IP address"),
        ({"phone": "call me"}, "phone", "not a phone number"),
        ({"fields": {"bad name": "x"}}, "fields", "not a form variable name"),
        ({"fields": {"subject": "x"}}, "fields", "is a standard field"),
        ({"colour": "red"}, "colour", "Extra inputs are not permitted"),
    ],
)
def test_invalid_input_names_the_field(changes: dict[str, Any], field: str, fragment: str) -> None:
    errors = errors_of(**changes)
    assert field in errors, errors
    assert fragment in errors[field]


def test_missing_attachment_file_names_the_field(tmp_path: Path) -> None:
    errors = errors_of(attachments=[tmp_path / "nope.txt"])
    assert "cannot read attachment" in errors["attachments.0"]


def test_attachment_name_and_type_are_checked() -> None:
    with pytest.raises(ValidationError, match="without a folder"):
        Attachment(name="../etc/passwd", data=b"x")
    with pytest.raises(ValidationError, match="not a MIME type"):
        Attachment(name="a.txt", data=b"x", content_type="text")


def test_attachment_from_path_guesses_common_types(tmp_path: Path) -> None:
    (tmp_path / "shot.PNG").write_bytes(b"\x89PNG")
    (tmp_path / "blob.unknownext").write_bytes(b"x")
    assert Attachment.from_path(tmp_path / "shot.PNG").content_type == "image/png"
    assert Attachment.from_path(tmp_path / "blob.unknownext").content_type == (
        "application/octet-stream"
    )
    assert Attachment(name="a.txt", data=b"Hi", content_type="text/plain").data_url() == (
        "data:text/plain;base64,SGk="
    )


@pytest.mark.parametrize(
    ("changes", "fragment"),
    [
        (
            {"subject": "Copyright © issue"},
            "subject: osTicket will drop these characters: © (U+00A9)",
        ),
        ({"message": "done ✓"}, "message: osTicket will drop these characters: ✓ (U+2713)"),
        ({"name": "Ada 😀"}, "name: osTicket will drop these characters: 😀 (U+1F600)"),
        ({"subject": "<b>Bold</b>"}, "subject: osTicket strips HTML tags"),
    ],
)
def test_characters_osticket_strips_are_warned_about(
    changes: dict[str, Any], fragment: str
) -> None:
    with pytest.warns(StrippedCharactersWarning) as caught:
        NewTicket(**{**BASE, **changes})
    assert any(fragment in str(w.message) for w in caught)


def test_accented_and_cjk_text_gives_no_warning() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        NewTicket(**{**BASE, "subject": "Imprimante bloquée 打印机", "message": "Ça marche ? 好"})


def test_priority_enum_values() -> None:
    assert [p.value for p in Priority] == [1, 2, 3, 4]


def test_unknown_keywords_are_refused_not_ignored() -> None:
    assert errors_of(topicid=10) == {"topicid": "Extra inputs are not permitted"}
    with pytest.raises(ValidationError, match="contenttype"):
        Attachment(name="a.txt", data=b"x", contenttype="text/plain")  # type: ignore[call-arg]
    with pytest.raises(ValidationError, match="timout"):
        Settings(url="https://help.example.com/", timout=5)  # type: ignore[call-arg]


def test_a_ticket_with_attachments_and_fields_is_a_hashable_value() -> None:
    log = Attachment(name="printer.log", data=b"jam at tray 2")
    listed = NewTicket(**BASE, attachments=[log], fields={"notes": "VIP", "floor": 3})
    tupled = NewTicket(**BASE, attachments=(log,), fields={"floor": 3, "notes": "VIP"})
    assert listed.attachments == (log,)
    assert listed == tupled and hash(listed) == hash(tupled)
    assert len({listed, tupled, NewTicket(**BASE)}) == 2
    assert NewTicket.model_validate_json(listed.model_dump_json()) == listed


def test_is_closed_is_part_of_a_tickets_data() -> None:
    ticket = Ticket(
        number="622798", ticket_id=7, subject="Printer", status="Resolved", state="closed"
    )
    assert ticket.model_dump()["is_closed"] is True
    assert Ticket.model_validate_json(ticket.model_dump_json()) == ticket
