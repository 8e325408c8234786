"""Each rule of the policy, table-driven: when it falls due, and every case where it must not.

Times are local (America/Los_Angeles). The week of Monday 2026-09-14 has no holiday; business
hours are 08:00-17:00, so "1 business day" is nine working hours.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from policytools import CASE, CONFIG, RAW_CONFIG, ev, kinds, opened, snapshot, t
from policytools import due as due_at_time

from daemon.config import parse
from daemon.model import ACTION_KINDS, Case, Link
from daemon.policy import rules as rules_mod
from daemon.policy.engine import contexts
from daemon.policy.routing import Router, route
from daemon.policy.rules import CASE_RULES

LADDER = ("request_update", "escalate", "pm_assist")


def due(events, at, **kw):
    return due_at_time(events, at, **kw)


def ladder(events, at, **kw):
    return kinds(due(events, at, kinds=LADDER, **kw))


# --------------------------------------------------------------------------- the ladder

MON = "2026-09-14"
OPEN = opened(f"{MON} 10:00")

LADDER_TABLE = [
    # (id, events, at, expected ladder kinds due)
    ("silent-under-2-business-days", [OPEN], "2026-09-16 09:59", []),
    ("silent-2-business-days", [OPEN], "2026-09-16 10:00", ["request_update"]),
    (
        "vendor-comment-restarts-the-clock",
        [OPEN, ev("vendor_comment", "2026-09-15 16:00")],
        "2026-09-16 10:00",
        [],
    ),
    (
        "vendor-comment-then-2-business-days",
        [OPEN, ev("vendor_comment", "2026-09-15 16:00")],
        "2026-09-17 16:00",
        ["request_update"],
    ),
    (
        "status-change-is-a-response",
        [OPEN, ev("status_changed", "2026-09-15 16:00", status="In Progress", state="open")],
        "2026-09-16 10:00",
        [],
    ),
    (
        "acknowledgements-do-not-reset",
        [
            OPEN,
            ev("escalation_acknowledged", "2026-09-15 09:00"),
            ev("pending_customer_reminder", "2026-09-15 11:00"),
            ev("survey_invited", "2026-09-15 12:00"),
            ev("list_mention", "2026-09-15 13:00", actor="vendor", newsletter=True),
        ],
        "2026-09-16 10:00",
        ["request_update"],
    ),
    (
        "list-mail-is-never-a-response",
        [OPEN, ev("list_mention", "2026-09-15 09:00", actor="list")],
        "2026-09-16 10:00",
        ["request_update"],
    ),
    (
        "our-comment-restarts-the-wait",
        [OPEN, ev("member_comment", "2026-09-15 10:00", actor="member")],
        "2026-09-16 10:00",
        [],
    ),
    (
        "update-requested-then-silent-2-more-days",
        [OPEN, ev("update_requested", "2026-09-16 11:00", actor="member")],
        "2026-09-18 11:00",
        ["escalate"],
    ),
    (
        "update-requested-not-yet-2-more-days",
        [OPEN, ev("update_requested", "2026-09-16 11:00", actor="member")],
        "2026-09-18 10:59",
        [],
    ),
    (
        "escalation-without-update-request",
        [OPEN, ev("escalation_requested", "2026-09-15 10:00", actor="member")],
        "2026-09-18 10:00",
        ["pm_assist"],
    ),
    (
        "escalation-not-yet-3-days",
        [OPEN, ev("escalation_requested", "2026-09-15 10:00", actor="member")],
        "2026-09-18 09:59",
        [],
    ),
    (
        "comment-feedback-escalation-all-tried",
        [
            OPEN,
            ev("update_requested", "2026-09-16 11:00", actor="member"),
            ev("in_case_feedback", "2026-09-17 09:00", actor="member"),
            ev("escalation_requested", "2026-09-17 10:00", actor="member"),
        ],
        "2026-09-22 10:00",  # 3 business days after the last of the three (policy.md, refinements)
        ["pm_assist"],
    ),
    (
        "all-tried-still-waits-its-threshold",
        [
            OPEN,
            ev("update_requested", "2026-09-16 11:00", actor="member"),
            ev("in_case_feedback", "2026-09-17 09:00", actor="member"),
            ev("escalation_requested", "2026-09-17 10:00", actor="member"),
        ],
        "2026-09-22 09:59",
        [],
    ),
    (
        "vendor-response-resets-after-escalation",
        [
            OPEN,
            ev("escalation_requested", "2026-09-15 10:00", actor="member"),
            ev("vendor_comment", "2026-09-16 10:00"),
        ],
        "2026-09-18 10:00",
        ["request_update"],
    ),
    (
        "escalation-ack-does-not-reset",
        [
            OPEN,
            ev("escalation_requested", "2026-09-15 10:00", actor="member"),
            ev("escalation_acknowledged", "2026-09-15 12:00"),
        ],
        "2026-09-18 10:00",
        ["pm_assist"],
    ),
    (
        "closed-case-has-no-ladder",
        [OPEN, ev("case_closed", "2026-09-15 10:00", state="closed")],
        "2026-10-30 10:00",
        [],
    ),
    (
        "pending-customer-stops-the-ladder",
        [
            OPEN,
            ev(
                "status_changed",
                "2026-09-15 10:00",
                status="Pending Customer Input",
                state="pending_customer",
            ),
        ],
        "2026-09-30 10:00",
        [],
    ),
    (
        "our-answer-to-pending-starts-the-vendor-clock",
        [
            OPEN,
            ev(
                "status_changed",
                "2026-09-15 10:00",
                status="Pending Customer Input",
                state="pending_customer",
            ),
            ev("member_comment", "2026-09-16 10:00", actor="member"),
        ],
        "2026-09-18 10:00",
        ["request_update"],
    ),
    (
        "low-priority-3-business-days",
        [opened(f"{MON} 10:00", priority="low")],
        "2026-09-17 09:59",
        [],
    ),
    (
        "high-priority-1-business-day",
        [opened(f"{MON} 10:00", priority="high")],
        "2026-09-15 10:00",
        ["request_update"],
    ),
    (
        "system-down-4-hours-on-a-saturday",
        [opened("2026-09-19 10:00", priority="system_down")],
        "2026-09-19 14:00",
        ["request_update"],
    ),
    (
        "unknown-priority-is-normal",
        [opened(f"{MON} 10:00", priority=None)],
        "2026-09-16 10:00",
        ["request_update"],
    ),
    (
        "reopened-case-runs-again",
        [
            OPEN,
            ev("case_closed", "2026-09-15 10:00", state="closed"),
            ev("case_reopened", "2026-09-21 10:00"),
            ev("status_changed", "2026-09-21 10:00", status="Re-opened", state="open"),
        ],
        "2026-09-23 10:00",
        ["request_update"],
    ),
]


@pytest.mark.parametrize(
    ("events", "at", "expected"), [r[1:] for r in LADDER_TABLE], ids=[r[0] for r in LADDER_TABLE]
)
def test_ladder(events, at, expected):
    assert ladder(events, at) == expected


def test_the_ladder_key_is_the_silence_period_so_nothing_fires_twice():
    [first] = due([OPEN], "2026-09-16 10:00", kinds=["request_update"])
    assert first.key == f"request_update:{CASE}:{t(MON + ' 10:00').isoformat()}"
    # Sent: not due again, not the next tick, not after more silence, not after our own comment.
    later = [OPEN, ev("member_comment", "2026-09-17 10:00", actor="member")]
    for at in ("2026-09-16 10:05", "2026-09-30 10:00"):
        assert ladder([OPEN], at, sent=[first.key]) == []
        assert ladder(later, at, sent=[first.key]) == []
    # A vendor response opens a new period: a new key, due again after a new silence.
    fresh = [OPEN, ev("vendor_comment", "2026-09-21 10:00")]
    [again] = due(fresh, "2026-09-23 10:00", sent=[first.key], kinds=["request_update"])
    assert again.key != first.key


def test_ladder_due_times_and_recipients():
    [a] = due([OPEN], "2026-09-20 10:00", kinds=["request_update"])
    assert a.due_at == t("2026-09-16 10:00")
    assert a.to == ("jdoe@wwu.edu",)
    assert "2 business days" in a.reason
    assert CASE in a.reason
    events = [OPEN, ev("escalation_requested", "2026-09-15 10:00", actor="member")]
    [p] = due(events, "2026-09-20 10:00", kinds=["pm_assist"])
    assert p.due_at == t("2026-09-18 10:00")
    assert p.to == ("mlopez@orbiscascade.org",)  # fulfillment, from the category
    assert p.cc == ("jdoe@wwu.edu",)


def test_escalate_draft_names_the_pm_and_the_unused_feedback():
    events = [OPEN, ev("update_requested", "2026-09-16 11:00", actor="member")]
    [e] = due(events, "2026-09-18 11:00", kinds=["escalate"])
    assert e.data == {"pm_contacts": ["mlopez@orbiscascade.org"], "suggest_feedback": True}
    used = [*events, ev("in_case_feedback", "2026-09-16 12:00", actor="member")]
    [e] = due(used, "2026-09-18 12:00", kinds=["escalate"])
    assert e.data["suggest_feedback"] is False


# --------------------------------------------------------------------------- routing


def test_no_owner_goes_to_the_fallback_area_pm_and_says_why():
    events = [opened(f"{MON} 10:00", owner=None, category=None, subcategory=None, asset=None)]
    [a] = due(events, "2026-09-16 10:00", kinds=["request_update"])
    assert a.to == ("sreyes@orbiscascade.org",)  # the systems PM: the default fallback area
    assert "No owner is known" in a.reason
    [d] = due(events, "2026-09-16 10:00", kinds=["description_gaps"])
    assert d.area == "systems"


def test_unmapped_area_routes_to_the_fallback_and_the_reason_says_so():
    events = [
        opened(
            f"{MON} 10:00", priority="system_down", asset="Leganto", category="Widgets", subcategory="Misc"
        )
    ]
    [a] = due(events, f"{MON} 10:00", kinds=["pm_system_down"])
    assert a.to == ("sreyes@orbiscascade.org",)
    assert 'No area is mapped for "Leganto / Widgets / Misc"' in a.reason


def test_an_area_without_pm_goes_to_the_fallback_area_pm():
    events = [opened(f"{MON} 10:00", priority="system_down", asset="Primo VE", category="Search")]
    [a] = due(events, f"{MON} 10:00", kinds=["pm_system_down"])
    assert a.area == "discovery"
    assert a.to == ("sreyes@orbiscascade.org",)
    assert "No PM is configured for discovery" in a.reason


# --------------------------------------------------------------------------- other rules


def test_pm_system_down_at_once_when_opened_or_raised():
    down = [opened(f"{MON} 10:00", priority="system_down")]
    [a] = due(down, f"{MON} 10:00", kinds=["pm_system_down"])
    assert a.due_at == t(f"{MON} 10:00")
    assert (a.to, a.cc) == (("mlopez@orbiscascade.org",), ("jdoe@wwu.edu",))
    assert due([OPEN], "2026-09-30 10:00", kinds=["pm_system_down"]) == []
    raised = [OPEN, ev("priority_changed", "2026-09-16 09:00", priority="system_down")]
    assert due(raised, "2026-09-16 08:59", kinds=["pm_system_down"]) == []
    [b] = due(raised, "2026-09-16 09:00", kinds=["pm_system_down"])
    assert b.key.endswith(t("2026-09-16 09:00").isoformat())
    closed = [*down, ev("case_closed", f"{MON} 12:00", state="closed")]
    assert due(closed, f"{MON} 13:00", kinds=["pm_system_down"]) == []


@pytest.mark.parametrize(
    ("events", "at", "expected"),
    [
        pytest.param([opened(f"{MON} 10:00", priority="high")], "2026-10-14 09:59", False, id="29-days"),
        pytest.param([opened(f"{MON} 10:00", priority="high")], "2026-10-14 10:00", True, id="30-days"),
        pytest.param(
            [opened(f"{MON} 10:00", priority="system_down")], "2026-10-14 10:00", True, id="system-down"
        ),
        pytest.param([OPEN], "2026-11-30 10:00", False, id="normal-never"),
        pytest.param(
            [
                opened(f"{MON} 10:00", priority="high"),
                ev("member_comment", "2026-10-01 10:00", actor="member"),
            ],
            "2026-10-14 10:00",
            True,
            id="our-comments-are-not-progress",
        ),
        pytest.param(
            [opened(f"{MON} 10:00", priority="high"), ev("vendor_comment", "2026-10-01 10:00")],
            "2026-10-14 10:00",
            False,
            id="vendor-response-is-progress",
        ),
        pytest.param(
            [
                opened(f"{MON} 10:00", priority="high"),
                ev(
                    "status_changed",
                    "2026-09-15 10:00",
                    status="Pending Customer Input",
                    state="pending_customer",
                ),
            ],
            "2026-10-30 10:00",
            False,
            id="waiting-for-us-is-not-stalled",
        ),
    ],
)
def test_pm_stalled_high(events, at, expected):
    assert bool(due(events, at, kinds=["pm_stalled_high"])) is expected


PENDING = [
    OPEN,
    ev("status_changed", "2026-09-15 10:00", status="Pending Customer Input", state="pending_customer"),
]


@pytest.mark.parametrize(
    ("events", "at", "expected_keys_suffix"),
    [
        pytest.param(PENDING, "2026-09-20 09:59", [], id="under-5-days"),
        pytest.param(PENDING, "2026-09-20 10:00", [":5 days"], id="5-days"),
        pytest.param(PENDING, "2026-10-06 10:00", [":21 days"], id="21-days-only-the-latest"),
        pytest.param(
            [*PENDING, ev("pending_customer_reminder", "2026-09-22 10:00")],
            "2026-09-22 11:00",
            [":5 days"],
            id="vendor-reminder-changes-nothing",
        ),
        pytest.param(
            [*PENDING, ev("member_comment", "2026-09-18 10:00", actor="member")],
            "2026-09-25 10:00",
            [],
            id="answered",
        ),
        pytest.param(
            [*PENDING, ev("status_changed", "2026-09-17 10:00", status="In Progress", state="open")],
            "2026-09-25 10:00",
            [],
            id="vendor-took-it-back",
        ),
    ],
)
def test_customer_turn(events, at, expected_keys_suffix):
    got = due(events, at, kinds=["customer_turn"])
    assert [a.key[a.key.rindex(":") :] for a in got] == expected_keys_suffix


def test_customer_turn_fires_at_5_and_at_21_days_once_each():
    [five] = due(PENDING, "2026-09-20 10:00", kinds=["customer_turn"])
    assert due(PENDING, "2026-09-30 10:00", kinds=["customer_turn"], sent=[five.key]) == []
    [late] = due(PENDING, "2026-10-06 10:00", kinds=["customer_turn"], sent=[five.key])
    assert late.key != five.key
    assert due(PENDING, "2026-10-07 10:00", kinds=["customer_turn"], sent=[five.key, late.key]) == []


CLOSED = [OPEN, ev("case_closed", "2026-09-16 08:00", state="closed")]


@pytest.mark.parametrize(
    ("events", "at", "expected"),
    [
        pytest.param(CLOSED, "2026-09-17 07:59", False, id="before-1-business-day"),
        pytest.param(CLOSED, "2026-09-17 08:00", True, id="1-business-day"),
        pytest.param(CLOSED, "2026-10-01 08:00", True, id="within-the-window"),
        pytest.param(CLOSED, "2026-10-01 08:01", False, id="14-days-late-is-too-late"),
        pytest.param(
            [*CLOSED, ev("status_changed", "2026-09-16 12:00", status="Re-opened", state="open")],
            "2026-09-18 08:00",
            False,
            id="reopened",
        ),
        pytest.param([OPEN], "2026-09-18 08:00", False, id="open"),
    ],
)
def test_survey(events, at, expected):
    assert bool(due(events, at, kinds=["survey"])) is expected


HIGH = opened(f"{MON} 10:00", priority="high")


@pytest.mark.parametrize(
    ("events", "at", "expected"),
    [
        pytest.param([HIGH], "2026-09-15 09:59", False, id="under-1-business-day"),
        pytest.param([HIGH], "2026-09-15 10:00", True, id="1-business-day"),
        pytest.param(
            [HIGH, ev("list_mention", "2026-09-15 09:00", actor="list")],
            "2026-09-16 10:00",
            False,
            id="mentioned-on-a-list",
        ),
        pytest.param(
            [HIGH, ev("list_mention", "2026-09-15 09:00", actor="vendor", newsletter=True)],
            "2026-09-16 10:00",
            True,
            id="a-vendor-newsletter-is-not-a-list",
        ),
        pytest.param([OPEN], "2026-09-16 10:00", False, id="normal-priority"),
        pytest.param(
            [OPEN, ev("priority_changed", "2026-09-16 10:00", priority="high")],
            "2026-09-17 09:59",
            False,
            id="raised-counts-from-the-raise",
        ),
        pytest.param(
            [OPEN, ev("priority_changed", "2026-09-16 10:00", priority="high")],
            "2026-09-17 10:00",
            True,
            id="raised-then-1-business-day",
        ),
    ],
)
def test_share_on_list(events, at, expected):
    assert bool(due(events, at, kinds=["share_on_list"])) is expected


@pytest.mark.parametrize(
    ("description", "category", "missing"),
    [
        pytest.param(
            "Citations disappear.",
            "Fulfillment",
            ["steps", "impact", "troubleshooting", "who_else", "related_cases"],
            id="one-line",
        ),
        pytest.param(
            "Sections vanish on save. Affects 300 courses.",
            "Fulfillment",
            ["steps", "troubleshooting", "who_else", "related_cases"],
            id="impact-only",
        ),
        pytest.param(
            "To reproduce: open a reading list, move a citation. It blocks the whole course reserves team.",
            None,
            ["troubleshooting", "who_else", "related_cases", "category"],
            id="no-category",
        ),
    ],
)
def test_description_gaps_names_what_is_missing(description, category, missing):
    events = [opened(f"{MON} 10:00", description=description, category=category)]
    [a] = due(events, f"{MON} 10:00", kinds=["description_gaps"])
    assert a.data["missing"] == missing


def test_description_gaps_not_for_a_complete_description_nor_without_one():
    assert due([OPEN], f"{MON} 10:00", kinds=["description_gaps"]) == []
    thin = [opened(f"{MON} 10:00", description="It fails.")]
    assert due(thin, "2026-09-28 10:00", kinds=["description_gaps"]) != []
    assert due(thin, "2026-09-28 10:01", kinds=["description_gaps"]) == []  # 14 days on: too late
    assert due([opened(f"{MON} 10:00", description=None)], f"{MON} 10:00", kinds=["description_gaps"]) == []


def test_handover_goes_to_both_owners_once():
    events = [
        OPEN,
        ev(
            "handover", "2026-09-15 10:00", actor="member", owner="kim@wwu.edu", previous_owner="jdoe@wwu.edu"
        ),
    ]
    [a] = due(events, "2026-09-15 10:00", kinds=["handover"])
    assert a.to == ("jdoe@wwu.edu", "kim@wwu.edu")
    assert due(events, "2026-09-15 10:00", kinds=["handover"], sent=[a.key]) == []
    # From then on the successor owns the case's reminders.
    [r] = due(events, "2026-09-20 10:00", kinds=["request_update"])
    assert r.to == ("kim@wwu.edu",)


# --------------------------------------------------------------------------- widespread


def _three(extra=()):
    cases = [("10700001", "WWU"), ("10700002", "UW"), ("10700003", "WSU"), *extra]
    return [opened(f"{MON} 10:00", case=n, institution=i, owner=f"x@{i.lower()}.edu") for n, i in cases]


LINKS = [
    Link.of("10700001", "10700002", "cited together", t("2026-09-15 10:00")),
    Link.of("10700002", "10700003", "cited together", t("2026-09-16 10:00")),
]


def test_widespread_when_three_institutions_are_linked():
    assert due(_three(), "2026-09-16 09:59", links=LINKS, kinds=["widespread"]) == []
    [a] = due(_three(), "2026-09-16 10:00", links=LINKS, kinds=["widespread"])
    assert a.case is None
    assert a.cases == ("10700001", "10700002", "10700003")
    assert a.due_at == t("2026-09-16 10:00")
    assert a.to == ("mlopez@orbiscascade.org",)
    assert "WSU" in a.reason
    assert "UW" in a.reason


def test_widespread_again_only_when_the_cluster_grows():
    [first] = due(_three(), "2026-09-17 10:00", links=LINKS, kinds=["widespread"])
    # A case of record (no institution) joins: same size, nothing new.
    record = [*_three(), ev("case_of_record", "2026-09-18 10:00", actor="pm", case="10700009")]
    grown_links = [*LINKS, Link.of("10700003", "10700009", "case of record", t("2026-09-18 10:00"))]
    assert (
        due(record, "2026-09-19 10:00", links=grown_links, sent=first.all_marks, kinds=["widespread"]) == []
    )
    # A fourth institution joins: alert again.
    four = [*record, *_three([("10700004", "UO")])[3:]]
    four_links = [*grown_links, Link.of("10700004", "10700009", "case of record", t("2026-09-21 10:00"))]
    [again] = due(four, "2026-09-21 10:00", links=four_links, sent=first.all_marks, kinds=["widespread"])
    assert "4 institutions" in again.reason
    assert again.due_at == t("2026-09-21 10:00")


def test_two_institutions_or_one_institution_twice_is_not_widespread():
    two = [*_three()[:2], opened(f"{MON} 10:00", case="10700003", institution="WWU")]
    assert due(two, "2026-09-20 10:00", links=LINKS, kinds=["widespread"]) == []


def test_a_closed_cluster_is_not_widespread():
    closed = [
        *_three(),
        *(
            ev("case_closed", "2026-09-15 09:00", case=n, state="closed")
            for n in ("10700001", "10700002", "10700003")
        ),
    ]
    assert due(closed, "2026-09-20 10:00", links=LINKS, kinds=["widespread"]) == []


# --------------------------------------------------------------------------- reply commands


def test_snooze_holds_then_fires_once_more():
    snoozed = [
        OPEN,
        ev(
            "command",
            "2026-09-16 11:00",
            actor="member",
            command="snooze",
            until=t("2026-09-21 09:00").isoformat(),
        ),
    ]
    [sent] = due([OPEN], "2026-09-16 10:00", kinds=["request_update"])
    assert due(snoozed, "2026-09-18 10:00", kinds=["request_update"], sent=[sent.key]) == []
    [again] = due(snoozed, "2026-09-21 09:00", kinds=["request_update"], sent=[sent.key])
    assert again.due_at == t("2026-09-21 09:00")
    assert due(snoozed, "2026-09-22 09:00", kinds=["request_update"], sent=[sent.key, again.key]) == []


def test_mute_and_unmute():
    muted = [OPEN, ev("command", "2026-09-15 11:00", actor="member", command="mute")]
    assert due(muted, "2026-09-18 10:00", kinds=LADDER) == []
    assert kinds(due(muted, "2026-09-18 10:00", kinds=["description_gaps", "request_update"])) == []
    only_one = [
        OPEN,
        ev("command", "2026-09-15 11:00", actor="member", command="mute", action="request_update"),
    ]
    assert due(only_one, "2026-09-18 10:00", kinds=LADDER) == []
    unmuted = [*muted, ev("command", "2026-09-17 11:00", actor="member", command="unmute")]
    assert ladder(unmuted, "2026-09-18 10:00") == ["request_update"]


# --------------------------------------------------------------------------- the support call and digests

# December 2026: the first Wednesday is 2026-12-02; the call is at 10:00 by default.
FLAG_EARLY = ev("command", "2026-11-20 10:00", actor="pm", command="agenda")
FLAG_LATE = ev("command", "2026-11-30 10:00", actor="pm", command="agenda")
NOV = opened("2026-11-16 10:00")


def test_agenda_seven_days_before_the_first_wednesday():
    assert due([NOV, FLAG_EARLY], "2026-11-25 09:59", kinds=["agenda"]) == []
    [a] = due([NOV, FLAG_EARLY], "2026-11-25 10:00", kinds=["agenda"])
    assert a.due_at == t("2026-11-25 10:00")
    assert a.cases == (CASE,)
    assert a.to == ("coordinator@orbiscascade.org", "mlopez@orbiscascade.org", "sreyes@orbiscascade.org")
    assert a.key == "agenda:2026-12-02"


def test_agenda_lists_the_most_critical_first():
    cases = [
        opened("2026-11-16 10:00", case="10700001", priority="low"),
        opened("2026-11-16 10:00", case="10700002", priority="system_down"),
        opened("2026-11-16 10:00", case="10700003", priority="high"),
    ]
    flags = [ev("command", "2026-11-20 10:00", actor="pm", case=c.case, command="agenda") for c in cases]
    [a] = due([*cases, *flags], "2026-11-25 10:00", kinds=["agenda"])
    assert a.cases == ("10700002", "10700003", "10700001")


def test_coordinator_contact_inside_the_last_week_only():
    assert due([NOV, FLAG_EARLY], "2026-11-30 10:00", kinds=["coordinator_contact"]) == []
    [c] = due([NOV, FLAG_LATE], "2026-11-30 10:00", kinds=["coordinator_contact"])
    assert c.to == ("mlopez@orbiscascade.org",)
    assert c.data["coordinator"] == "coordinator@orbiscascade.org"


AGENDA_SENT = ["agenda:2026-12-02"]


def test_post_call_followup_the_day_after():
    followup = ["post_call_followup"]
    assert due([NOV, FLAG_LATE], "2026-12-03 09:59", kinds=followup, sent=AGENDA_SENT) == []
    [f] = due([NOV, FLAG_LATE], "2026-12-03 10:00", kinds=followup, sent=AGENDA_SENT)
    assert f.key == f"post_call_followup:{CASE}:2026-12-02"
    # The PM's to-do: the owner is not in copy (they hear from the PM what came of the call).
    assert (f.to, f.cc) == (("mlopez@orbiscascade.org",), ())


def test_no_post_call_followup_for_a_call_whose_agenda_never_went_out():
    # A first run on 2026-12-03 over an old mailbox: the agenda for the call of 2026-12-02 was
    # never mailed, or only listed in a backlog message.
    followup = ["post_call_followup"]
    assert due([NOV, FLAG_LATE], "2026-12-03 10:00", kinds=followup) == []
    assert due([NOV, FLAG_LATE], "2026-12-03 10:00", kinds=followup, summarized=AGENDA_SENT) == []
    agenda_off = parse({**RAW_CONFIG, "actions": {"agenda": {"enabled": False}}})
    assert kinds(due([NOV, FLAG_LATE], "2026-12-03 10:00", config=agenda_off, kinds=followup)) == followup


def test_a_case_needing_a_pm_is_on_the_agenda_without_a_flag():
    events = [opened("2026-11-02 10:00"), ev("escalation_requested", "2026-11-03 10:00", actor="member")]
    [a] = due(events, "2026-11-25 10:00", kinds=["agenda"])
    assert a.cases == (CASE,)


def test_weekly_digest_per_pm_monday_morning():
    assert due([], "2026-11-24 07:59", kinds=["digest"]) != []  # Monday's, less than a day late
    assert due([], "2026-11-30 07:59", kinds=["digest"]) == []  # a slot missed by a week: skipped
    got = due([], "2026-11-30 08:00", kinds=["digest"])
    assert sorted(a.to[0] for a in got) == ["mlopez@orbiscascade.org", "sreyes@orbiscascade.org"]
    assert {a.key.rsplit(":", 1)[1] for a in got} == {"2026-11-30"}
    assert due([], "2026-12-01 10:00", kinds=["digest"], sent=[a.key for a in got]) == []


def test_a_missed_digest_slot_is_skipped_not_sent_late():
    # Monday 2026-11-23 08:00 was the slot: on Thursday (a first run, or after an outage) no digest.
    assert due([], "2026-11-24 08:01", kinds=["digest"]) == []
    assert due([], "2026-11-26 10:00", kinds=["digest"]) == []
    late_ok = parse({**RAW_CONFIG, "actions": {"digest": {"skip_after": "4 days"}}})
    assert len(due([], "2026-11-26 10:00", config=late_ok, kinds=["digest"])) == 2


def test_a_digest_slot_on_a_holiday_moves_to_the_next_working_morning():
    # Monday 2027-01-18 is Martin Luther King Jr. Day: the digest comes Tuesday at 08:00.
    assert due([], "2027-01-18 09:00", kinds=["digest"]) == []
    assert due([], "2027-01-19 07:59", kinds=["digest"]) == []
    got = due([], "2027-01-19 08:00", kinds=["digest"])
    assert {a.key.rsplit(":", 1)[1] for a in got} == {"2027-01-19"}
    assert {a.due_at for a in got} == {t("2027-01-19 08:00")}


# --------------------------------------------------------------------------- every action kind


def test_every_action_kind_has_a_rule_and_a_config_table():
    covered = {r.kind for r in CASE_RULES} | {
        "widespread",
        "agenda",
        "coordinator_contact",
        "post_call_followup",
        "owner_unreachable",
        "digest",
    }
    assert covered == set(ACTION_KINDS)
    assert {f.name for f in dataclasses.fields(CONFIG.actions)} == set(ACTION_KINDS)


def test_a_disabled_rule_never_fires():
    off = parse({"actions": {"request_update": {"enabled": False}}})
    assert due([OPEN], "2026-09-30 10:00", config=off, kinds=["request_update"]) == []


def test_thresholds_come_from_config():
    quick = parse({"actions": {"request_update": {"normal": "3 business hours"}}})
    assert ladder([OPEN], f"{MON} 12:59", config=quick) == []
    assert ladder([OPEN], f"{MON} 13:00", config=quick) == ["request_update"]


# --------------------------------------------------------------------------- rules across the calendar


@pytest.mark.parametrize(
    ("events", "kind", "expected_due"),
    [
        pytest.param(
            [opened("2026-10-09 10:00")], "request_update", "2026-10-14 10:00", id="columbus-day-skipped"
        ),
        pytest.param(
            [opened("2026-11-25 10:00")],
            "request_update",
            "2026-11-30 10:00",
            id="thanksgiving-thursday-skipped",
        ),
        pytest.param(
            [opened("2026-10-30 10:00", priority="high")],
            "request_update",
            "2026-11-02 10:00",
            id="over-the-fall-back-weekend",
        ),
        pytest.param(
            [opened("2026-03-06 10:00", priority="high")],
            "request_update",
            "2026-03-09 10:00",
            id="over-the-spring-forward-weekend",
        ),
        pytest.param(
            [opened("2026-10-31 22:00", priority="system_down")],
            "request_update",
            "2026-11-01T01:00:00-08:00",
            id="24x7-4-real-hours-over-fall-back",  # 22:00 PDT + 4 h = the second 01:00, in PST
        ),
        pytest.param(
            [opened("2026-11-16 10:00"), ev("case_closed", "2026-11-25 15:00", state="closed")],
            "survey",
            "2026-11-27 15:00",
            id="survey-after-thanksgiving",
        ),
        pytest.param(
            [opened("2026-10-02 10:00", priority="high")],
            "pm_stalled_high",
            "2026-11-01 10:00",
            id="30-days-keep-the-wall-clock-over-dst",
        ),
    ],
)
def test_due_times_over_holidays_and_dst(events, kind, expected_due):
    config = parse({"actions": {"survey": {"window": "60 days"}}})
    [a] = due(events, "2026-12-31 12:00", kinds=[kind], config=config)
    want = datetime.fromisoformat(expected_due) if "T" in expected_due else t(expected_due)
    # Compared in UTC: Python never finds a time in the fall-back fold equal to another zone's.
    assert a.due_at.astimezone(UTC) == want.astimezone(UTC)


def test_resume_ends_a_snooze_and_a_mute():
    snoozed = [
        OPEN,
        ev(
            "command",
            "2026-09-16 11:00",
            actor="member",
            command="snooze",
            until=t("2026-09-25 09:00").isoformat(),
        ),
    ]
    assert ladder(snoozed, "2026-09-17 10:00") == []
    resumed = [*snoozed, ev("command", "2026-09-17 09:00", actor="member", command="resume")]
    assert ladder(resumed, "2026-09-17 10:00") == ["request_update"]
    muted = [
        OPEN,
        ev("command", "2026-09-15 11:00", actor="member", command="mute"),
        ev("command", "2026-09-17 09:00", actor="member", command="resume"),
    ]
    assert ladder(muted, "2026-09-17 10:00") == ["request_update"]


def test_an_undone_reply_no_longer_counts():
    escalated = dataclasses.replace(
        ev("escalation_requested", "2026-09-15 10:00", actor="member"), message_id="reply-1@wwu.edu"
    )
    assert ladder([OPEN, escalated], "2026-09-18 10:00") == ["pm_assist"]
    undo = ev("command", "2026-09-15 11:00", actor="member", command="undo", target="reply-1@wwu.edu")
    assert ladder([OPEN, escalated, undo], "2026-09-18 10:00") == ["request_update"]


def test_a_late_agenda_reply_on_a_case_already_on_the_agenda_asks_no_coordinator_contact():
    # Escalated 2026-11-03: pm_assist due 11-06, so the case is on the agenda mailed 11-25.
    events = [
        opened("2026-11-02 10:00"),
        ev("escalation_requested", "2026-11-03 10:00", actor="member"),
        ev("command", "2026-11-30 10:00", actor="pm", command="agenda"),  # inside the last week
    ]
    [a] = due(events, "2026-11-25 10:00", kinds=["agenda"])
    assert a.cases == (CASE,)
    assert due(events, "2026-11-30 10:00", kinds=["coordinator_contact"]) == []


def test_a_notification_to_the_old_contact_does_not_undo_a_handover():
    from daemon.timeline import project

    handed = [
        OPEN,
        ev(
            "handover", "2026-09-15 10:00", actor="member", owner="kim@wwu.edu", previous_owner="jdoe@wwu.edu"
        ),
    ]
    guessed = ev("vendor_comment", "2026-09-16 10:00", owner="jdoe@wwu.edu", owner_guessed=True)
    stated = ev("vendor_comment", "2026-09-17 10:00", owner="lee@wwu.edu")
    assert project(CASE, [*handed, guessed]).owner == "kim@wwu.edu"
    assert project(CASE, [*handed, guessed, stated]).owner == "lee@wwu.edu"  # the vendor's Contact wins
    assert project(CASE, [OPEN, guessed]).owner == "jdoe@wwu.edu"  # no handover: as before


# ------------------------------------------------------------------- rules added after the first version

PM = "mlopez@orbiscascade.org"
OWNER = "jdoe@wwu.edu"


def sent_reminder(kind: str, at: str, case: str = CASE):
    """What the outbox records when it queues a reminder of ``kind`` about the case."""
    return ev("reminder_sent", at, actor="system", case=case, action=kind, key=f"{kind}:{case}:x")


def bounce(at: str, recipient: str, status: str = "5.1.1", case: str = CASE):
    """A delivery-status report for one of our messages about ``case``, as ingest records it."""
    return ev(
        "reminder_sent",
        at,
        actor="system",
        case=case,
        delivery="failed",
        recipient=recipient,
        dsn_status=status,
        permanent=status.startswith("5."),
        original="<m1@orbiscascade.org>",
    )


def test_pm_escalation_at_once_when_an_escalation_is_requested():
    """ "Let the Alliance Program Manager know via email if: ... You request case escalation." """
    escalated = [OPEN, ev("escalation_requested", "2026-09-16 11:00", actor="member")]
    assert due(escalated, "2026-09-16 10:59", kinds=["pm_escalation"]) == []
    [a] = due(escalated, "2026-09-16 11:00", kinds=["pm_escalation"])
    assert (a.to, a.cc, a.due_at) == ((PM,), (OWNER,), t("2026-09-16 11:00"))
    assert "2 business days" in a.reason  # the silence, from the opening on Monday 10:00
    by_reply = [
        OPEN,
        ev("update_requested", "2026-09-15 09:00", actor="member"),
        ev("escalation_requested", "2026-09-16 11:00", actor="member", via="reply", by=OWNER),
    ]
    [b] = due(by_reply, "2026-09-16 11:00", kinds=["pm_escalation"])
    assert "an update was requested on Tue 2026-09-15 09:00" in b.reason
    # Negatives: no escalation; the PM escalated themselves; once per silence, never again.
    assert due([OPEN], "2026-09-30 10:00", kinds=["pm_escalation"]) == []
    by_pm = [OPEN, ev("escalation_requested", "2026-09-16 11:00", actor="pm")]
    assert due(by_pm, "2026-09-16 12:00", kinds=["pm_escalation"]) == []
    again = [*escalated, ev("escalation_requested", "2026-09-17 11:00", actor="member")]
    assert due(again, "2026-09-17 12:00", kinds=["pm_escalation"], sent=[a.key]) == []


def test_owner_inactive_when_a_ladder_reminder_goes_unanswered():
    """ "If you still don't receive a response from Support, contact the program manager": the
    ladder must reach the PM even when the owner does nothing (owner_inactive, 2 business days)."""
    ignored = [OPEN, sent_reminder("request_update", "2026-09-16 10:00")]
    assert due(ignored, "2026-09-18 09:59", kinds=["owner_inactive"]) == []
    [a] = due(ignored, "2026-09-18 10:00", kinds=["owner_inactive"])
    assert (a.to, a.cc) == ((PM,), (OWNER,))
    assert a.data["reminder"] == "request_update"
    # An ignored escalation reminder reaches the PM too.
    asked = [
        OPEN,
        ev("update_requested", "2026-09-16 11:00", actor="member"),
        sent_reminder("escalate", "2026-09-18 11:00"),
    ]
    assert kinds(due(asked, "2026-09-22 11:00", kinds=["owner_inactive"])) == ["owner_inactive"]


@pytest.mark.parametrize(
    "after",
    [
        pytest.param(ev("update_requested", "2026-09-17 10:00", actor="member"), id="owner-asked"),
        pytest.param(ev("member_comment", "2026-09-17 10:00", actor="member"), id="owner-commented"),
        pytest.param(ev("command", "2026-09-17 10:00", actor="member", command="mute"), id="a-reply-command"),
        pytest.param(ev("escalation_requested", "2026-09-17 10:00", actor="pm"), id="the-pm-escalated"),
        pytest.param(ev("vendor_comment", "2026-09-17 10:00"), id="the-vendor-answered"),
    ],
)
def test_no_owner_inactive_when_someone_acted_or_the_vendor_answered(after):
    """ "neither the owner nor anyone acted (no update request, escalation, comment or reply
    command) and the vendor stayed silent 2 business days" (policy.md): any of these ends it."""
    events = [OPEN, sent_reminder("request_update", "2026-09-16 10:00"), after]
    assert due(events, "2026-09-25 10:00", kinds=["owner_inactive"]) == []


