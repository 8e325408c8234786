"""What each reply command does to the timeline, and who may give it (pure: no store, no server)."""

from __future__ import annotations

import pytest
from policytools import TZ, t

from daemon.commands.apply import Replied, apply, authorize
from daemon.commands.grammar import read_commands
from daemon.config import parse
from daemon.model import Case, Link

CONFIG = parse(
    {
        "institutions": [
            {"code": "WWU", "domains": ["wwu.edu"]},
            {"code": "UW", "domains": ["uw.edu"]},
        ],
        "program_managers": [
            {"name": "Maria Lopez", "email": "mlopez@orbiscascade.org", "areas": ["fulfillment"]}
        ],
    }
)
NOW = t("2026-10-07 12:00")
ONE = Case("10712345", owner="jdoe@wwu.edu", institution="WWU", state="open", priority="normal")
TWO = Case("10712399", owner="jdoe@wwu.edu", institution="WWU", state="open", priority="high")
REMINDER = Replied("<casewatch.a@orbiscascade.org>", ("request_update",), ("10712345",))


def run(text, sender="jdoe@wwu.edu", replied=REMINDER, cases=None, **kw):
    reading = read_commands(text, NOW, TZ)
    return apply(reading, replied, cases or {"10712345": ONE}, sender, NOW, "reply-1@wwu.edu", CONFIG, **kw)


@pytest.mark.parametrize(
    ("authority", "sender", "case"),
    [
        ("its owner", "jdoe@wwu.edu", ONE),
        ("its owner", "JDoe@WWU.edu", ONE),
        ("staff of WWU", "colleague@wwu.edu", ONE),
        ("staff of WWU", "colleague@lib.wwu.edu", ONE),
        ("a program manager", "mlopez@orbiscascade.org", ONE),
        (None, "staff@uw.edu", ONE),
        (None, "mallory@example.com", ONE),
        (None, "colleague@wwu.edu", Case("10700009", owner="x@uw.edu", institution="UW")),
    ],
)
def test_who_may_act_on_a_case(authority, sender, case):
    assert authorize(sender, case, CONFIG) == authority


@pytest.mark.parametrize(
    ("text", "kind", "data"),
    [
        pytest.param("done", "update_requested", {}, id="done-on-request-update"),
        pytest.param("commented", "update_requested", {}, id="commented"),
        pytest.param("escalated", "escalation_requested", {}, id="escalated"),
        pytest.param("feedback", "in_case_feedback", {}, id="feedback"),
        pytest.param(
            "snooze 3d",
            "command",
            {"command": "snooze", "until": t("2026-10-10 12:00").isoformat()},
            id="snooze",
        ),
        pytest.param("resume", "command", {"command": "resume"}, id="resume"),
        pytest.param("mute", "command", {"command": "mute"}, id="mute"),
        pytest.param("closed", "case_closed", {"state": "closed"}, id="closed"),
        pytest.param("priority high", "priority_changed", {"priority": "high"}, id="priority"),
        pytest.param(
            "owner kim@wwu.edu",
            "handover",
            {"owner": "kim@wwu.edu", "previous_owner": "jdoe@wwu.edu"},
            id="owner",
        ),
        pytest.param("link 10712399", "command", {"command": "link", "other": "10712399"}, id="link"),
    ],
)
def test_each_command_adds_its_event_and_a_confirmation(text, kind, data):
    applied = run(text)
    [event] = applied.events
    assert (event.case, event.kind, event.actor, event.at) == ("10712345", kind, "member", NOW)
    assert event.message_id == "reply-1@wwu.edu"
    assert {k: v for k, v in event.data.items() if k not in ("via", "by")} == data
    assert event.data["by"] == "jdoe@wwu.edu"
    [line] = applied.done
    assert "10712345" in line
    assert applied.problems == ()


def test_done_means_escalated_on_an_escalation_reminder_and_handled_elsewhere():
    escalate = Replied("<m>", ("escalate",), ("10712345",))
    assert [e.kind for e in run("done", replied=escalate).events] == ["escalation_requested"]
    survey = Replied("<m>", ("survey",), ("10712345",))
    [event] = run("done", replied=survey).events
    assert event.data["command"] == "done"
    assert event.data["action"] == "survey"


def test_link_records_a_link_between_the_cases():
    assert run("link 10712399").links == (Link.of("10712345", "10712399", "linked by reply", NOW),)
    assert run("link 10712345").events == ()


def test_feedback_is_recorded_once_per_case():
    again = run("feedback", feedback_used=frozenset({"10712345"}))
    assert again.events == ()
    assert "once per case" in again.problems[0]


def test_pm_only_commands():
    assert run("agenda").events == ()
    assert "only a program manager" in run("record").problems[0]
    pm = run("agenda\nrecord", sender="mlopez@orbiscascade.org")
    assert [(e.kind, e.actor) for e in pm.events] == [("command", "pm"), ("case_of_record", "pm")]


def test_a_message_about_several_cases_needs_the_number_for_one_case_commands():
    both = Replied("<m>", ("request_update",), ("10712345", "10712399"))
    cases = {"10712345": ONE, "10712399": TWO}
    assert "add the case number" in run("closed", replied=both, cases=cases).problems[0]
    [event] = run("closed 10712399", replied=both, cases=cases).events
    assert event.case == "10712399"
    # A command for all of them applies to each.
    assert [e.case for e in run("snooze 2d", replied=both, cases=cases).events] == ["10712345", "10712399"]


def test_a_case_the_sender_may_not_act_on_is_refused():
    applied = run("closed 10799999")
    assert applied.events == ()
    assert "not one you may act on" in applied.problems[0]


