"""`casewatch demo`: the bundled mailbox, played into a fresh database, summarized."""

from __future__ import annotations

import email
import email.policy
from pathlib import Path

import pytest

from daemon.cli import main
from daemon.demo import DEMO_DB, mailbox
from daemon.store import Store

# The story the bundled mailbox tells (daemon/demo/mailbox/*.eml), written down by hand.
CASES = {
    "10800001": ("open", "In Progress"),  # PDX: comment, pending customer, reply, in progress
    "10800002": ("closed", "Closed"),  # SPU: system down, closed the same day, survey
    "10800003": ("open", "New"),  # EWU: HTML-only; update request, then escalation
    "10800004": ("unknown", None),  # UPS: cited on the Google Group and on ALMA-L only
    "10800005": ("unknown", None),  # WOU: cited on the Google Group and on ALMA-L only
}
MESSAGES = 15
COUNTS = "Read 15 messages: ingested 13, duplicates 0, ignored 2, quarantined 0."


@pytest.fixture
def demo_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("CASEWATCH_CONFIG", raising=False)
    return tmp_path


def test_the_mailbox_ships_in_the_package_with_unique_message_ids() -> None:
    entries = mailbox()
    assert len(entries) == MESSAGES
    ids = []
    for entry in entries:
        msg = email.message_from_bytes(entry.read_bytes(), policy=email.policy.default)
        assert msg["Date"].datetime.tzinfo is not None, entry.name
        ids.append(msg["Message-ID"])
    assert all(ids)
    assert len(set(ids)) == len(ids)


def test_demo_ingests_into_a_fresh_database_and_summarizes(
    demo_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = demo_dir / DEMO_DB
    db.parent.mkdir(parents=True)
    db.write_bytes(b"left over from an older run, not a database")
    (db.parent / "casewatch.db-wal").write_bytes(b"stale")

    assert main(["demo"]) == 0
    first = capsys.readouterr()
    assert db.exists()
    assert COUNTS in first.out
    for number in CASES:
        assert number in first.out
    assert "10800003 -- 10800004" in first.out
    assert 'db = "state/demo/casewatch.db"' in first.out
    assert "show 10800003" in first.out

    with Store(db) as store:
        found = {c.number: (c.state, c.status) for c in store.cases()}
        kinds = [e.kind for e in store.events("10800003")]
    assert found == CASES
    assert "update_requested" in kinds
    assert "escalation_requested" in kinds

    # A rerun starts clean: same output (nothing in it depends on the clock), same counts.
    assert main(["demo"]) == 0
    second = capsys.readouterr()
    assert second.out == first.out


def test_demo_plays_the_daemon_day_by_day_into_a_local_outbox(
    demo_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["demo"]) == 0
    out = capsys.readouterr().out
    files = sorted((demo_dir / "state" / "demo" / "outbox").glob("*.eml"))
    assert files
    assert f"{len(files)} message(s)." in out
    headers = [email.message_from_bytes(f.read_bytes(), policy=email.policy.default) for f in files]
    carried = {(h["X-Casewatch-Action"], h["X-Casewatch-Case"], h["To"]) for h in headers}
    # The story, by hand: EWU's owner asked for an update on 10800003 and then escalated
    # without an answer (the PM is asked to help); SPU's system-down case alerts its PM.
    assert ("pm_assist", "10800003", "dortiz@orbiscascade.org") in carried
    assert any(a == "pm_system_down" and c == "10800002" for a, c, _ in carried)
    # A second run starts over: the same messages, no more.
    assert main(["demo"]) == 0
    assert len(sorted((demo_dir / "state" / "demo" / "outbox").glob("*.eml"))) == len(files)