def test_owner_unreachable_on_a_permanent_failure_naming_the_owner():
    """ "if you will be leaving your position you should work with your colleagues to determine
    the appropriate person to take over each of your cases": a 5.x.x bounce of our mail to the
    owner tells the area PM, with the owners of the institution's other open cases in copy."""
    other = opened(f"{MON} 10:00", case="10700002", owner="rpatel@wwu.edu")
    elsewhere = opened(f"{MON} 10:00", case="10700003", owner="asilva@oregonstate.edu", institution="OSU")
    failed = [OPEN, other, elsewhere, bounce("2026-09-16 10:05", "JDoe@wwu.edu")]
    [a] = due(failed, "2026-09-16 10:05", kinds=["owner_unreachable"])
    assert (a.case, a.to, a.cc) == (CASE, (PM,), ("rpatel@wwu.edu",))
    assert a.data["status"] == "5.1.1"
    assert "failed permanently" in a.reason
    assert due(failed, "2026-09-20 10:00", kinds=["owner_unreachable"], sent=[a.key]) == []


def test_owner_unreachable_with_many_owners_names_each_owners_open_cases_and_colleagues():
    """Many owners bounce at once, across institutions: each action names only its owner's open
    cases (in case order, whatever the address's case) and copies only the owners of the same
    institution's other open cases; closed cases count for neither."""
    events = []
    for i, inst in enumerate(("WWU", "OSU", "UW")):
        for j in range(4):
            owner = f"owner{j}@{inst.lower()}.edu"
            for k in range(2):  # two cases each, the second closed for owner3
                case = f"107{i}{j}{k}00"
                events.append(opened(f"{MON} 10:00", case=case, owner=owner, institution=inst))
                if j == 3 and k == 1:
                    closed = ev("case_closed", "2026-09-15 10:00", case=case, status="Closed", state="closed")
                    events.append(closed)
            if j < 2:  # owners 0 and 1 of each institution bounce, the address in capitals
                events.append(bounce(f"2026-09-16 10:0{j}", owner.upper(), case=f"107{i}{j}000"))
    events.append(opened(f"{MON} 10:00", case="10799900", owner="gone@wwu.edu", institution="WWU"))
    events.append(ev("case_closed", "2026-09-15 10:00", case="10799900", status="Closed", state="closed"))
    events.append(bounce("2026-09-16 10:05", "gone@wwu.edu", case="10799900"))  # nothing open is left
    got = due(events, "2026-09-16 11:00", kinds=["owner_unreachable"])
    summary = {a.data["recipient"]: (a.cases, a.cc) for a in got}
    expected = {}
    for i, inst in enumerate(("WWU", "OSU", "UW")):
        for j in range(2):
            others = tuple(f"owner{o}@{inst.lower()}.edu" for o in range(4) if o != j)
            expected[f"owner{j}@{inst.lower()}.edu"] = ((f"107{i}{j}000", f"107{i}{j}100"), others)
    assert summary == expected


