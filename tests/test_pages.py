"""Reading staff-panel pages, dialogs and CSV exports (snippets from v1.18.1/v1.17.2 desks)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from osticket_client._agent import search_minutes
from osticket_client._pages import (
    FIXED_EXPORT_ORDER,
    adhoc_search_key,
    csrf_token,
    form_errors,
    login_failure,
    page_error,
    page_notice,
    page_warning,
    parse_assignees,
    parse_choices,
    parse_lock,
    parse_queue_csv,
    parse_statuses,
    parse_thread_events,
    parse_ticket_page,
)
from osticket_client._tickets import Choice

UTC = timezone.utc

# --------------------------------------------------------------------------- ticket page parts

HEAD = """<html><head><title>Ticket #{number}</title>
<meta name="csrf_token" content="CSRF-1" /></head><body><div id="content">"""

# The assign menu an agent with the assign right sees on an open ticket; "Claim" only while
# no agent holds the ticket.
ASSIGN_MENU = """<div id="action-dropdown-assign" class="action-dropdown anchor-right"><ul>
{claim}<li><a class="no-pjax ticket-action" data-redirect="tickets.php"
 href="#tickets/9/assign/agents"><i class="icon-user"></i> Agent</a>
<li><a class="no-pjax ticket-action" data-redirect="tickets.php"
 href="#tickets/9/assign/teams"><i class="icon-group"></i> Team</a></ul></div>"""
CLAIM = """<li><a class="no-pjax ticket-action" data-redirect="tickets.php?id=9"
 href="#tickets/9/claim"><i class="icon-chevron-sign-down"></i> Claim</a>"""

BAR = """<div class="sticky bar"><div class="content">
<div class="pull-right flush-right">{menu}</div>
<div class="flush-left"><h2><a href="tickets.php?id={ticket_id}" title="Reload">
<i class="icon-refresh"></i>
 Ticket #{number}</a></h2></div></div></div>
<div class="clear tixTitle has_bottom_border"><h3>
    Printer on fire    </h3></div>"""

INFO_TOP = """<table class="ticket_info" cellspacing="0" cellpadding="0" width="940"
 border="0"><tr>
<td width="50%"><table border="0" cellspacing="0" cellpadding="4" width="100%">
 <tr><th width="100">Status:</th><td>
  <a class="tickets-action" data-dropdown="#action-dropdown-statuses" href="#statuses">
   {status}                          </a></td></tr>
 <tr><th>Priority:</th><td><a class="inline-edit" href="#tickets/9/field/22/edit">
  <span id="field_22">Normal</span></a></td></tr>
 <tr><th>Department:</th><td><a class="ticket-action" href="#tickets/9/transfer"
  >Support                        </a></td></tr>
 <tr><th>Create Date:</th><td>11/29/26 2:41 PM</td></tr>
</table></td>
<td width="50%" style="vertical-align:top"><table border="0" cellspacing="0" cellpadding="4">
 <tr><th width="100">User:</th><td><a href="#tickets/9/user"><i class="icon-user"></i>
  <span id="user-3-name">Carl Customer</span></a>
  <a href="tickets.php?status=open&amp;a=search&amp;uid=3" title="Related Tickets">(<b>2</b>)</a>
  </td></tr>
 <tr><th>Email:</th><td><span id="user-3-email">carl@example.com</span></td></tr>
 <tr><th>Source:</th><td>{source}</td></tr>
</table></td></tr></table>"""

INFO_BOTTOM = """<table class="ticket_info" cellspacing="0" cellpadding="0" width="940"
 border="0"><tr>
<td width="50%"><table cellspacing="0" cellpadding="4" width="100%" border="0">
 <tr><th width="100">{role}:</th>{role_cell}</tr>
 <tr><th>SLA Plan:</th><td><a class="inline-edit" href="#tickets/9/field/sla/edit">
  <span id="field_sla">Default SLA</span></a></td></tr>
 <tr><th>{date_label}:</th><td>12/2/26 8:00 AM</td></tr>
</table></td>
<td width="50%"><table cellspacing="0" cellpadding="4" width="100%" border="0">
 <tr><th width="100">Help Topic:</th><td><a class="inline-edit" href="#tickets/9/field/topic/edit">
  <span id="field_topic">
                                None                            </span></a></td></tr>
 <tr><th nowrap>Last Message:</th><td>11/29/26 2:41 PM</td></tr>
 <tr><th nowrap>Last Response:</th><td>11/29/26 2:41 PM</td></tr>
</table></td></tr></table>"""

ASSIGN_CELL = """<td><a class="inline-edit" href="#tickets/9/assign">
 <span id="field_assign">
                                {who}</span></a></td>"""
UNASSIGNED_CELL = """<td><a class="inline-edit" href="#tickets/9/assign"><span id="field_assign">
 <span class="faded">&mdash; Unassigned &mdash;</span></span></a></td>"""

# Entries as the page shows them, newest first here (the agent's preference decides).
THREAD = """<div id="ticket_thread" class="tab_content"><div id="thread-items" data-thread-id="9">
<div id="thread-entry-11"><div class="thread-entry note avatar" style="position:relative;">
 <div class="header"><div class="pull-right"><span class="textra light"></span></div>
