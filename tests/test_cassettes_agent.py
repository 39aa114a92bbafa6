"""Agent operations on cassettes recorded from real desks (cassettes/README.md lists the data).

Each test opens its own ticket through the API first, so it is recorded whole.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import parse_qs

import pytest

from osticket_client import (
    ActionResult,
    Attachment,
    LoginFailed,
    NewTicket,
    OsTicket,
    PermissionDenied,
    StrippedCharactersWarning,
    TicketLocked,
    TicketNotFound,
    UnknownChoice,
)


def open_ticket(desk: OsTicket, subject: str = "Laptop will not boot") -> str:
    return desk.create_ticket(
        NewTicket(
            name="Carl Customer",
            email="carl@example.com",
            subject=subject,
            message="It shows a blinking cursor.",
        )
    )


def bodies(cassette: Any) -> list[str]:
    out = []
    for request in cassette.requests:
        body = request.body or b""
        out.append(body.decode() if isinstance(body, bytes) else body)
    return out


def test_the_seed_lifecycle(recorded: Any) -> None:
    with recorded("agent_lifecycle") as (cassette, make_desk):
        desk = make_desk(agent="admin")
        number = open_ticket(desk)
        steps = [
            desk.assign(number, agent="Ada Admin", comment="Yours, Ada"),
            desk.reply(number, "Which model is it?\nA photo helps.", status="Work in Progress"),
            desk.set_status(number, "Pending", comment="Waiting for the model"),
            desk.set_status(number, "pending"),
        ]
        desk.add_customer_message(
            number, email="carl@example.com", name="Carl Customer", text="It is a T480."
        )
        steps += [
            desk.set_status(number, "Resolved", comment="BIOS reset fixed it"),
            desk.set_status(number, "Closed"),
            desk.set_status(number, "Open", comment="Customer says it is back"),
        ]
        desk.close()
    assert [s.changed for s in steps] == [True, True, True, False, True, True, True]
    assert steps[0].message == "Ticket assigned to Ada Admin successfully"
    assert steps[3].message == "Ticket already set to Pending status"
    sent = "\n".join(bodies(cassette))
    assert "assignee%5B%5D=s1" in sent  # plain field names, not the dialogs' hashed ones
    assert "reply_status_id=6" in sent and "status_id=7" in sent
    # Plain text is sent as HTML with the line break kept and nothing interpreted.
    assert "response=Which+model+is+it%3F%3Cbr+%2F%3E%0AA+photo+helps." in sent
    paths = [r.path for r in cassette.requests]
    assert "/api/tickets.email" in paths
    assert paths[-1] == "/scp/logout.php"


def test_choices_come_from_the_desk(recorded: Any) -> None:
    with recorded("agent_choices") as (_, make_desk):
        desk = make_desk(agent="admin")
        statuses = {s.name: s.state for s in desk.statuses()}
        agents = [a.name for a in desk.agents()]
        teams = [t.name for t in desk.teams()]
        departments = [d.name for d in desk.departments()]
        topics = [t.name for t in desk.topics()]
        priorities = [(p.id, p.name) for p in desk.priorities()]
        slas = [s.name for s in desk.sla_plans()]
        with pytest.raises(UnknownChoice) as caught:
            desk.resolve("status", "Bogus")
    assert statuses == {
        "Open": "open",
        "Work in Progress": "open",
        "Pending": "open",
        "Resolved": "closed",
        "Closed": "closed",
    }
    assert {"Ada Admin", "Vera Viewer", "Lim Ited"} <= set(agents)
    assert teams == ["Level I Support"]
    assert {"Support", "Sales", "Maintenance"} == set(departments)
    assert "Report a Problem / Access Issue" in topics
    assert priorities == [(1, "Low"), (2, "Normal"), (3, "High"), (4, "Emergency")]
    assert slas == ["Default SLA"]
    assert caught.value.choices == list(statuses)
    assert "the desk offers: Open, Resolved, Closed, Work in Progress, Pending" in str(caught.value)


def test_every_other_operation(recorded: Any) -> None:
    due = datetime(2030, 1, 15, 9, 30, tzinfo=timezone.utc)
    with recorded("agent_operations") as (cassette, make_desk):
        desk = make_desk(agent="admin")
        number = open_ticket(desk, "Monitor flickers")
        results: dict[str, ActionResult] = {
            "team": desk.assign(number, team="level i support"),
            "claim": desk.claim(number),
            "priority": desk.set_priority(number, "High"),
            "priority again": desk.set_priority(number, 3),
            "topic": desk.set_topic(number, "Feedback"),
            "sla": desk.set_sla(number, "Default SLA"),
            "due": desk.set_due_date(number, due),
            "transfer": desk.transfer(number, "Maintenance", comment="Hardware"),
            "transfer again": desk.transfer(number, "maintenance"),
            "note": desk.add_note(number, "Ordered a cable", title="Parts"),
            "answered": desk.mark_answered(number),
            "answered again": desk.mark_answered(number),
            "release": desk.release(number),
            "release again": desk.release(number),
        }
    changed = {name: r.changed for name, r in results.items()}
    assert changed == {
        "team": True,
        "claim": True,
        "priority": True,
        "priority again": False,
        "topic": True,
        "sla": True,
        "due": True,
        "transfer": True,
        "transfer again": False,
        "note": True,
        "answered": True,
        "answered again": False,
        "release": True,
        "release again": False,
    }
    assert results["priority"].message == "Priority Level updated successfully"
    assert "already" in results["transfer again"].message
    sent = "\n".join(bodies(cassette))
    assert "duedate=2030-01-15T09%3A30%3A00%2B00%3A00" in sent
    assert "priority=3" in sent and "topic_id=2" in sent and "dept=3" in sent


def test_view_only_agent_is_refused_but_may_add_notes(recorded: Any) -> None:
    with recorded("agent_view_only") as (_, make_desk):
        number = open_ticket(make_desk())
        viewer = make_desk(agent="viewer")
        with pytest.raises(PermissionDenied, match="resolve/close"):
            viewer.set_status(number, "Closed")
        with pytest.raises(PermissionDenied) as assign:
            viewer.assign(number, agent="Ada Admin")
        with pytest.raises(PermissionDenied, match="Action denied"):
            viewer.reply(number, "Hello")
        note = viewer.add_note(number, "Looked at it")
        viewer.close()
    assert assign.value.status_code == 403
    assert note.changed


def test_lock_held_by_another_agent(recorded: Any) -> None:
    with recorded("agent_locked") as (_, make_desk):
        admin, viewer = make_desk(agent="admin"), make_desk(agent="viewer")
        number = open_ticket(admin)
        lock_id, _ = viewer._lock(viewer.ticket_id(number))
        with pytest.raises(TicketLocked, match="Currently locked by") as caught:
            admin.add_note(number, "Me too")
        viewer._unlock(lock_id)
        after = admin.add_note(number, "Now it works")
    assert "Vera Viewer" in str(caught.value)
    assert after.changed


def test_session_expired_mid_sequence_logs_in_again(recorded: Any) -> None:
    with recorded("agent_session_expired") as (cassette, make_desk):
        desk = make_desk(agent="admin")
        number = open_ticket(desk)
        first = desk.set_status(number, "Work in Progress")
        # Another tab logs this agent out on the desk: the next ajax call gets a real 403.
        desk._transport.request("GET", desk.staff.scp + "logout.php")
        second = desk.set_priority(number, "Low")
    assert first.changed and second.changed
    assert desk.staff.logins == 2
    refused = [r for r in cassette.responses if r["status"]["code"] == 403]
    assert len(refused) == 1
    text = refused[0]["body"]["string"]
    assert (text.decode() if isinstance(text, bytes) else text).startswith("Must login")


def test_unknown_ticket(recorded: Any) -> None:
    with recorded("agent_unknown_ticket") as (_, make_desk):
        desk = make_desk(agent="admin")
        # Never seen: its page by number shows "ticket: Unknown or invalid number."
        with pytest.raises(TicketNotFound, match=r"#999999 .*: ticket: Unknown or invalid number"):
            desk.set_status("999999", "Open")
        # Remembered from elsewhere, but gone: the action's 404 drops the id.
        desk.remember_ticket_ids({"999998": 999998})
        with pytest.raises(TicketNotFound):
            desk.set_status("999998", "Open")
    assert desk.ticket_ids() == {}


@pytest.mark.parametrize(
    ("desk_name", "cassette_name"),
    [("v118", "agent_wrong_password"), ("v117", "agent_v117_wrong_password")],
)
def test_wrong_password(recorded: Any, desk_name: str, cassette_name: str) -> None:
    with recorded(cassette_name) as (_, make_desk), pytest.raises(LoginFailed) as caught:
        make_desk(desk=desk_name, agent="admin", password="Not-The-Password-9").statuses()
    assert "Access denied" in str(caught.value)


def test_v117_desk_works_the_same(recorded: Any) -> None:
    with recorded("agent_v117_lifecycle") as (cassette, make_desk):
        desk = make_desk(desk="v117", agent="admin")
        number = open_ticket(desk)
        steps = [
            desk.assign(number, agent="Ada Admin"),
            desk.reply(number, "On it", status="Work in Progress"),
            desk.set_status(number, "Pending"),
            desk.set_status(number, "pending"),
        ]
        ticket = desk.get_ticket(number)
        listed = [r for r in desk.list_tickets(1) if r.number == number]
        steps.append(desk.set_status(number, "Closed"))
        with pytest.raises(TicketNotFound, match="Unknown or invalid number"):
            desk.get_ticket("999999")
    assert [s.changed for s in steps] == [True, True, True, False, True]
    # 1.17.2 opens ticket pages by number too; the number was never looked up.
    pages = [r.query for r in cassette.requests if r.path == "/scp/tickets.php"]
    assert [("number", number)] in pages and [("number", "999999")] in pages
    assert not [r for r in cassette.requests if "number-lookup" in r.path]
    assert 422 in [r["status"]["code"] for r in cassette.responses]  # its login page
    assert (ticket.status, ticket.state, ticket.assigned_agent) == ("Pending", "open", "Ada Admin")
    assert [e.type for e in ticket.thread] == ["message", "response"]
    assert listed and listed[0].status == "Pending" and listed[0].answered


def test_find_tickets(recorded: Any) -> None:
    with recorded("agent_find") as (_, make_desk):
        desk = make_desk(agent="admin")
        number = open_ticket(desk, "Projector bulb")
        by_number = desk.find_tickets(number[:4])
        by_mail = desk.find_tickets("carl@example.com", limit=1)
    assert number in [t.number for t in by_number.tickets]
    assert by_mail.customers and by_mail.customers[0].email == "carl@example.com"


def test_ticket_reads_back_as_sent(recorded: Any, tmp_path: Any) -> None:
    log = tmp_path / "boot.log"
    log.write_text("POST error 0x42\n", encoding="utf-8")
    body = "<p>L'écran reste noir — 屏幕是黑的。</p>"
    with recorded("agent_read_back") as (_, make_desk):
        desk = make_desk(agent="admin")
        number = desk.create_ticket(
            NewTicket(
                name="Zoë Ångström",
                email="zoe@example.com",
                subject="Écran noir / 黑屏",
                message=body,
                html=True,
                attachments=[Attachment.from_path(log)],
            )
        )
        with pytest.warns(StrippedCharactersWarning, match="reply: .* <now>"):
            desk.reply(number, "Try F2 <now>,\nthen reboot.")
        desk.add_note(number, "Known BIOS bug", title="Triage")
        desk.add_customer_message(number, email="zoe@example.com", text="F2 did it, thanks!")
        desk.set_status(number, "Resolved")
        ticket = desk.get_ticket(number)
    assert ticket.number == number
    assert ticket.subject == "Écran noir / 黑屏"
    assert (ticket.status, ticket.state, ticket.closed_by) == ("Resolved", "closed", "Ada Admin")
    assert (ticket.user_name, ticket.user_email) == ("Zoë Ångström", "zoe@example.com")
    # A status change adds a thread note only when it carries a comment.
    assert [e.type for e in ticket.thread] == ["message", "response", "note", "message"]
    first, reply, note, answer = ticket.thread
    assert body in first.body
    assert first.attachments == ("boot.log",)
    # Sent escaped, yet the desk decodes entities before stripping tags: "<now>" is lost.
    assert reply.body == "Try F2 ,<br/> then reboot." and reply.author == "Ada Admin"
    assert (note.title, note.author) == ("Triage", "Ada Admin")
    assert "F2 did it" in answer.body and answer.author == "Zoë Ångström"
    assert [e.id for e in ticket.thread] == sorted(e.id for e in ticket.thread)
    assert all(e.created.utcoffset() == timedelta(0) for e in ticket.thread)
    assert ticket.created == first.created
    assert ticket.last_response == reply.created and ticket.last_message == answer.created
    assert ticket.closed is not None and ticket.closed >= answer.created


def test_list_tickets_reads_a_whole_queue(recorded: Any) -> None:
    with recorded("agent_list_tickets") as (cassette, make_desk):
        desk = make_desk(agent="admin")
        numbers = [open_ticket(desk, f"Queue check {i}") for i in range(3)]
        desk.assign(numbers[0], agent="Ada Admin")
        desk.reply(numbers[0], "Looking into it")
        rows = {r.number: r for r in desk.list_tickets(1)}
    assert set(numbers) <= set(rows)
    first = rows[numbers[0]]
    assert (first.subject, first.agent, first.answered) == ("Queue check 0", "Ada Admin", True)
    assert first.created is not None and first.created.utcoffset() == timedelta(0)
    assert first.sla_due is not None and first.sla_due > first.created
    assert rows[numbers[1]].answered is False and rows[numbers[1]].agent is None
    posted = next(r.body for r in cassette.requests if "/tickets/export/1" in r.path)
    assert b"fields%5B%5D=number&fields%5B%5D=created" in posted


def test_search_tickets_lets_the_desk_narrow_the_listing(recorded: Any) -> None:
    with recorded("agent_search_tickets") as (cassette, make_desk):
        desk = make_desk(agent="admin")
        closed, moved, other = (open_ticket(desk, f"Search check {i}") for i in range(3))
        desk.set_status(closed, "Resolved")
        desk.transfer(moved, "Sales")
        desk.set_topic(moved, "Report a Problem")
        recent = {r.number: r for r in desk.search_tickets(state="closed", updated_since=HOUR)}
        sales = {r.number for r in desk.search_tickets(department="sales", status=["Open", 7])}
        topic = {r.number for r in desk.search_tickets(topic="Report a Problem", state="open")}
    assert closed in recent and not {moved, other} & set(recent)
    assert (recent[closed].status, recent[closed].subject) == ("Resolved", "Search check 0")
    assert all(r.status in ("Resolved", "Closed") for r in recent.values())
    assert moved in sales and not {closed, other} & sales
    assert moved in topic and not {closed, other} & topic
    searches = [r.body for r in cassette.requests if r.path.endswith("/ajax.php/tickets/search")]
    first = parse_qs(searches[0].decode())
    assert first["fields[]"] == ["status__state", "lastupdate"]
    assert first["status__state+includes[]"] == ["closed"]
    assert (first["lastupdate+method"], first["until"], first["int"]) == (
        ["ndaysago"],
        ["60"],
        ["i"],
    )
    assert parse_qs(searches[1].decode())["status__id+includes[]"] == ["1", "7"]
    exports = [r.path for r in cassette.requests if "/tickets/export/" in r.path]
    assert len(exports) == 3 and all("/tickets/export/adhoc," in p for p in exports)


HOUR = timedelta(hours=1)