@pytest.mark.parametrize(
    "report",
    [
        pytest.param(bounce("2026-09-16 10:05", OWNER, status="4.4.7"), id="a-delay-4xx"),
        pytest.param(bounce("2026-09-16 10:05", "someone.else@wwu.edu"), id="not-the-owner"),
        pytest.param(
            ev("reminder_sent", "2026-09-16 10:05", actor="system", action="request_update"), id="sent"
        ),
    ],
)
def test_no_owner_unreachable_for_delays_or_other_recipients(report):
    """ "a permanent delivery failure (a DSN with a 5.x.x status) ... naming the owner as the failed
    recipient ... Delays (4.x.x) and bounces of anything else stay noise" (policy.md)."""
    assert due([OPEN, report], "2026-09-20 10:00", kinds=["owner_unreachable"]) == []


def test_record_update_when_the_case_of_record_moves():
    """ "Any time an Alliance-wide case is opened or a case of record is established ... the Program
    Manager in the affected area should contact the affected communities ... As the case
    progresses, subsequent community updates are strongly recommended!\""""
    named = ev("case_of_record", "2026-09-15 10:00", actor="pm")
    comment = ev("vendor_comment", "2026-09-16 10:00")
    [a] = due([OPEN, named, comment], "2026-09-16 10:00", kinds=["record_update"])
    assert (a.to, a.cc, a.due_at) == ((PM,), (), t("2026-09-16 10:00"))
    closing = ev("case_closed", "2026-09-17 10:00", status="Closed", state="closed")
    got = due([OPEN, named, comment, closing], "2026-09-17 10:00", kinds=["record_update"], sent=[a.key])
    assert [g.data["moves"] for g in got] == [["case_closed"]]
    # Negatives: news before it became the case of record, and any other case.
    assert (
        due(
            [OPEN, comment, ev("case_of_record", "2026-09-16 11:00", actor="pm")],
            "2026-09-17 10:00",
            kinds=["record_update"],
        )
        == []
    )
    assert due([OPEN, comment, closing], "2026-09-17 10:00", kinds=["record_update"]) == []


