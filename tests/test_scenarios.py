"""Scenario mailboxes played through the command line, end to end.

Each folder of ``tests/fixtures/scenarios/`` is a small mailbox of ``.eml`` files and an
``expected.json`` in the format of ``shared/samples/expected.json`` (without ``due``):

- ``cases``: every case number the mailbox must yield, no more and no fewer, each with the
  fields of ``cases --json`` that must match (``institution``, ``owner``, ``priority``,
  ``state``, ``status``, ``source``, ``case_of_record``, ``title``; instants such as
  ``opened_at`` and ``last_vendor_response_at`` are compared as instants) and timeline counts
  read from ``show CASE --json``: ``vendor_comments`` (``vendor_comment`` events),
  ``member_comments`` (``member_comment`` + ``update_requested``), ``list_mentions``
  (``list_mention``), each also as ``..._min`` (at least that many); ``escalation_requested``
  (whether that event exists); ``related_includes`` (numbers that must be in ``related``);
  ``events_min`` (``{event kind: at least that many}``).
- ``not_cases``: numbers in the mail that must not become cases.

The folder is ingested as it is, ``expected.json`` included: it is not mail and must be
ignored or quarantined.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

SCENARIOS = Path(__file__).parent / "fixtures" / "scenarios"
FOLDERS = sorted(p for p in SCENARIOS.iterdir() if p.is_dir())

#: Count keys of expected.json and the event kinds they count.
COUNTS = {
    "vendor_comments": ("vendor_comment",),
    "member_comments": ("member_comment", "update_requested"),
    "list_mentions": ("list_mention",),
}
CASE_FIELDS = {
    "title",
    "institution",
    "owner",
    "priority",
    "state",
    "status",
    "source",
    "case_of_record",
    "opened_at",
    "last_vendor_response_at",
}
OTHER_KEYS = {"escalation_requested", "related_includes", "events_min"}
KNOWN_KEYS = CASE_FIELDS | OTHER_KEYS | set(COUNTS) | {f"{k}_min" for k in COUNTS}

Cli = Callable[..., Any]
Json = dict[str, Any]


def case_differences(want: Json, case: Json, events: list[Json]) -> list[str]:
    """Every way one case (from ``cases --json``) and its events (``show``) miss ``want``."""
    unknown = set(want) - KNOWN_KEYS
    assert not unknown, f"expected.json: unknown keys {sorted(unknown)}"
    diffs: list[str] = []
    kinds = Counter(e["kind"] for e in events)
    timeline = ", ".join(e["kind"] for e in events)

    for key in sorted(set(want) & CASE_FIELDS):
        expected, got = want[key], case.get(key)
        if key.endswith("_at") and expected is not None and got is not None:
            same = datetime.fromisoformat(expected) == datetime.fromisoformat(got)
        else:
            same = expected == got
        if not same:
            diffs.append(f"{key}: expected {expected!r}, got {got!r}")

    for key, event_kinds in COUNTS.items():
        got_n = sum(kinds[k] for k in event_kinds)
        label = f"{key} ({' + '.join(event_kinds)} events)"
        if key in want and got_n != want[key]:
            diffs.append(f"{label}: expected {want[key]}, got {got_n}")
        if f"{key}_min" in want and got_n < want[f"{key}_min"]:
            diffs.append(f"{label}: expected at least {want[f'{key}_min']}, got {got_n}")

    for kind, n in want.get("events_min", {}).items():
        if kinds[kind] < n:
            diffs.append(f"{kind} events: expected at least {n}, got {kinds[kind]}")

    if "escalation_requested" in want:
        has, wanted = kinds["escalation_requested"] > 0, want["escalation_requested"]
        if has != wanted:
            diffs.append(f"escalation_requested event: expected {wanted}, got {has}")

    missing = sorted(set(want.get("related_includes", [])) - set(case.get("related", [])))
    if missing:
        diffs.append(f"related: missing {missing}, got {case.get('related')!r}")

    if diffs:
        diffs.append(f"(timeline: {timeline or 'no events'})")
    return diffs


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Cli:
    """Run ``casewatch --config <tmp config> ARGS...`` in-process; return its parsed JSON
    output (``as_json=True``) or its text output."""
    from daemon.cli import main

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("CASEWATCH_CONFIG", raising=False)
    config = tmp_path / "config.toml"
    config.write_text(f'[state]\ndb = "{(tmp_path / "cw.db").as_posix()}"\n', encoding="utf-8")

    def run(*args: str, as_json: bool = False) -> Any:
        capsys.readouterr()
        try:
            code = main(["--config", str(config), *args])
        except SystemExit as exc:
            code = exc.code
        out, err = capsys.readouterr()
        assert code in (0, None), f"casewatch {' '.join(args)} exited {code}: {err or out}"
        return json.loads(out) if as_json else out

    return run


@pytest.mark.parametrize("folder", FOLDERS, ids=lambda p: p.name)
def test_scenario(folder: Path, cli: Cli) -> None:
    """Ingesting the mailbox yields exactly the expected cases, fields and timelines."""
    expected = json.loads((folder / "expected.json").read_text(encoding="utf-8"))
    assert set(expected) <= {"cases", "not_cases", "note"}, "unknown top-level keys"

    cli("ingest", str(folder))
    cases = {c["case"]: c for c in cli("cases", "--json", as_json=True)}

    assert sorted(cases) == sorted(expected["cases"]), "the set of case numbers differs"
    leaked = sorted(set(expected["not_cases"]) & set(cases))
    assert not leaked, f"not case numbers, yet cases: {leaked}"

    report: list[str] = []
    for number, want in sorted(expected["cases"].items()):
        shown = cli("show", number, "--json", as_json=True)
        assert shown["case"] == number
        diffs = case_differences(want, cases[number], shown["events"])
        report += [f"case {number}: {d}" for d in diffs]
    assert not report, f"{folder.name}:\n  " + "\n  ".join(report)


def test_scenarios_are_small_mailboxes() -> None:
    """At least four scenarios, each 5-12 messages with its expected.json."""
    assert len(FOLDERS) >= 4
    for folder in FOLDERS:
        assert (folder / "expected.json").is_file(), folder.name
        assert 5 <= len(list(folder.glob("*.eml"))) <= 12, folder.name
