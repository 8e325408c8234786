"""The pure timeline: what a recognition adds, and the case its events project to."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from daemon.config import Config
from daemon.model import Case, CaseFields, Event, EventKind, Link, Recognition
from daemon.store import Store
from daemon.timeline import interpret, project, state_of, visible

AT = datetime(2026, 10, 6, 14, 40, tzinfo=UTC)
CFG = Config()


def vendor(kind: str, **fields: str) -> Recognition:
    return Recognition("vendor", kind, cases=("10712345",), fields=CaseFields(**fields))


@pytest.mark.parametrize(
    ("status", "state"),
    [
        ("Pending Customer Input", "pending_customer"),
        ("Awaiting Customer Response", "pending_customer"),
        ("Closed", "closed"),
        ("Resolved", "closed"),
        ("In Progress - Tier 2", "open"),
        ("New", "open"),
        (None, None),
    ],
)
def test_state_of_vendor_status(status: str | None, state: str | None) -> None:
    assert state_of(status, CFG) == state


@pytest.mark.parametrize(
    ("rec", "kinds"),
    [
        (vendor("created", status="New"), ["case_opened"]),
        (vendor("comment"), ["vendor_comment"]),
        (vendor("status", status="Pending Customer Input"), ["status_changed"]),
        (vendor("status", status="Closed"), ["case_closed"]),
        (vendor("closed", status="Closed"), ["case_closed"]),
        (vendor("escalation_ack"), ["escalation_acknowledged"]),
        (vendor("pending_reminder"), ["pending_customer_reminder"]),
        (vendor("survey"), ["survey_invited"]),
        (Recognition("member", "update_request", cases=("10712345",)), ["update_requested"]),
        (Recognition("member", "escalation_request", cases=("10712345",)), ["escalation_requested"]),
        (Recognition("member", "comment", cases=("10712345",)), ["member_comment"]),
        (Recognition("list", "post", cases=("10712345", "10712350")), ["list_mention", "list_mention"]),
        (Recognition("noise", "auto_reply", cases=()), []),
        (Recognition("other", "other", cases=("10712345",)), []),
    ],
)
def test_events_of_each_kind(rec: Recognition, kinds: list[str]) -> None:
    out = interpret(rec, AT, "<m@x>", None, {}, CFG)
    assert [e.kind for e in out.events] == kinds
    assert bool(out.ignored) == (not kinds)


def test_status_mail_on_a_closed_case_reopens_it() -> None:
    before = Case("10712345", state="closed", status="Closed")
    out = interpret(vendor("status", status="In Progress"), AT, None, None, {"10712345": before}, CFG)
    assert [e.kind for e in out.events] == ["status_changed", "case_reopened"]


def test_new_priority_is_a_priority_change() -> None:
    before = Case("10712345", state="open", priority="normal")
    out = interpret(vendor("comment", priority="high"), AT, None, None, {"10712345": before}, CFG)
    assert [e.kind for e in out.events] == ["vendor_comment", "priority_changed"]


def test_mail_citing_several_cases_links_them_and_is_not_folded() -> None:
    rec = Recognition("member", "comment", cases=("10712345", "10712350", "10712360"))
    out = interpret(rec, AT, None, None, {}, CFG)
    assert [e.case for e in out.events] == ["10712345"]
    assert set(out.links) == {
        Link("10712345", "10712350", "cited together"),
        Link("10712345", "10712360", "cited together"),
    }


def test_case_of_record_post() -> None:
    rec = Recognition("list", "case_of_record", cases=("10712400", "10712350"), record_case="10712400")
    out = interpret(rec, AT, None, None, {}, CFG)
    assert [(e.case, e.kind) for e in out.events] == [
        ("10712400", "case_of_record"),
        ("10712350", "list_mention"),
    ]
    assert out.links == (Link("10712350", "10712400", "case of record"),)


def test_vendor_mail_without_case_uses_the_resolved_one() -> None:
    rec = Recognition("vendor", "comment", cases=())
    assert interpret(rec, AT, None, None, {}, CFG).ignored
    assert interpret(rec, AT, None, "10712345", {}, CFG).events[0].case == "10712345"


def ev(kind: str, day: int, actor: str = "vendor", **data: object) -> Event:
    return Event("10712345", datetime(2026, 10, day, tzinfo=UTC), kind, actor, None, "", dict(data))


def test_projection_later_wins_and_tracks_responses() -> None:
    events = [
        ev("case_opened", 1, priority="normal", status="New", state="open", owner="a@wwu.edu"),
        ev("vendor_comment", 2),
        ev("status_changed", 3, status="Pending Customer Input", state="pending_customer"),
        ev("update_requested", 4, actor="member"),
        ev("priority_changed", 5, priority="high"),
    ]
    case = project("10712345", list(reversed(events)), ["10712400"])
    assert (case.priority, case.status, case.state, case.source) == (
        "high",
        "Pending Customer Input",
        "pending_customer",
        "vendor",
    )
    assert case.opened_at == datetime(2026, 10, 1, tzinfo=UTC)
    assert case.last_vendor_response_at == datetime(2026, 10, 3, tzinfo=UTC)
    assert case.related == ("10712400",)


def test_list_only_case_and_newsletter_visibility() -> None:
    mention = ev("list_mention", 1, actor="list")
    news = ev("list_mention", 1, newsletter=True)
    assert project("10712345", [mention]).source == "list"
    assert project("10712345", [mention]).state == "unknown"
    assert visible([mention])
    assert not visible([news])


@pytest.mark.parametrize(
    ("rec", "before_status", "kinds"),
    [
        # an acknowledgement carrying a new Status: the ack is no response, the change is one
        (
            vendor("escalation_ack", status="Escalated - Tier 2"),
            "In Progress",
            ["escalation_acknowledged", "status_changed"],
        ),
        (
            vendor("pending_reminder", status="Pending Customer Input"),
            "In Progress",
            ["pending_customer_reminder", "status_changed"],
        ),
        # the same Status again (in another case of letters) is no change
        (
            vendor("pending_reminder", status="pending customer input"),
            "Pending Customer Input",
            ["pending_customer_reminder"],
        ),
        (vendor("survey", status="Closed"), "Closed", ["survey_invited"]),
        # a comment whose notification says Closed closes the case
        (vendor("comment", status="Closed"), "In Progress - Tier 2", ["vendor_comment", "case_closed"]),
        (
            vendor("comment", status="Update Received"),
            "Pending Customer Input",
            ["vendor_comment", "status_changed"],
        ),
    ],
)
def test_a_new_status_in_any_vendor_mail_is_a_status_change(
    rec: Recognition, before_status: str, kinds: list[str]
) -> None:
    before = Case("10712345", state=state_of(before_status, CFG) or "open", status=before_status)
    out = interpret(rec, AT, "<m@x>", None, {"10712345": before}, CFG)
    assert [e.kind for e in out.events] == kinds
    later = [
        Event(
            "10712345",
            datetime(2026, 10, 1, tzinfo=UTC),
            "case_opened",
            "vendor",
            None,
            "",
            {"status": before_status},
        )
    ]
    case = project("10712345", [*later, *out.events])
    assert (case.status, case.state) == (rec.fields.status, state_of(rec.fields.status, CFG))
    changed = len(kinds) > 1
    assert (case.last_vendor_response_at == AT) == (changed or kinds[0] == "vendor_comment")


def test_an_acknowledgement_without_news_is_no_response() -> None:
    opened = ev("case_opened", 1, status="In Progress", state="open")
    before = project("10712345", [opened])
    out = interpret(
        vendor("escalation_ack", status="In Progress"), AT, "<m@x>", None, {"10712345": before}, CFG
    )
    assert [e.kind for e in out.events] == ["escalation_acknowledged"]
    assert project("10712345", [opened, *out.events]).last_vendor_response_at is None


def test_an_owner_learned_earlier_stays_when_a_later_mail_names_none() -> None:
    first = ev("vendor_comment", 2, owner="mmcfate@wou.edu", owner_guessed=True)
    later_rec = Recognition("vendor", "comment", cases=("10712345",), fields=CaseFields(status="In Progress"))
    before = project("10712345", [first])
    out = interpret(later_rec, AT, None, None, {"10712345": before}, CFG)
    assert project("10712345", [first, *out.events]).owner == "mmcfate@wou.edu"


def test_the_store_keeps_a_projection_through_a_transaction_equal_to_projecting_anew(tmp_path: Path) -> None:
    """Store.projection folds a case's new events into the projection it made earlier in the
    transaction; after each write it equals project() over all the case's events as stored:
    in order, with a zone other than UTC, a later handover, an event older than the latest
    (read late), an undo, and a mailing (not visible until other mail names the case)."""
    n = "10712345"
    at = datetime(2026, 10, 6, 14, 40, tzinfo=timezone(timedelta(hours=2)))

    def ev(hours: int, kind: EventKind, actor: str = "vendor", mid: str = "<v@x>", **data: object) -> Event:
        return Event(n, at + timedelta(hours=hours), kind, actor, mid, kind, dict(data))

    steps = [
        [ev(0, "list_mention", "vendor", newsletter=True)],
        [ev(1, "case_opened", owner="a@wwu.edu", status="New", state="open", priority="Medium")],
        [
            ev(2, "vendor_comment", owner="b@wwu.edu", owner_guessed=True),
            ev(2, "priority_changed", priority="High"),
        ],
        [ev(3, "handover", "member", "<r1@x>", owner="c@wwu.edu")],
        [ev(4, "vendor_comment", owner="d@wwu.edu", owner_guessed=True, status="In Progress")],
        [ev(-1, "status_changed", status="Pending Customer Input", state="pending_customer")],
        [ev(5, "case_closed", status="Closed", state="closed")],
        [ev(6, "command", "member", "<r2@x>", command="undo", target="<r1@x>")],
        [ev(7, "case_reopened"), ev(7, "vendor_comment", status="Update Received", state="open")],
    ]
    with Store(tmp_path / "cw.db") as store, store.transaction():
        for events in steps:
            store.add_events(events, None)
            stored = store.events(n)
            expected = (project(n, stored, store.related(n)), visible(stored))
            case, shown = store.projection(n)
            assert (case, shown) == expected
            assert case.to_json() == expected[0].to_json()  # the instants in UTC, as read back
            assert store.refresh_case(n).to_json() == expected[0].to_json()
    with Store(tmp_path / "cw.db") as store:
        cached = store.case(n)
        assert cached is not None
        assert cached.to_json() == project(n, store.events(n)).to_json()


def test_a_kept_projection_sees_what_another_connection_wrote_and_forgets_what_rolled_back(
    tmp_path: Path,
) -> None:
    """The store keeps its projections from one transaction to the next only while no other
    connection has written, and drops them when a transaction rolls back."""
    n = "10712345"
    opened = Event(n, AT, "case_opened", "vendor", "<a@x>", "opened", {"state": "open", "owner": "a@x.edu"})
    later = Event(n, AT + timedelta(hours=1), "vendor_comment", "vendor", "<b@x>", "c", {"owner": "b@x.edu"})
    undone = Event(n, AT + timedelta(hours=2), "case_closed", "vendor", "<c@x>", "x", {"state": "closed"})

    def failing_batch(store: Store) -> None:
        with store.transaction():
            store.add_events([undone], None)
            assert store.projection(n)[0].state == "closed"
            raise RuntimeError("the batch fails")

    with Store(tmp_path / "cw.db") as mine, Store(tmp_path / "cw.db") as other:
        with mine.transaction():
            mine.add_events([opened], None)
            assert mine.projection(n)[0].owner == "a@x.edu"
        with other.transaction():
            other.add_events([later], None)
        with mine.transaction():
            assert mine.projection(n)[0].owner == "b@x.edu"
        with pytest.raises(RuntimeError):
            failing_batch(mine)
        with mine.transaction():
            assert mine.projection(n) == (project(n, mine.events(n)), True)
            assert mine.projection(n)[0].state == "open"