HIGH = opened(f"{MON} 10:00", priority="high")


def test_an_owners_mute_or_snooze_does_not_hold_what_goes_to_the_pm():
    """ "A mute, snooze or done from the owner or staff holds only the actions addressed to the
    owner. Actions addressed to a PM are held only by a PM's command." (policy.md)"""
    owner_mute = ev("command", "2026-09-20 10:00", actor="member", command="mute", by=OWNER)
    assert kinds(due([HIGH, owner_mute], "2026-10-14 10:00", kinds=["pm_stalled_high"])) == [
        "pm_stalled_high"
    ]
    assert due([HIGH, owner_mute], "2026-10-14 10:00", kinds=["request_update"]) == []  # the owner's
    snooze = ev(
        "command",
        "2026-10-13 10:00",
        actor="member",
        command="snooze",
        until=t("2026-10-20 09:00").isoformat(),
    )
    [a] = due([HIGH, snooze], "2026-10-14 10:00", kinds=["pm_stalled_high"])
    assert a.due_at == t("2026-10-14 10:00")
    pm_mute = ev("command", "2026-09-20 10:00", actor="pm", command="mute", by=PM)
    assert due([HIGH, pm_mute], "2026-10-14 10:00", kinds=["pm_stalled_high"]) == []
    pm_snooze = ev(
        "command", "2026-10-13 10:00", actor="pm", command="snooze", until=t("2026-10-20 09:00").isoformat()
    )
    [b] = due([HIGH, pm_snooze], "2026-10-20 09:00", kinds=["pm_stalled_high"])
    assert b.due_at == t("2026-10-20 09:00")