<b>Ada Admin</b> posted <a name="entry-11" href="#entry-11"><time
 datetime="2026-11-29T14:41:53+00:00" data-toggle="tooltip" title="Sunday">11/29/26 2:41 PM</time
 ></a>
 <span style="max-width:400px" class="faded title truncate">Checked the printer        </span></div>
 <div class="thread-body no-pjax"><div><p>Internal: toner is fine.</p></div>
 <div class="clear"></div></div></div></div>
<div id="thread-entry-10"><div class="thread-entry response avatar" style="position:relative;">
 <div class="header"><div class="pull-right"><span class="textra light">
 <span class="label label-bare"><i class="icon-user"></i></span></span></div>
<b>Ada Admin</b> posted <a name="entry-10" href="#entry-10"><time
 datetime="2026-11-29T14:41:52+00:00" data-toggle="tooltip" title="Sunday">11/29/26 2:41 PM</time
 ></a>
 <span style="max-width:400px" class="faded title truncate">        </span></div>
 <div class="thread-body no-pjax"><div><p>We are <b>on it</b>.</p></div>
 <div class="clear"></div>
 <div class="attachments"><span class="attachment-info"><i class="icon-paperclip"></i>
 <a class="no-pjax truncate filename" href="/file.php?key=KEY-1&amp;signature=SIGNATURE-1&amp;id=18"
 download="answer.pdf" target="_blank">answer.pdf</a><small class="filesize faded">13 bytes</small>
 </span></div></div></div></div>
<div class="thread-event action"><span class="type-icon">
 <i class="faded icon-hand-right"></i></span>
 <span class="faded description"><b>Ada Admin</b> claimed this <time
 datetime="2026-11-29T14:41:50+00:00"
 data-toggle="tooltip" title="Sunday">11/29/26 2:41 PM</time></span></div>
<div class="thread-event action"><span class="type-icon">
 <i class="faded icon-magic"></i></span>
 <span class="faded description">Created by <b>Carl Customer</b> <time
 datetime="2026-11-29T14:41:50+00:00"
 data-toggle="tooltip" title="Sunday">11/29/26 2:41 PM</time></span></div>
<div id="thread-entry-9"><div class="thread-entry message avatar" style="position:relative;">
 <div class="header"><div class="pull-right"></div>
<b>Carl Customer</b> posted <a name="entry-9" href="#entry-9"><time
 datetime="2026-11-29T14:41:50+00:00" data-toggle="tooltip" title="Sunday">11/29/26 2:41 PM</time
 ></a>
 <span style="max-width:400px" class="faded title truncate">Printer on fire        </span></div>
 <div class="thread-body no-pjax"><div><p>The printer is <i>on fire</i>.</p></div>
 <div class="clear"></div>
 <div class="attachments"><span class="attachment-info">
 <a class="no-pjax truncate filename" href="/file.php?key=KEY-2&amp;signature=SIGNATURE-2&amp;id=16"
 download="photo.png" target="_blank">photo.png</a></span><span class="attachment-info">
 <a class="no-pjax truncate filename" href="/file.php?key=KEY-3&amp;signature=SIGNATURE-3&amp;id=17"
 download="log.txt" target="_blank">log.txt</a></span></div></div></div></div>
