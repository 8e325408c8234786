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


REPLAY_CONFIG = {
    "program_managers": [
        {"name": "Maria Lopez", "email": "mlopez@orbiscascade.org", "areas": ["fulfillment", "systems"]},
        {
            "name": "Dan Ortiz",
            "email": "dortiz@orbiscascade.org",
            "areas": ["discovery", "technical services"],
        },
    ],
    "support_call": {"coordinator": "support-call@orbiscascade.org"},
}
OWNER_KINDS = {"request_update", "escalate", "customer_turn", "survey", "share_on_list", "description_gaps"}
PM_KINDS = {"pm_system_down", "pm_assist", "pm_stalled_high", "widespread"}


@pytest.mark.parametrize("folder", FOLDERS, ids=lambda p: p.name)
def test_replayed_day_by_day_each_expected_message_goes_once_to_the_right_people(
    folder: Path, tmp_path: Path
):
    """``poll --once --at T`` at every instant of the due list, in order: each action expected
    then is in a message, to its owner (or the area's PM); replaying it all again sends nothing."""
    import email
    import email.policy
    from datetime import datetime

    from daemon.config import parse
    from daemon.cycle import run_cycle
    from daemon.ingest import ingest
    from daemon.outbound.transports import FileTransport
    from daemon.sources.files import read_paths
    from daemon.store import Store

    expected = json.loads((folder / "expected.json").read_text(encoding="utf-8"))
    config = parse(REPLAY_CONFIG)
    pms = {pm["email"] for pm in REPLAY_CONFIG["program_managers"]}
    outbox = tmp_path / "outbox"
    with Store(tmp_path / "cw.db") as store, FileTransport(outbox) as transport:
        ingest(store, config, read_paths(sorted(folder.glob("*.eml"))))
        instants = sorted({datetime.fromisoformat(d["at"]) for d in expected["due"]})
        for at in instants:
            run_cycle(store, config, at, transport)
        sent = len(list(outbox.glob("*.eml")))
        again = [run_cycle(store, config, at, transport).sending.sent for at in instants]
        assert again == [0] * len(instants)
        assert len(list(outbox.glob("*.eml"))) == sent
    carried: list[tuple[str, str | None, set[str]]] = []
    for path in sorted(outbox.glob("*.eml")):
        msg = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        people = {
            a.strip().lower() for h in ("To", "Cc") for a in str(msg.get(h, "")).split(",") if a.strip()
        }
        cases = str(msg.get("X-Casewatch-Case", "")).split(",") if msg.get("X-Casewatch-Case") else []
        for kind in str(msg["X-Casewatch-Action"]).split(","):
            if kind in ("digest", "agenda"):
                continue
            for case in cases if kind != "widespread" else [None]:
                carried.append((kind, case, people))
    for want in expected["due"]:
        if not want["expect"]:
            continue
        found = [people for k, c, people in carried if k == want["kind"] and c == want["case"]]
        assert found, f"{want['kind']} for {want['case']}: never sent"
        if want["kind"] in OWNER_KINDS:
            assert expected["cases"][want["case"]]["owner"] in found[0]
        if want["kind"] in PM_KINDS:
            assert found[0] & pms