def test_pm_assist_after_everything_was_tried_waits_its_own_threshold():
    """ "You are unable to get an update after submitting a comment, in-case feedback, and an
    escalation request": pm_assist waits 3 business days after the last of the three."""
    tried = [
        OPEN,
        ev("update_requested", "2026-09-14 11:00", actor="member"),
        ev("escalation_requested", "2026-09-15 10:00", actor="member"),
        ev("in_case_feedback", "2026-09-17 10:00", actor="member"),  # the last of the three
    ]
    assert ladder(tried, "2026-09-18 10:00") == []  # 3 business days after the escalation only
    assert ladder(tried, "2026-09-22 09:59") == []
    [a] = due(tried, "2026-09-22 10:00", kinds=["pm_assist"])
    assert a.basis is not None
    assert a.basis.since == t("2026-09-17 10:00")


def stalled(*events, at="2026-10-14 10:00"):
    return kinds(due([HIGH, *events], at, kinds=["pm_stalled_high"]))


def test_significant_progress_is_not_any_vendor_mail():
    """ "A high-priority issue goes without significant progress for over a month." Progress is a
    status change to a non-pending-customer status or a vendor comment that is not boilerplate;
    acknowledgements, priority-only changes and "no progress" phrases are not progress."""
    notice = "<raise@exlibris>"
    raise_notice = [
        dataclasses.replace(
            ev("vendor_comment", "2026-10-01 10:00", priority="system_down"), message_id=notice
        ),
        dataclasses.replace(
            ev("priority_changed", "2026-10-01 10:00", priority="system_down"), message_id=notice
        ),
    ]
    assert stalled(*raise_notice) == ["pm_stalled_high"]
    boiler = dataclasses.replace(
        ev("vendor_comment", "2026-10-01 10:00"), summary="We are still investigating."
    )
    assert stalled(boiler) == ["pm_stalled_high"]
    no_update = dataclasses.replace(
        ev("vendor_comment", "2026-10-01 10:00"), summary="No update at this time."
    )
    assert stalled(no_update) == ["pm_stalled_high"]
    to_pending = ev(
        "status_changed", "2026-10-01 10:00", status="Pending Customer Input", state="pending_customer"
    )
    back = dataclasses.replace(ev("member_comment", "2026-10-02 10:00", actor="member"))
    assert stalled(to_pending, back) == ["pm_stalled_high"]
    assert stalled(ev("escalation_acknowledged", "2026-10-01 10:00")) == ["pm_stalled_high"]
    # Negatives: a real comment, a status change to a working status.
    real = dataclasses.replace(
        ev("vendor_comment", "2026-10-01 10:00"),
        summary="Development found the cause; a fix is in the November release.",
    )
    assert stalled(real) == []
    assert (
        stalled(ev("status_changed", "2026-10-01 10:00", status="In Progress - Tier 2", state="open")) == []
    )