</div></div>"""

CLOSED_THREAD = """<div id="thread-items" data-thread-id="12">
<div class="thread-event action"><span class="type-icon">
 <i class="faded icon-thumbs-up-alt"></i></span>
 <span class="faded description">Closed by <b>Ada Admin</b> with status of Closed <time
 datetime="2026-11-29T14:42:02+00:00" title="Sunday">11/29/26 2:42 PM</time></span></div></div>"""


def ticket_page(
    *,
    menu: str = "",
    status: str = "Open",
    role: str = "Assigned To",
    role_cell: str = UNASSIGNED_CELL,
    date_label: str = "Due Date",
    source: str = '<a class="inline-edit"><span id="field_source">\n API</span></a>',
    thread: str = THREAD,
    number: str = "201418",
    ticket_id: int = 9,
) -> str:
    """A ticket page put together from the parts above (ticket `number`, internal id)."""
    return (
        HEAD.format(number=number)
        + BAR.format(menu=menu, number=number, ticket_id=ticket_id)
        + INFO_TOP.format(status=status, source=source)
        + "<br>"
        + INFO_BOTTOM.format(role=role, role_cell=role_cell, date_label=date_label)
        + thread
        + "</div></body></html>"
    )


# --------------------------------------------------------------------------- tokens and banners


def test_csrf_token_from_the_hidden_input() -> None:
    html = """<form id="reply" action="tickets.php?id=8#reply" method="post">
    <input type="hidden" name="__CSRFToken__" value="CSRF-1" />
    <input type="hidden" name="id" value="8"></form>"""
    assert csrf_token(html) == "CSRF-1"


def test_csrf_token_from_the_meta_tag() -> None:
    assert csrf_token('<head><meta name="csrf_token" content="CSRF-1" /></head>') == "CSRF-1"


def test_csrf_token_missing() -> None:
    assert csrf_token("<p>Must login: Authentication Required</p>") is None


def test_page_error_takes_the_banner_not_the_hidden_copies() -> None:
    html = """<div id="content">
    <div id="msg_error">Permission Denied. You are not allowed to flag tickets overdue</div>
    <div><div id="msg_notice" style="display: none;"><span id="msg-txt"></span></div></div>
    <p class="confirm-action" style="display:none;" id="changeuser-confirm">
    <span id="msg_warning" style="display:block;vertical-align:top">
    <b>Carl Customer</b> &lt;carl@example.com&gt; will no longer have access to the ticket
    </span></p>
    </div>"""
    assert page_error(html) == "Permission Denied. You are not allowed to flag tickets overdue"
    assert page_notice(html) is None
    assert page_warning(html) is None


def test_page_notice_after_a_status_change() -> None:
    html = """<div id="content">
    <div id="msg_notice">Ticket #148735 status changed to Closed</div>
    <div><div id="msg_notice" style="display: none;"><span id="msg-txt">Ticket #148735 status
    changed to Closed</span></div></div></div>"""
    assert page_notice(html) == "Ticket #148735 status changed to Closed"
    assert page_error(html) is None


def test_page_warning_is_separate_from_errors() -> None:
    html = """<div id="content"><div id="msg_warning">&nbsp;&nbsp;<span class="Icon assignedTicket"
    >Ticket is assigned to Level I Support</span></div></div>"""
    assert page_warning(html) == "Ticket is assigned to Level I Support"
    assert page_error(html) is None


def test_dialog_error_and_field_errors() -> None:
    html = """<h3 class="drag-handle">Ticket #201418: Assign to an Agent</h3>
