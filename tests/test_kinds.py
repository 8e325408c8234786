"""The kinds of events and actions: the ``Literal`` types in ``daemon.model`` are the contract's
names, and a kind the code does not know is refused where it comes in from the database."""

from __future__ import annotations

import re
from pathlib import Path
from typing import get_args

import pytest
from policytools import t

from daemon.model import (
    ACTION_KINDS,
    EVENT_KINDS,
    MESSAGE_KINDS,
    SUMMARY_KINDS,
    ActionKind,
    Event,
    EventKind,
    MessageKind,
    SummaryKind,
    is_event_kind,
    is_message_kind,
    message_kind,
)
from daemon.store import Store
from daemon.store.db import StoreError

CONTRACT = Path(__file__).resolve().parent.parent.parent / "shared" / "spec" / "contract.md"


def _names_under(heading: str) -> list[str]:
    """The backquoted names (``like_this``, not ``policy.md``) in a section of the contract."""
    if not CONTRACT.exists():
        pytest.skip(f"{CONTRACT} is not beside the checkout")
    text = CONTRACT.read_text(encoding="utf-8")
    section = text.split(f"## {heading}\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"`([a-z_]+)`", section)


def test_the_event_kind_literal_is_the_contracts_event_kinds_in_its_order():
    assert list(get_args(EventKind)) == _names_under("Event kinds (timeline)")
    assert get_args(EventKind) == EVENT_KINDS


def test_the_message_kind_literal_is_the_contracts_action_kinds():
    """The contract lists the first kinds, then those "added later" (``backlog`` among them)."""
    assert sorted(get_args(MessageKind)) == sorted(_names_under("Action kinds"))
    assert len(set(get_args(MessageKind))) == len(get_args(MessageKind))


def test_the_tuples_are_the_literals_args():
    assert get_args(ActionKind) == ACTION_KINDS
    assert SUMMARY_KINDS == get_args(SummaryKind) == ("backlog",)
    assert (*ACTION_KINDS, *SUMMARY_KINDS) == MESSAGE_KINDS


@pytest.mark.parametrize(
    ("text", "event", "action"),
    [
        ("case_opened", True, False),
        ("handover", True, True),
        ("backlog", False, True),
        ("digest", False, True),
        ("Case_Opened", False, False),
        ("", False, False),
    ],
)
def test_kind_checks(text, event, action):
    assert (is_event_kind(text), is_message_kind(text)) == (event, action)


def test_message_kind_refuses_a_name_that_is_no_kind():
    assert message_kind("escalate") == "escalate"
    with pytest.raises(ValueError, match="'escalation'"):
        message_kind("escalation")


def test_the_store_refuses_an_event_row_of_a_kind_it_does_not_know(tmp_path: Path):
    """A row written by a newer casewatch (or by hand) is a StoreError where it is read, not an
    event whose kind no rule and no projection expects."""
    opened = Event("10712345", t("2026-10-01 09:00"), "case_opened", "vendor", "<a@x>", "opened", {})
    with Store(tmp_path / "cw.db") as store:
        with store.transaction():
            store.add_events([opened], "m1")
            store.refresh_case("10712345")
        assert [e.kind for e in store.events("10712345")] == ["case_opened"]
        assert [f.number for f in store.snapshot(t("2026-10-02 09:00")).files] == ["10712345"]
        with store.transaction():
            store.conn.execute("UPDATE events SET kind = 'case_exploded'")
        with pytest.raises(StoreError, match="'case_exploded' \\(case 10712345\\)"):
            store.events("10712345")
        with pytest.raises(StoreError, match="'case_exploded' \\(case 10712345\\)"):
            store.snapshot(t("2026-10-02 09:00"))
