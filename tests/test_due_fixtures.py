"""Mailboxes with a ``due`` list: after ingesting them, ``due --at T`` lists (or not) each action.

Each folder of ``tests/fixtures/due/`` is a mailbox in the format of ``shared/samples``, with
an ``expected.json`` holding ``cases`` (checked as in ``test_scenarios``) and ``due``: a list
of ``{"at": ISO8601, "case": N or null, "kind": ACTION, "expect": bool}``. They are written in
other words than the samples, to show the recognizers and rules are not tuned to one wording.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_scenarios import Cli, case_differences, cli  # noqa: F401  (cli is a fixture)

FOLDERS = sorted(p for p in (Path(__file__).parent / "fixtures" / "due").iterdir() if p.is_dir())


@pytest.mark.parametrize("folder", FOLDERS, ids=lambda p: p.name)
def test_due_lists_what_the_policy_asks_for(folder: Path, cli: Cli) -> None:  # noqa: F811
    expected = json.loads((folder / "expected.json").read_text(encoding="utf-8"))
    cli("ingest", str(folder))
    cases = {c["case"]: c for c in cli("cases", "--json", as_json=True)}
    assert sorted(cases) == sorted(expected["cases"])
    assert not set(expected.get("not_cases", [])) & set(cases)
    report = []
    for number, want in sorted(expected["cases"].items()):
        events = cli("show", number, "--json", as_json=True)["events"]
        report += [f"case {number}: {d}" for d in case_differences(want, cases[number], events)]
    for want in expected["due"]:
        actions = cli("due", "--at", want["at"], "--json", as_json=True)
        found = [a for a in actions if a["kind"] == want["kind"] and a["case"] == want["case"]]
        if bool(found) != want["expect"]:
            report.append(
                f"due --at {want['at']}: {want['kind']} for {want['case']} "
                + ("missing" if want["expect"] else f"listed: {found[0]['reason']}")
            )
    assert not report, "\n  ".join(report)


def test_every_action_kind_of_the_samples_is_covered_in_other_words() -> None:
    kinds = {d["kind"] for f in FOLDERS for d in json.loads((f / "expected.json").read_text())["due"]}
    assert kinds >= {
        "pm_system_down",
        "request_update",
        "escalate",
        "pm_assist",
        "pm_stalled_high",
        "customer_turn",
        "survey",
        "share_on_list",
        "description_gaps",
        "widespread",
    }