def test_stalled_counts_from_becoming_high():
    """ "A high-priority issue goes without significant progress for over a month": the 30 days run
    from the later of the case becoming high / system-down and its last progress."""
    raised = [OPEN, ev("priority_changed", "2026-09-24 10:00", priority="high")]
    assert due(raised, "2026-10-14 10:00", kinds=["pm_stalled_high"]) == []  # 30 days after opening
    assert due(raised, "2026-10-24 09:59", kinds=["pm_stalled_high"]) == []
    [a] = due(raised, "2026-10-24 10:00", kinds=["pm_stalled_high"])
    assert a.basis is not None
    assert a.basis.since == t("2026-09-24 10:00")


def test_a_raised_priority_is_said_in_the_next_ladder_reminder():
    """ "Use escalation when: You realize that an issue's priority is greater than you originally
    thought." The owner's next ladder reminder says so and offers the escalation draft at once."""
    raised = [OPEN, ev("priority_changed", "2026-09-15 09:00", priority="high", actor="member")]
    [a] = due(raised, "2026-09-16 10:00", kinds=["request_update"])
    assert a.data["offer_escalation"] is True
    assert a.data["priority_raised"] == {
        "from": "normal",
        "to": "high",
        "at": t("2026-09-15 09:00").isoformat(),
    }
    assert "raised from normal to high" in a.reason
    # Negatives: no rise; a lowered priority; a rise already told by a ladder reminder.
    [plain] = due([OPEN], "2026-09-16 10:00", kinds=["request_update"])
    assert "offer_escalation" not in plain.data
    lowered = [OPEN, ev("priority_changed", "2026-09-15 09:00", priority="low")]
    [low] = due(lowered, "2026-09-17 10:00", kinds=["request_update"])
    assert "priority_raised" not in low.data
    told = [*raised, sent_reminder("request_update", "2026-09-15 10:00")]
    [again] = due(told, "2026-09-16 10:00", kinds=["request_update"])
    assert "priority_raised" not in again.data


