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