<p id="msg_error">Unable to assign ticket</p><div style="display:block; margin:5px;">
<form class="mass-action" method="post" name="assign" id="assign" action="#tickets/9/assign/agents">
 <div class="field-label required"><label for="14a7c10a9ce13a37">
            Assignee:
              <span class="error">*</span></label></div>
 <div id="field_14a7c10a9ce13a37_error">
   <div class="error">Ticket already assigned to the agent</div></div>
 <font class="error">*&nbsp;</font></form></div>"""
    assert page_error(html) == "Unable to assign ticket"
    assert form_errors(html) == ["Ticket already assigned to the agent"]


def test_status_dialog_error() -> None:
    html = '<hr/>\n<p id="msg_error">Ticket already set to Open status</p><div id="ticket-status">'
    assert page_error(html) == "Ticket already set to Open status"
    assert form_errors(html) == []


# --------------------------------------------------------------------------- login


LOGIN = """<div id="loginBox"><h3 id="login-message">{message}</h3>
    <form action="login.php" method="post" id="login" onsubmit="attemptLoginAjax(event)">
        <input type="hidden" name="__CSRFToken__" value="CSRF-1" />
        <input type="hidden" name="do" value="scplogin">
        <h3 style="display:inline"><a id="reset-link" class="" href="pwreset.php">Forgot My
        Password</a></h3></form></div>"""


@pytest.mark.parametrize(
    "message",
    ["Access denied", "Maximum failed login attempts reached", "Valid CSRF Token Required"],
)
def test_login_failure_reason(message: str) -> None:
    assert login_failure(LOGIN.format(message=message)) == message


def test_login_failure_on_another_page() -> None:
    assert login_failure('<div id="content"><h3 id="login-message">x</h3></div>') is None


# --------------------------------------------------------------------------- lock


def test_lock_granted() -> None:
    lock = parse_lock('{"id":1,"time":180,"code":"LOCK-1"}')
    assert (lock.id, lock.code, lock.seconds, lock.acquired) == (1, "LOCK-1", 180, True)


def test_lock_held_by_another_agent() -> None:
    text = '{"id":0,"retry":false,"msg":"Currently locked by <img class=\\"avatar\\"/>Ada Admin"}'
    lock = parse_lock(text)
    assert not lock.acquired
    assert lock.message == "Currently locked by Ada Admin"
    assert lock.retry is False


def test_lock_retry_later() -> None:
    lock = parse_lock('{"id":0,"retry":true}')
    assert not lock.acquired and lock.retry and lock.message is None


@pytest.mark.parametrize("text", ["", "<html>Access denied</html>", "[1, 2]", '{"id": "x"}'])
def test_lock_garbage(text: str) -> None:
    with pytest.raises(ValueError, match="lock answer"):
        parse_lock(text)


# --------------------------------------------------------------------------- dialogs

STATUS_DIALOG = """<h3 class="drag-handle">Close Ticket #280108</h3>
<div id="ticket-status" style="display:block; margin:5px;">
    <form method="post" name="status" id="status" action="#tickets/8/status">
        <strong>Status:&nbsp;</strong>
        <select name="status_id">
        <option value="2" >Resolved</option><option value="3" selected="selected">Closed</option>
        </select><font class="error">*&nbsp;</font>
        <textarea name="comments" id="comments"></textarea></form></div>"""

TRANSFER_DIALOG = """<h3 class="drag-handle">Ticket #280108: Transfer</h3>
<form method="post" name="transfer" id="transfer" action="#tickets/8/transfer">
  <div class="flush-left custom-field" id="field_151fce02438c1e77" >
    <div class="field-label required"><label for="151fce02438c1e77">
        Department:<span class="error">*</span></label></div>
    <div><select name="151fce02438c1e77[]" id="_151fce02438c1e77" data-placeholder="Select">
        <option value="">&mdash; Select &mdash;</option>
        <option value="3" >Maintenance</option>
        <option value="2" >Sales</option>
        <option value="1" selected="selected">Support</option>
    </select></div></div>
  <input id="_e383c4a6e4fad6af" type="checkbox" name="_field-checkboxes[]"  value="2"/>
  <textarea id="_b5a117187614505a" name="b5a117187614505a"></textarea></form>"""

PRIORITY_DIALOG = """<h3 class="drag-handle">Ticket #280108: Update Priority Level</h3>
<form method="post" name="inline_update" id="inline_update" action="#tickets/8/field/22/edit">
  <div class="field-label "><label for="e6355af6d37bb9">Priority Level:</label></div>
  <select name="e6355af6d37bb9[]" id="_e6355af6d37bb9" data-placeholder="Select">
    <option value="">&mdash; Select &mdash;</option>
    <option value="1" >Low</option>
    <option value="2" selected="selected">Normal</option>
    <option value="3" >High</option>
    <option value="4" >Emergency</option>
  </select></form>"""

SLA_DIALOG = """<form method="post" name="inline_update" id="inline_update"
    action="#tickets/8/field/sla/edit">
  <select name="36718f624b1543[]" id="_36718f624b1543">
    <option value="1" selected="selected">Default SLA</option></select></form>"""

TOPIC_DIALOG = """<form method="post" name="inline_update" id="inline_update"
    action="#tickets/8/field/topic/edit">
  <select name="19e9d5ca151aad[]" id="_19e9d5ca151aad">
    <option value="">&mdash; Select &mdash;</option>
    <option value="2" >Feedback</option>
    <option value="1" >General Inquiry</option>
    <option value="11" >Report a Problem / Access Issue</option></select></form>"""

ASSIGN_DIALOG = """<h3 class="drag-handle">Ticket #280108: Assign to a Team</h3>
<form class="mass-action" method="post" name="assign" id="assign" action="#tickets/8/assign">
  <select name="151fce02438c1e77[]" id="_151fce02438c1e77" data-placeholder="Select">
    <option value="">&mdash; Select &mdash;</option>
    <optgroup label="Agents">            <option value="s1" >Ada Admin</option>
    <option value="s3" >Lim Ited</option>
    <option value="s2" >Vera Viewer</option>
    </optgroup>            <optgroup label="Teams">
    <option value="t1" >Level I Support</option>
    </optgroup>        </select></form>"""

# v1.17.2: a team without members is not offered at all.
NO_TEAMS_DIALOG = """<form class="mass-action" method="post" name="assign" id="assign"
    action="#tickets/2/assign/teams">
  <select name="12f35e54150faca4[]" id="_12f35e54150faca4" data-placeholder="Select a Team">
    <option value="">&mdash; Select a Team &mdash;</option>
  </select></form>"""


def test_status_choices_by_plain_name() -> None:
    assert parse_choices(STATUS_DIALOG, "status_id") == [
        Choice(id=2, name="Resolved"),
        Choice(id=3, name="Closed"),
    ]


def test_statuses_carry_the_state_asked_for() -> None:
    assert [s.state for s in parse_statuses(STATUS_DIALOG, "closed")] == ["closed", "closed"]


def test_single_status_state_is_a_hidden_input() -> None:
    html = """<form method="post" name="status" id="status" action="#tickets/8/status">
    <span><input type='hidden' name='status_id' value=5 /></span></form>"""
    assert parse_choices(html, "status_id") == [Choice(id=5, name="")]


@pytest.mark.parametrize(
    ("html", "field", "expected"),
    [
        (TRANSFER_DIALOG, "dept", [(3, "Maintenance"), (2, "Sales"), (1, "Support")]),
        (PRIORITY_DIALOG, "priority", [(1, "Low"), (2, "Normal"), (3, "High"), (4, "Emergency")]),
        (SLA_DIALOG, "sla", [(1, "Default SLA")]),
        (
            TOPIC_DIALOG,
            "topic",
            [(2, "Feedback"), (1, "General Inquiry"), (11, "Report a Problem / Access Issue")],
        ),
    ],
)
def test_choices_of_hashed_selects(html: str, field: str, expected: list[tuple[int, str]]) -> None:
    assert [(c.id, c.name) for c in parse_choices(html, field)] == expected


def test_choices_by_plain_name_with_brackets() -> None:
    html = '<select name="dept[]"><option value="0">-</option><option value="2">Sales</option>'
    assert parse_choices(html, "dept") == [Choice(id=2, name="Sales")]


def test_hashed_select_of_another_dialog_is_refused() -> None:
    with pytest.raises(ValueError, match="not a 'dept' dialog"):
        parse_choices(PRIORITY_DIALOG, "dept")


def test_assignee_values_need_parse_assignees() -> None:
    with pytest.raises(ValueError, match="parse_assignees"):
        parse_choices(ASSIGN_DIALOG, "assignee")


def test_no_select_at_all() -> None:
    with pytest.raises(ValueError, match="no <select> for 'dept'"):
        parse_choices("<p id='msg_error'>Ticket is not assigned!</p>", "dept")


def test_assignees_split_into_agents_and_teams() -> None:
    agents, teams = parse_assignees(ASSIGN_DIALOG)
    assert agents == [
        Choice(id=1, name="Ada Admin"),
        Choice(id=3, name="Lim Ited"),
        Choice(id=2, name="Vera Viewer"),
    ]
    assert teams == [Choice(id=1, name="Level I Support")]


def test_assignees_when_no_team_is_available() -> None:
    assert parse_assignees(NO_TEAMS_DIALOG) == ([], [])


def test_assignees_refuse_other_values() -> None:
    with pytest.raises(ValueError, match="neither s<id> nor t<id>"):
        parse_assignees(TRANSFER_DIALOG.replace("/transfer", "/assign/agents"))


# --------------------------------------------------------------------------- ticket page


def test_open_ticket_assigned_to_an_agent() -> None:
    html = ticket_page(
        menu=ASSIGN_MENU.format(claim=""), role_cell=ASSIGN_CELL.format(who="Ada Admin")
    )
    ticket = parse_ticket_page(html)
    assert (ticket.number, ticket.ticket_id, ticket.subject) == ("201418", 9, "Printer on fire")
    assert (ticket.status, ticket.state, ticket.is_closed) == ("Open", "open", False)
    assert (ticket.priority, ticket.department, ticket.source) == ("Normal", "Support", "API")
    assert (ticket.user_name, ticket.user_email) == ("Carl Customer", "carl@example.com")
    assert (ticket.sla_plan, ticket.help_topic) == ("Default SLA", None)
    assert (ticket.assigned_agent, ticket.assigned_team) == ("Ada Admin", None)
    assert ticket.assigned_to == "Ada Admin"
    assert ticket.closed_by is None


def test_ticket_dates_are_not_read_from_display_text() -> None:
    ticket = parse_ticket_page(ticket_page())
    assert ticket.created is None
    assert ticket.due_date is None
    assert ticket.last_message is None
    assert ticket.last_response is None
    assert ticket.closed is None


def test_open_ticket_assigned_to_a_team_can_be_claimed() -> None:
    menu = ASSIGN_MENU.format(claim=CLAIM)
    html = ticket_page(menu=menu, role_cell=ASSIGN_CELL.format(who="Level I Support"))
    ticket = parse_ticket_page(html)
    assert (ticket.assigned_agent, ticket.assigned_team) == (None, "Level I Support")


def test_open_ticket_assigned_to_agent_and_team() -> None:
    cell = ASSIGN_CELL.format(who="Vera Viewer/Level I Support")
    ticket = parse_ticket_page(ticket_page(menu=ASSIGN_MENU.format(claim=""), role_cell=cell))
    assert (ticket.assigned_agent, ticket.assigned_team) == ("Vera Viewer", "Level I Support")
    assert ticket.assigned_to == "Vera Viewer/Level I Support"


def test_team_name_with_a_slash_is_kept_whole_when_known() -> None:
    cell = ASSIGN_CELL.format(who="Ada Admin/Tier 1/Tier 2")
    html = ticket_page(menu=ASSIGN_MENU.format(claim=""), role_cell=cell)
    ticket = parse_ticket_page(html, teams=["Tier 1/Tier 2"])
    assert (ticket.assigned_agent, ticket.assigned_team) == ("Ada Admin", "Tier 1/Tier 2")


def test_view_only_agent_cannot_tell_a_single_name_apart() -> None:
    # A view-only agent's page has no assign menu and plain cells.
    html = ticket_page(
        role_cell="<td>\n                      Level I Support                    </td>"
    )
    ticket = parse_ticket_page(html)
    assert ticket.assigned_to == "Level I Support"
    assert (ticket.assigned_agent, ticket.assigned_team) == (None, None)
    ticket = parse_ticket_page(html, teams=["Level I Support"])
    assert (ticket.assigned_agent, ticket.assigned_team) == (None, "Level I Support")
    ticket = parse_ticket_page(
        html.replace("Level I Support", "Ada Admin"), teams=["Level I Support"]
    )
    assert (ticket.assigned_agent, ticket.assigned_team) == ("Ada Admin", None)


def test_unassigned_open_ticket() -> None:
    ticket = parse_ticket_page(ticket_page())
    assert (ticket.assigned_agent, ticket.assigned_team, ticket.assigned_to) == (None, None, None)
    assert ticket.state == "open"


def test_closed_ticket_shows_who_closed_it() -> None:
    html = ticket_page(
        status="Closed",
        role="Closed By",
        role_cell="<td>\n                        Ada Admin                    </td>",
        date_label="Close Date",
        thread=CLOSED_THREAD,
    )
    ticket = parse_ticket_page(html)
    assert (ticket.status, ticket.state, ticket.is_closed) == ("Closed", "closed", True)
    assert ticket.closed_by == "Ada Admin"
    assert (ticket.assigned_agent, ticket.assigned_to) == (None, None)
    assert ticket.closed is None
    assert ticket.thread == ()


def test_closed_by_unknown() -> None:
    cell = '<td><span class="faded">&mdash; Unknown &mdash;</span></td>'
    html = ticket_page(status="Resolved", role="Closed By", role_cell=cell, date_label="Close Date")
    assert parse_ticket_page(html).closed_by is None


def test_state_unknown_when_labels_are_translated_and_not_editable() -> None:
    html = ticket_page(role="Fermé par", role_cell="<td>Ada Admin</td>", date_label="Date")
    ticket = parse_ticket_page(html)
    assert ticket.state is None
    assert (ticket.closed_by, ticket.assigned_to) == (None, None)


def test_web_source_without_the_address() -> None:
    source = 'Web&nbsp;&nbsp; <span class="faded">(192.0.2.7)</span>'
    assert parse_ticket_page(ticket_page(source=source)).source == "Web"


def test_thread_sorted_by_entry_id() -> None:
    thread = parse_ticket_page(ticket_page()).thread
    assert [(e.id, e.type, e.author) for e in thread] == [
        (9, "message", "Carl Customer"),
        (10, "response", "Ada Admin"),
        (11, "note", "Ada Admin"),
    ]
    assert [e.title for e in thread] == ["Printer on fire", None, "Checked the printer"]
    assert thread[1].body == "<p>We are <b>on it</b>.</p>"


def test_thread_attachments() -> None:
    thread = parse_ticket_page(ticket_page()).thread
    assert [e.attachments for e in thread] == [("photo.png", "log.txt"), ("answer.pdf",), ()]


def test_thread_times_are_aware_utc() -> None:
    thread = parse_ticket_page(ticket_page()).thread
    assert thread[0].created == datetime(2026, 11, 29, 14, 41, 50, tzinfo=UTC)
    assert all(e.created.utcoffset() == timedelta(0) for e in thread)


def test_thread_time_in_another_offset_is_converted() -> None:
    html = ticket_page().replace("2026-11-29T14:41:52+00:00", "2026-11-29T15:41:52+01:00")
    assert parse_ticket_page(html).thread[1].created == datetime(
        2026, 11, 29, 14, 41, 52, tzinfo=UTC
    )


def test_thread_time_without_offset_is_refused() -> None:
    html = ticket_page().replace("2026-11-29T14:41:52+00:00", "2026-11-29 14:41:52")
    with pytest.raises(ValueError, match="thread entry 10"):
        parse_ticket_page(html)


def test_not_a_ticket_page() -> None:
    with pytest.raises(ValueError, match="not a ticket page"):
        parse_ticket_page(LOGIN.format(message="Authentication Required"))


def test_thread_events_give_created_and_closed_times() -> None:
    events = parse_thread_events(ticket_page() + CLOSED_THREAD)
    assert [(e.kind, e.when) for e in events] == [
        ("assigned", datetime(2026, 11, 29, 14, 41, 50, tzinfo=UTC)),
        ("created", datetime(2026, 11, 29, 14, 41, 50, tzinfo=UTC)),
        ("closed", datetime(2026, 11, 29, 14, 42, 2, tzinfo=UTC)),
    ]
    assert events[1].text == "Created by Carl Customer 11/29/26 2:41 PM"
    assert [(e.actor, e.value) for e in events] == [
        ("Ada Admin", None),
        ("Carl Customer", None),
        ("Ada Admin", None),
    ]


def test_thread_events_name_the_status_or_assignee_they_set() -> None:
    rows = (
        (
            "pencil",
            "<b><img alt='Avatar' src='x'>Ada Admin</b> changed the status to"
            " <strong>Pending</strong>",
        ),
        ("hand-right", "<b>Ada Admin</b> assigned this to <strong>Lim Ited</strong>"),
    )
    html = "".join(
        f'<div class="thread-event action"><span class="type-icon"><i class="faded icon-{icon}">'
        f'</i></span><span class="faded description">{text} <time datetime="2026-11-02T12:00:00'
        '+00:00">11/2/26</time></span></div>'
        for icon, text in rows
    )
    assert [(e.kind, e.actor, e.value) for e in parse_thread_events(html)] == [
        ("edited", "Ada Admin", "Pending"),
        ("assigned", "Ada Admin", "Lim Ited"),
    ]


# --------------------------------------------------------------------------- CSV export

BOM = "\ufeff"
ALL_HEADER = (
    '"Ticket Number","Date Created",Subject,From,"From Email",Priority,Department,"Help Topic",'
    'Source,"Current Status","Last Updated","SLA Due Date","SLA Plan","Due Date","Closed Date",'
    'Overdue,Merged,Linked,Answered,"Agent Assigned","Team Assigned","Thread Count",'
    '"Reopen Count","Attachment Count","Task Count"\n'
)
ALL_ROWS = (
    '582199,"2026-11-29 14:42:02","Both ticket","Carl Customer",carl@example.com,Normal,Support,,'
    'API,Open,"2026-11-29 14:42:02","2026-12-02 08:00:00","Default SLA",,,No,No,No,No,'
    '"Vera Viewer","Level I Support",1,,,\n'
    '201418,"2026-11-29 14:41:50","Printer on fire","Carl Customer",carl@example.com,Normal,'
    'Support,,API,Open,"2026-11-29 14:41:53","2026-12-02 08:00:00","Default SLA",,,No,No,No,No,'
    '"Ada Admin",,4,,4,\n'
)


def test_csv_all_columns() -> None:
    rows = parse_queue_csv(BOM + ALL_HEADER + ALL_ROWS, UTC)
    assert [r.number for r in rows] == ["582199", "201418"]
    both = rows[0]
    assert both.subject == "Both ticket"
    assert (both.from_name, both.from_email) == ("Carl Customer", "carl@example.com")
    assert (both.priority, both.department, both.help_topic) == ("Normal", "Support", None)
    assert (both.source, both.status, both.sla_plan) == ("API", "Open", "Default SLA")
    assert both.created == datetime(2026, 11, 29, 14, 42, 2, tzinfo=UTC)
    assert both.sla_due == datetime(2026, 12, 2, 8, 0, tzinfo=UTC)
    assert (both.due_date, both.closed) == (None, None)
    assert (both.overdue, both.answered) == (False, False)
    assert (both.agent, both.team) == ("Vera Viewer", "Level I Support")
    assert (both.thread_count, both.reopen_count, both.attachment_count) == (1, 0, 0)
    assert (rows[1].agent, rows[1].team, rows[1].attachment_count) == ("Ada Admin", None, 4)


def test_csv_subset_with_semicolons_in_the_fixed_order() -> None:
    # Asked in this order; the desk wrote them in FIXED_EXPORT_ORDER.
    fields = ["task_count", "isanswered", "staff_id", "created", "number", "cdata__subject"]
    text = (
        BOM + '"Ticket Number";"Date Created";Subject;Answered;"Agent Assigned";"Task Count"\n'
        '582199;"2026-11-29 14:42:02";"Both ticket";No;"Vera Viewer";\n'
        '380871;"2026-11-29 14:36:09";"Printer on fire";Yes;;2\n'
    )
    rows = parse_queue_csv(text, UTC, fields)
    assert [(r.number, r.subject, r.answered, r.agent, r.task_count) for r in rows] == [
        ("582199", "Both ticket", False, "Vera Viewer", 0),
        ("380871", "Printer on fire", True, None, 2),
    ]
    assert rows[0].status is None and rows[0].thread_count is None


def test_csv_tab_delimited_closed_queue() -> None:
    text = (
        BOM + '"Ticket Number"\t"Date Created"\t"Current Status"\t"Closed Date"\tAnswered\n'
        '148735\t"2026-11-29 14:42:02"\tClosed\t"2026-11-29 14:42:02"\tNo\n'
    )
    (row,) = parse_queue_csv(text, UTC, ["number", "created", "status__id", "closed", "isanswered"])
    assert (row.status, row.closed) == ("Closed", datetime(2026, 11, 29, 14, 42, 2, tzinfo=UTC))


def test_csv_translated_headings_and_words() -> None:
    text = BOM + '"Numéro du ticket";"En retard";Répondu\n446201;Non;Oui\n'
    (row,) = parse_queue_csv(
        text, UTC, ["number", "isoverdue", "isanswered"], booleans={"Oui": True, "Non": False}
    )
    assert (row.number, row.overdue, row.answered) == ("446201", False, True)


def test_csv_dates_are_database_local_time() -> None:
    text = BOM + '"Ticket Number","Date Created"\n582199,"2026-07-01 14:00:00"\n'
    (row,) = parse_queue_csv(text, ZoneInfo("Europe/Paris"), ["number", "created"])
    assert row.created == datetime(2026, 7, 1, 12, 0, tzinfo=UTC)
    assert row.created is not None and row.created.tzinfo == UTC


def test_csv_header_only() -> None:
    text = BOM + '"Ticket Number","Date Created",Overdue\n'
    assert parse_queue_csv(text, UTC, ["number", "created", "isoverdue"]) == []


def test_csv_other_delimiter_when_told() -> None:
    text = BOM + '"Ticket Number"|Subject\n201418|"Printer on fire, again"\n'
    (row,) = parse_queue_csv(text, UTC, ["number", "cdata__subject"], delimiter="|")
    assert (row.number, row.subject) == ("201418", "Printer on fire, again")


def test_csv_bad_date_names_row_and_column() -> None:
    text = BOM + '"Ticket Number","Date Created"\n582199,"2026-11-29 14:42:02"\n201418,29/11/2026\n'
    with pytest.raises(ValueError) as error:
        parse_queue_csv(text, UTC, ["number", "created"])
    message = str(error.value)
    assert "row 2" in message and "201418" in message
    assert "'created'" in message and "'Date Created'" in message and "29/11/2026" in message


def test_csv_unknown_boolean_word() -> None:
    text = BOM + '"Ticket Number",Answered\n582199,Ja\n'
    with pytest.raises(ValueError, match=r"row 1 .*'isanswered'.*'Ja'"):
        parse_queue_csv(text, UTC, ["number", "isanswered"])


def test_csv_column_count_mismatch() -> None:
    text = BOM + '"Ticket Number",Subject\n201418,"Printer on fire"\n'
    with pytest.raises(ValueError, match="header has 2 columns, expected 3"):
        parse_queue_csv(text, UTC, ["number", "cdata__subject", "created"])


def test_csv_columns_not_in_the_standard_order() -> None:
    text = BOM + 'Subject,"Ticket Number"\n"Printer on fire",201418\n'
    with pytest.raises(ValueError, match="not in the standard order"):
        parse_queue_csv(text, UTC, ["number", "cdata__subject"])


def test_csv_needs_the_number() -> None:
    with pytest.raises(ValueError, match="'number'"):
        parse_queue_csv(BOM + "Subject\n", UTC, ["cdata__subject"])


def test_csv_empty_body() -> None:
    with pytest.raises(ValueError, match="no header row"):
        parse_queue_csv(BOM, UTC, ["number"])


def test_fixed_export_order_is_complete() -> None:
    assert len(FIXED_EXPORT_ORDER) == 25 == len(set(FIXED_EXPORT_ORDER))
    assert FIXED_EXPORT_ORDER[:3] == ("number", "created", "cdata__subject")
    assert FIXED_EXPORT_ORDER[-4:] == (
        "thread_count",
        "reopen_count",
        "attachment_count",
        "task_count",
    )


# --------------------------------------------------------------------------- advanced search


def test_adhoc_search_key_from_the_export_link() -> None:
    page = """<div class="pull-right"><a href="#tickets/export/adhoc,pdXBTnfSg0"
        id="queue-export" class="no-pjax export">Export</a></div>"""
    assert adhoc_search_key(page) == "adhoc,pdXBTnfSg0"
    assert adhoc_search_key('<a href="#tickets/export/1" id="queue-export">') is None


NOW = datetime(2026, 12, 2, 16, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize(
    ("since", "expected"),
    [
        (timedelta(minutes=3), (3, None)),
        (timedelta(seconds=61), (2, None)),
        (timedelta(days=1), (1440, None)),
        (NOW - timedelta(minutes=10), (15, NOW - timedelta(minutes=10))),  # 5 for clock skew
        (NOW - timedelta(seconds=30), (6, NOW - timedelta(seconds=30))),
    ],
)
def test_updated_since_in_minutes_of_the_desk_clock(
    since: datetime | timedelta, expected: tuple[int, datetime | None]
) -> None:
    assert search_minutes(since, NOW) == expected


@pytest.mark.parametrize(
    ("since", "message"),
    [
        (datetime(2026, 12, 1), "timezone-aware"),
        (NOW + timedelta(minutes=1), "in the future"),
        (timedelta(0), "positive duration"),
    ],
)
def test_updated_since_refused(since: datetime | timedelta, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        search_minutes(since, NOW)