CLOSED = [OPEN, ev("case_closed", "2026-09-15 10:00", status="Closed", state="closed")]


def test_no_survey_but_reopening_when_a_member_says_the_problem_is_still_there():
    """ "Fill out the post-case feedback survey ...": not when a member wrote on the case after it
    closed that the problem is still there; the reminder suggests reopening instead."""
    disputed = [
        *CLOSED,
        dataclasses.replace(
            ev("member_comment", "2026-09-15 15:00", actor="member"), summary="This is happening again today."
        ),
    ]
    [a] = due(disputed, "2026-09-16 10:00", kinds=["survey"])
    assert a.data["disputed"] is True
    assert "reopen" in a.reason
    assert "survey is the place" not in a.reason
    thanks = [
        *CLOSED,
        dataclasses.replace(
            ev("member_comment", "2026-09-15 15:00", actor="member"), summary="Thanks, all good."
        ),
    ]
    [b] = due(thanks, "2026-09-16 10:00", kinds=["survey"])
    assert "disputed" not in b.data
    assert "survey is the place" in b.reason
    before = [
        OPEN,
        dataclasses.replace(
            ev("member_comment", "2026-09-14 15:00", actor="member"), summary="It is happening again."
        ),
        *CLOSED[1:],
    ]
    [c] = due(before, "2026-09-16 10:00", kinds=["survey"])
    assert "disputed" not in c.data  # written before the closing: the vendor's answer came after


