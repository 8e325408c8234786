"""Idempotency keys are stored in users' state databases (the ``sent`` set): the strings the rules
build must never change. Each expected key is written out by hand from the format it has always
had; times are local to America/Los_Angeles (-07:00 in September, -08:00 in late November)."""

from __future__ import annotations

from datetime import UTC, date, datetime

from policytools import CASE, ev, opened
from policytools import due as due_at_time

from daemon.model import Link
from daemon.policy.context import key
from daemon.policy.rules import key as key_from_rules

OPEN = opened("2026-09-14 10:00")


def keys(events, at, kind, **kw):
    return [a.key for a in due_at_time(events, at, kinds=[kind], **kw)]


def test_the_helper_writes_kind_case_period_and_extras():
    at = datetime(2026, 9, 14, 17, 0, tzinfo=UTC)
    assert key("survey", "10700001", at) == "survey:10700001:2026-09-14T17:00:00+00:00"
    assert key("handover", "10700001", at, "kim@wwu.edu") == (
        "handover:10700001:2026-09-14T17:00:00+00:00:kim@wwu.edu"
    )
    assert key("agenda", None, date(2026, 12, 2)) == "agenda:2026-12-02"
    assert key("widespread", "10700001", 3) == "widespread:10700001:3"
    assert key_from_rules is key  # the old import path still works


def test_ladder_keys_name_the_silence_period():
    assert keys([OPEN], "2026-09-16 10:00", "request_update") == [
        f"request_update:{CASE}:2026-09-14T10:00:00-07:00"
    ]
    asked = [OPEN, ev("update_requested", "2026-09-16 11:00", actor="member")]
    assert keys(asked, "2026-09-30 10:00", "escalate") == [f"escalate:{CASE}:2026-09-14T10:00:00-07:00"]


def test_customer_turn_and_handover_keys_carry_their_extra_part():
    pending = [OPEN, ev("status_changed", "2026-09-15 10:00", status="Pending", state="pending_customer")]
    assert keys(pending, "2026-09-20 10:00", "customer_turn") == [
        f"customer_turn:{CASE}:2026-09-15T10:00:00-07:00:5 days"
    ]
    handover = ev(
        "handover", "2026-09-15 10:00", actor="member", owner="kim@wwu.edu", previous_owner="jdoe@wwu.edu"
    )
    assert keys([OPEN, handover], "2026-09-15 10:00", "handover") == [
        f"handover:{CASE}:2026-09-15T10:00:00-07:00:kim@wwu.edu"
    ]


def test_keys_across_cases():
    three = [
        opened("2026-09-14 10:00", case=n, institution=i, owner=f"x@{i.lower()}.edu")
        for n, i in (("10700001", "WWU"), ("10700002", "UW"), ("10700003", "WSU"))
    ]
    links = [
        Link.of("10700001", "10700002", "cited together", datetime(2026, 9, 15, 17, tzinfo=UTC)),
        Link.of("10700002", "10700003", "cited together", datetime(2026, 9, 16, 17, tzinfo=UTC)),
    ]
    assert keys(three, "2026-09-16 10:00", "widespread", links=links) == ["widespread:10700001:3"]
    assert sorted(keys([], "2026-11-30 08:00", "digest")) == [
        "digest:mlopez@orbiscascade.org:2026-11-30",
        "digest:sreyes@orbiscascade.org:2026-11-30",
    ]
    flagged = [opened("2026-11-16 10:00"), ev("command", "2026-11-20 10:00", actor="pm", command="agenda")]
    assert keys(flagged, "2026-11-25 10:00", "agenda") == ["agenda:2026-12-02"]
    late = [opened("2026-11-16 10:00"), ev("command", "2026-11-30 10:00", actor="pm", command="agenda")]
    assert keys(late, "2026-11-30 10:00", "coordinator_contact") == [f"coordinator_contact:{CASE}:2026-12-02"]
    assert keys(late, "2026-12-03 10:00", "post_call_followup", sent=["agenda:2026-12-02"]) == [
        f"post_call_followup:{CASE}:2026-12-02"
    ]