def test_handover_moves_every_open_case_of_the_sender():
    applied = run("handover kim@wwu.edu", own_open_cases=[ONE, TWO])
    assert [(e.case, e.kind, e.data["owner"]) for e in applied.events] == [
        ("10712345", "handover", "kim@wwu.edu"),
        ("10712399", "handover", "kim@wwu.edu"),
    ]
    assert "2 open case(s)" in applied.done[0]
    assert run("handover kim@wwu.edu").problems == ("handover kim@wwu.edu: you own no open case",)


def test_undo_targets_the_senders_last_reply():
    applied = run("undo", last_reply={"10712345": "reply-0@wwu.edu"})
    [event] = applied.events
    assert event.data["command"] == "undo"
    assert event.data["target"] == "reply-0@wwu.edu"
    assert "nothing of yours to undo" in run("undo").problems[0]


@pytest.mark.parametrize(
    ("text", "helping"),
    [("help", True), ("What is this about?", True), ("snooze soon", True), ("done", False), ("", False)],
)
def test_help_is_offered_when_asked_or_when_nothing_was_understood(text, helping):
    assert run(text).help is helping


# --------------------------------------------------------------------------- the confirmation


@pytest.mark.parametrize(
    ("text", "headline"),
    [
        pytest.param("done", "noted the update request on case 10712345", id="done-on-request-update"),
        pytest.param("Done, thanks!", "noted the update request on case 10712345", id="done-thanks"),
        pytest.param("escalated", "noted the escalation on case 10712345", id="escalated"),
        pytest.param("snooze until 12/15", "snoozed case 10712345 until Dec 15", id="snooze-until-a-date"),
        # 3 days after Wednesday 12:00 is Saturday 12:00: not 09:00, so the time is said.
        pytest.param("snooze 3d", "snoozed case 10712345 until Oct 10 12:00", id="snooze-for-days"),
        pytest.param("snooze until 2/1", "snoozed case 10712345 until Feb 1, 2027", id="snooze-next-year"),
        pytest.param("mute", "muted case 10712345", id="mute"),
        pytest.param("resume", "resumed reminders on case 10712345", id="resume"),
        pytest.param("closed", "marked case 10712345 closed", id="closed"),
        pytest.param("priority down", "set case 10712345 to System/Component Down priority", id="priority"),
        pytest.param("owner kim@wwu.edu", "made kim@wwu.edu the owner of case 10712345", id="owner"),
        pytest.param("link 10712399", "linked case 10712345 to case 10712399", id="link"),
        # Two commands: both, in the order given.
        pytest.param(
            "done\nsnooze until 12/15",
            "noted the update request on case 10712345; snoozed case 10712345 until Dec 15",
            id="two-commands",
        ),
        # Too many to list in a subject: how many, on which case, which commands.
        pytest.param(
            "escalated\nsnooze until 12/15\npriority high\nowner kim@wwu.edu",
            "4 commands applied to case 10712345 (escalated, snooze, priority, owner)",
            id="four-commands",
        ),
        # Something refused: the subject says so.
        pytest.param("closed\nrecord", "marked case 10712345 closed; not all of it applied", id="partly"),
        pytest.param("record", "", id="nothing-applied"),
    ],
)
def test_the_confirmation_subject_names_the_command_and_the_case(text, headline):
    assert run(text).headline == headline


def test_a_command_for_several_cases_names_them_once():
    both = Replied("<m>", ("request_update",), ("10712345", "10712399"))
    cases = {"10712345": ONE, "10712399": TWO}
    applied = run("snooze until 12/15", replied=both, cases=cases)
    assert applied.headline == "snoozed cases 10712345, 10712399 until Dec 15"


def test_handover_names_the_cases_handed_over():
    applied = run("handover kim@wwu.edu", own_open_cases=[ONE, TWO])
    assert applied.headline == "handed cases 10712345, 10712399 over to kim@wwu.edu"
    assert applied.copy == ()  # the sender owns them


@pytest.mark.parametrize(
    ("sender", "text", "copy"),
    [
        pytest.param("jdoe@wwu.edu", "escalated", (), id="the-owner-is-not-copied-on-their-own-reply"),
        pytest.param("JDoe@WWU.edu", "escalated", (), id="the-owner-in-capitals"),
        pytest.param("colleague@wwu.edu", "escalated", ("jdoe@wwu.edu",), id="a-colleague-copies-the-owner"),
        pytest.param("mlopez@orbiscascade.org", "agenda", ("jdoe@wwu.edu",), id="a-pm-copies-the-owner"),
        pytest.param(
            "colleague@wwu.edu", "owner kim@wwu.edu", ("jdoe@wwu.edu",), id="a-new-owner-copies-the-previous"
        ),
        pytest.param("colleague@wwu.edu", "record", (), id="nothing-applied-copies-nobody"),
    ],
)
def test_the_owner_is_copied_when_someone_else_acted(sender, text, copy):
    assert run(text, sender=sender).copy == copy


def test_each_owner_is_copied_once():
    both = Replied("<m>", ("request_update",), ("10712345", "10712399"))
    other = Case("10712399", owner="kim@wwu.edu", institution="WWU", state="open", priority="high")
    applied = run(
        "mute", sender="colleague@wwu.edu", replied=both, cases={"10712345": ONE, "10712399": other}
    )
    assert applied.copy == ("jdoe@wwu.edu", "kim@wwu.edu")
    both_mine = run(
        "mute", sender="colleague@wwu.edu", replied=both, cases={"10712345": ONE, "10712399": TWO}
    )
    assert both_mine.copy == ("jdoe@wwu.edu",)