def test_an_owners_reminders_count_business_days_on_the_institutions_calendar():
    """ "An owner's reminders count business days on the owner's institution's calendar (its own
    holidays subdivision and closures, when configured), else the consortium's." (policy.md)"""
    raw = {
        **RAW_CONFIG,
        "institutions": [
            {"code": "WWU", "domains": ["wwu.edu"], "closures": ["2026-09-15"]},
            {"code": "OSU", "domains": ["oregonstate.edu"]},
        ],
    }
    config = parse(raw)
    # WWU is closed on Tuesday: 2 business days from Monday 10:00 end on Thursday 10:00.
    assert due([OPEN], "2026-09-16 10:00", config=config, kinds=["request_update"]) == []
    [a] = due([OPEN], "2026-09-17 10:00", config=config, kinds=["request_update"])
    assert a.due_at == t("2026-09-17 10:00")
    osu = opened(f"{MON} 10:00", owner="asilva@oregonstate.edu", institution="OSU")
    [b] = due([osu], "2026-09-16 10:00", config=config, kinds=["request_update"])
    assert b.due_at == t("2026-09-16 10:00")


def test_an_institution_subdivision_adds_its_holidays():
    """ "its own holidays subdivision" (policy.md): WA's Native American Heritage Day, the day after
    Thanksgiving, is no business day for a WA institution's owner."""
    raw = {
        **RAW_CONFIG,
        "institutions": [{"code": "WWU", "domains": ["wwu.edu"], "holidays_subdivision": "WA"}],
    }
    config = parse(raw)
    thanksgiving = [opened("2026-11-25 10:00")]
    [a] = due(thanksgiving, "2026-12-02 10:00", config=config, kinds=["request_update"])
    assert a.due_at == t("2026-12-01 10:00")  # Wed; Thu, Fri (WA) and the weekend skipped
    [b] = due(thanksgiving, "2026-12-02 10:00", kinds=["request_update"])
    assert b.due_at == t("2026-11-30 10:00")


def test_the_router_gives_each_case_its_own_route_whatever_it_remembers():
    """``Router`` remembers routes by owner and category: each case still gets ``route``'s answer."""
    router = Router(CONFIG)
    cases = [
        Case(f"1070000{i}", owner=owner, asset="Alma", category=category, subcategory="Letters")
        for i, (owner, category) in enumerate(
            [
                ("a@wwu.edu", "Fulfillment"),
                ("b@wwu.edu", "Fulfillment"),
                (None, "Fulfillment"),
                ("a@wwu.edu", "Acquisitions"),
                ("a@wwu.edu", "Fulfillment"),
                (None, None),
            ]
        )
    ]
    got = [router(c) for c in cases]
    assert got == [route(c, CONFIG) for c in cases]
    assert got[0] is got[4]  # the same owner and category: the same route


def _forward_last_progress(ctx):
    """``last_progress`` as first written (a walk from the start, the last progress found wins):
    the reference for the walk from the end."""
    no_progress = rules_mod.pattern(ctx.config.actions.pm_stalled_high.no_progress)
    priority_mail = {
        rules_mod._mail_of(e) for e in ctx.events if e.kind == "priority_changed" and e.actor == "vendor"
    }
    found = None
    for e in ctx.events:
        if e.data.get("newsletter"):
            continue
        if e.kind == "case_opened" and found is None:
            found = (e.at, "the case opened")
        if e.actor != "vendor":
            continue
        if e.kind in ("status_changed", "case_closed", "case_reopened"):
            if e.data.get("state") == "pending_customer":
                continue
            found = (
                e.at,
                "the vendor's status change" if e.kind == "status_changed" else rules_mod._PROGRESS[e.kind],
            )
        elif e.kind == "vendor_comment":
            if rules_mod._mail_of(e) in priority_mail:
                continue
            text = " ".join(str(t) for t in (e.summary, e.data.get("text", "")) if t)
            if no_progress.search(text):
                continue
            found = (e.at, "the vendor's comment")
    return found


_PROGRESS_EVENTS = st.lists(
    st.tuples(
        st.sampled_from(
            [
                "case_opened",
                "vendor_comment",
                "status_changed",
                "case_closed",
                "case_reopened",
                "priority_changed",
                "escalation_acknowledged",
                "member_comment",
                "list_mention",
            ]
        ),
        st.sampled_from(["vendor", "member", "list"]),
        st.sampled_from(
            [
                {},
                {"state": "pending_customer"},
                {"state": "open"},
                {"newsletter": True},
                {"text": "We will update you soon"},
                {"text": "fixed in the release"},
            ]
        ),
        st.sampled_from([None, "<a@x>", "<b@x>"]),
    ),
    max_size=12,
)


@settings(max_examples=300, deadline=None)
@given(_PROGRESS_EVENTS)
def test_last_progress_read_from_the_end_is_the_walk_from_the_start(rows):
    """The latest significant progress (else the opening), whatever the order and mix of events."""
    events = [opened("2026-09-01 10:00")] if rows and rows[0][0] != "case_opened" else []
    for i, (kind, actor, data, message_id) in enumerate(rows):
        e = ev(kind, f"2026-09-{2 + i:02d} 10:00", actor=actor, **data)
        events.append(dataclasses.replace(e, message_id=message_id))
    [ctx] = contexts(snapshot(events), t("2026-10-01 10:00"), CONFIG) or [None]
    if ctx is None:
        return
    assert rules_mod.last_progress(ctx) == _forward_last_progress(ctx)
