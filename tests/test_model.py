"""The domain values' fast copies: ``evolve`` and ``stored_event`` give what ``dataclasses``
gives, field for field."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import pytest

from daemon.model import Action, Basis, Case, Event, Link, RawMessage, evolve, stored_event

AT = datetime(2026, 9, 14, 17, 0, tzinfo=UTC)
CASE = Case("10700001", "t", "WWU", "o@wwu.edu", "high", "s", "open", "vendor", False, ("1",), AT, AT, "a")
ACTION = Action(
    "request_update",
    "10700001",
    ("o@wwu.edu",),
    AT,
    "why",
    "k",
    cc=("c",),
    marks=("m",),
    basis=Basis("clock", AT, "what", "2 business days"),
    data={"x": [1]},
)
EVENT = Event("10700001", AT, "vendor_comment", "vendor", "<m@x>", "said", {"institution": "WWU"})


@pytest.mark.parametrize(
    ("value", "changes"),
    [
        pytest.param(CASE, {"description": "long"}, id="case-one-field"),
        pytest.param(CASE, {"description": None, "owner": None, "related": ()}, id="case-many-fields"),
        pytest.param(CASE, {}, id="case-no-change"),
        pytest.param(ACTION, {"urgent": True}, id="action-urgent"),
        pytest.param(ACTION, {"due_at": AT.replace(hour=20), "key": "k@x", "marks": ()}, id="action-held"),
        pytest.param(EVENT, {"summary": "", "data": {}}, id="event-slim"),
        pytest.param(Link("1", "2", "cited"), {"at": AT}, id="link"),
    ],
)
def test_evolve_is_dataclasses_replace(value, changes):
    got = evolve(value, **changes)
    assert got == dataclasses.replace(value, **changes)
    assert type(got) is type(value)
    assert [getattr(got, f.name) for f in dataclasses.fields(got)] == [
        changes.get(f.name, getattr(value, f.name)) for f in dataclasses.fields(value)
    ]
    assert got is not value


def test_evolve_refuses_an_unknown_field_and_a_class_without_slots():
    with pytest.raises(TypeError, match="no field 'descripton'"):
        evolve(CASE, descripton=None)
    with pytest.raises(TypeError, match="RawMessage is not a dataclass with slots"):
        evolve(RawMessage(b"", "x"), origin="y")


def test_evolve_leaves_the_original_alone():
    evolve(CASE, owner="new@wwu.edu")
    assert CASE.owner == "o@wwu.edu"


def test_stored_event_sets_each_field_in_its_place():
    values = ("10700001", AT, "vendor_comment", "vendor", "<m@x>", "hello", {"a": 1})
    made = stored_event(*values)
    assert [getattr(made, f.name) for f in dataclasses.fields(Event)] == list(values)
    assert made == Event(*values)
    with pytest.raises(dataclasses.FrozenInstanceError):
        made.summary = "changed"  # type: ignore[misc]
