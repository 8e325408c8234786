"""``casewatch due --json`` and ``cases --json`` print what ``json.dumps(indent=2)`` prints, byte
for byte, though the containers are laid out by ``daemon.jsontext`` (the C encoder for leaves)."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from daemon.jsontext import indented, write_list
from daemon.model import Action, Case

TRICKY = [
    pytest.param({}, id="empty-dict"),
    pytest.param([], id="empty-list"),
    pytest.param({"a": {}, "b": [], "c": [{}], "d": [[]]}, id="empty-inside"),
    pytest.param({"s": 'quote " backslash \\ newline \n tab \t'}, id="escapes"),
    pytest.param({"é": "naïve ☃ \u2028 😀 \x00"}, id="unicode-keys-and-values"),
    pytest.param([1, -0.0, 2.5, 1e100, 1e-7, float("inf"), float("nan"), 10**30], id="numbers"),
    pytest.param([None, True, False, "", 0], id="constants"),
    pytest.param({"a": [{"b": [{"c": [1, [2, [3]]]}]}]}, id="deeply-nested"),
    pytest.param((1, ("a", ())), id="tuples-as-lists"),
    pytest.param({7: "int key", True: "bool key", None: "none key", 2.5: {"x": [1]}}, id="non-str-keys"),
    pytest.param({"outer": {3: [4]}}, id="non-str-keys-nested"),
    pytest.param("just a string", id="bare-leaf"),
]


@pytest.mark.parametrize("value", TRICKY)
def test_indented_is_json_dumps_with_indent_2(value):
    assert indented(value) == json.dumps(value, indent=2)


@pytest.mark.parametrize("items", [[], [{}], [{"a": 1}, [], "x", {"b": {"c": []}}]])
def test_a_list_written_item_by_item_is_the_list_dumped_at_once(items):
    out = io.StringIO()
    write_list(iter(items), out)
    assert out.getvalue() == json.dumps(items, indent=2) + "\n"


def test_actions_and_cases_as_the_cli_prints_them():
    at = datetime(2026, 11, 20, 18, 0, tzinfo=UTC)
    action = Action("request_update", "10700001", ("a@x.edu",), at, 'He said "hi"\nbye ☃', "k", cc=())
    case = Case("10700001", title="Åsa's ✓", related=("10700002",), opened_at=at)
    items = [action.to_json(), case.to_json()]
    out = io.StringIO()
    write_list(items, out)
    assert out.getvalue() == json.dumps(items, indent=2) + "\n"


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(JSON)
def test_any_json_value_is_indented_as_json_dumps_does(value):
    assert indented(value) == json.dumps(value, indent=2)
