"""`casewatch demo`: the generated story, played through the daemon into a fresh ``state/`` folder.

The expectations below are the story's (``daemon/demo/story.py``), worked out by hand from its
mail and the policy's defaults, not copied from a run:

- 10800006 (WWU, normal) opens Thu 10-01; Ex Libris comments Fri 10-02 09:40 and goes silent.
  Two business days later the owner is asked to request an update; she answers "commented",
  then "escalated" to the escalation reminder; three business days later (Columbus Day
  skipped) the fulfillment PM, Maria Lopez, is asked to help (cc the owner) and answers
  "agenda". The case is on the agenda of the 4 November call and followed up on 5 November.
- 10800007 (UO, high) has had no answer since Thu 09-24: Maria gets ``pm_stalled_high``.
- 10800003 (EWU), 10800004 (UPS), 10800005 (WOU) are linked on the e-resources Google Group:
  three institutions, so Dan Ortiz (technical services) gets ``widespread``; he answers
  "agenda 10800003" on Thu 10-29, inside the week before the call: ``coordinator_contact``.
- The course-reserves cluster alerts Maria at three institutions (WSU, OSU, UW) and again at
  four (REED), after the case of record 10800012 is posted on a Mailman list.
- WSU's owner answers "handover akim@wsu.edu": both of her open cases (10800009, 10800014)
  move to Alex Kim, and one message tells both of them.
- 10800016 (LC) waits on the customer: reminded, snoozed three days by reply, reminded again.
- Twelve replies carry commands (each confirmed by mail); an out-of-office and a bounce answer
  casewatch too, and are ignored like the bundled ones.
- Ten Mondays (09-28 to 11-30), two PMs: twenty digests. Three calls: three agendas.
"""

from __future__ import annotations

import contextlib
import email
import email.policy
import io
import json
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from daemon.cli import main
from daemon.demo import DEMO_DB, DEMO_MAILBOX, DEMO_OUTBOX, story
from daemon.model import ACTION_KINDS
from daemon.store import Store

MARIA = "mlopez@orbiscascade.org"
DAN = "dortiz@orbiscascade.org"
COMMAND_REPLIES = 12  # the story's answers that carry a command (all but the auto-reply and bounce)


@dataclass
class Run:
    folder: Path
    code: int
    out: str
    err: str

    def mail(self) -> list[EmailMessage]:
        return [read(p) for p in sorted((self.folder / DEMO_OUTBOX).glob("*.eml"))]


def read(path: Path) -> EmailMessage:
    msg = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    assert isinstance(msg, EmailMessage)
    return msg


def play(folder: Path) -> Run:
    """``casewatch demo`` in ``folder`` (without any config), its output captured."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.chdir(folder), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["demo"])
    return Run(folder, code, out.getvalue(), err.getvalue())


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("CASEWATCH_CONFIG", raising=False)
        yield play(tmp_path_factory.mktemp("demo"))


def kinds(msg: EmailMessage) -> list[str]:
    return str(msg["X-Casewatch-Action"]).split(",")


def cases(msg: EmailMessage) -> set[str]:
    return set(str(msg["X-Casewatch-Case"] or "").split(",")) - {""}


def to(msg: EmailMessage) -> set[str]:
    return {a.addr_spec for a in msg["To"].addresses}


def about(run: Run, kind: str) -> list[EmailMessage]:
    return [m for m in run.mail() if kind in kinds(m)]


# --------------------------------------------------------------------------- the mailbox


def test_the_story_is_the_same_every_time_with_unique_ids_and_zoned_dates() -> None:
    tz = ZoneInfo("America/Los_Angeles")
    first = story.letters(tz, "casewatch@orbiscascade.org")
    assert first == story.letters(tz, "casewatch@orbiscascade.org")
    messages = [email.message_from_bytes(letter.data, policy=email.policy.default) for letter in first]
    ids = [m["Message-ID"] for m in messages]
    assert all(ids)
    assert len(set(ids)) == len(ids)
    for letter, msg in zip(first, messages, strict=True):
        assert msg["Date"].datetime.tzinfo is not None, letter.name
        assert msg["Date"].datetime == letter.at
        assert "2026-09-21" <= f"{letter.at.astimezone(tz):%Y-%m-%d}" <= "2026-11-30"
    # List traffic of every kind, and noise.
    assert any("LISTSERV-TCP/IP" in str(m["Received"] or "") for m in messages)
    assert any("-dmarc-request@" in str(m["From"]) for m in messages)
    assert any(m["X-Google-Group-Id"] for m in messages)
    assert any(m["X-Mailman-Version"] and "case of record" in m.get_content() for m in messages)
    assert any("multipart/report" in m["Content-Type"] for m in messages)
    assert any(str(m["Subject"]).startswith("Automatic reply") for m in messages)


def test_the_mailbox_is_written_to_state_demo_with_the_staff_answers(run: Run) -> None:
    names = sorted(p.name for p in (run.folder / DEMO_MAILBOX).glob("*.eml"))
    answers = [n for n in names if "-answer-" in n]
    assert len(answers) == COMMAND_REPLIES + 2  # and the auto-reply and the bounce
    assert "2026-10-30-0920-answer-handover-10800014.eml" in answers
    assert len(names) == len(story.letters(ZoneInfo("America/Los_Angeles"), "x@y.org")) + len(answers)


# --------------------------------------------------------------------------- what was sent


def test_every_action_kind_is_in_the_outbox_headers(run: Run) -> None:
    assert run.code == 0
    seen = {k for m in run.mail() for k in kinds(m)}
    assert set(ACTION_KINDS) <= seen
    for m in run.mail():
        assert m["Auto-Submitted"] in ("auto-generated", "auto-replied")
        assert str(m["Reply-To"]).startswith("casewatch+")


def test_the_ladder_by_reply_ends_with_the_pm_the_call_and_the_followup(run: Run) -> None:
    steps = [(kinds(m), to(m)) for m in run.mail() if cases(m) == {"10800006"}]
    assert (["request_update"], {"jdoe@wwu.edu"}) in steps
    assert (["escalate"], {"jdoe@wwu.edu"}) in steps
    [assist] = [m for m in about(run, "pm_assist") if cases(m) == {"10800006"}]
    assert to(assist) == {MARIA}
    assert str(assist["Cc"]) == "jdoe@wwu.edu"
    assert str(assist["Date"]).startswith("Thu, 15 Oct 2026")
    [agenda] = [m for m in about(run, "agenda") if "2026-11-04" in str(m["Subject"])]
    body = agenda.get_body(("plain",))
    assert body is not None
    assert "10800006" in body.get_content()
    assert "10800007" in body.get_content()
    followed = {(c, frozenset(to(m))) for m in about(run, "post_call_followup") for c in cases(m)}
    assert followed == {
        ("10800006", frozenset({MARIA})),
        ("10800007", frozenset({MARIA})),
        ("10800003", frozenset({DAN})),
    }


def test_each_rule_of_the_story_fired_for_its_case(run: Run) -> None:
    def one(kind: str) -> set[tuple[str, ...]]:
        return {tuple(sorted(cases(m))) for m in about(run, kind)}

    assert one("pm_stalled_high") == {("10800007",)}
    assert one("pm_system_down") == {("10800002",)}
    assert one("share_on_list") == {("10800009",)}
    assert one("description_gaps") == {("10800002",), ("10800010",), ("10800015",)}
    assert one("survey") == {("10800002",), ("10800006",), ("10800016",)}  # 10800008 is muted
    assert one("coordinator_contact") == {("10800003",)}
    assert one("record_update") == {("10800003",)}  # the case of record got a vendor comment
    assert one("owner_unreachable") == {("10800005",)}  # the reminder to WOU's contact bounced
    assert [to(m) for m in about(run, "coordinator_contact")] == [{DAN}]
    # Before the snooze and once more after it.
    assert [cases(m) for m in about(run, "customer_turn")] == [{"10800016"}, {"10800016"}]
    widespread = sorted((tuple(sorted(cases(m))), frozenset(to(m))) for m in about(run, "widespread"))
    assert widespread == [
        (("10800003", "10800004", "10800005"), frozenset({DAN})),
        (("10800009", "10800010", "10800011"), frozenset({MARIA})),
        (("10800009", "10800010", "10800011", "10800012", "10800013"), frozenset({MARIA})),
    ]
    [handover] = about(run, "handover")
    assert cases(handover) == {"10800009", "10800014"}
    assert to(handover) == {"lwong@wsu.edu", "akim@wsu.edu"}
    calls = sorted(re.findall(r"\d{4}-\d\d-\d\d", str(m["Subject"]))[0] for m in about(run, "agenda"))
    assert calls == ["2026-10-07", "2026-11-04", "2026-12-02"]
    digests = Counter(frozenset(to(m)) for m in about(run, "digest"))
    assert digests == {frozenset({MARIA}): 10, frozenset({DAN}): 10}


def test_the_staff_replies_were_applied_and_confirmed(run: Run) -> None:
    with Store(run.folder / DEMO_DB) as store:
        by_case = {n: store.events(n) for n in (f"108000{i:02d}" for i in range(1, 17))}
        owners = {n: c.owner for n, c in ((c.number, c) for c in store.cases())}
        noise = store.conn.execute("SELECT count(*) FROM messages WHERE family = 'noise'").fetchone()[0]

    def replied(case: str, kind: str) -> list[dict[str, object]]:
        return [e.data for e in by_case[case] if e.kind == kind and e.data.get("via") == "reply"]

    assert [d["by"] for d in replied("10800006", "update_requested")] == ["jdoe@wwu.edu"]
    assert [d["by"] for d in replied("10800006", "escalation_requested")] == ["jdoe@wwu.edu"]
    assert [d["by"] for d in replied("10800007", "update_requested")] == ["nbenson@uoregon.edu"]
    assert [(d["command"], d["by"]) for d in replied("10800006", "command")] == [("agenda", MARIA)]
    assert [(d["command"], d["by"]) for d in replied("10800003", "command")] == [("agenda", DAN)]
    assert [d["command"] for d in replied("10800008", "command")] == ["mute"]
    assert [d["command"] for d in replied("10800016", "command")] == ["snooze", "done"]
    assert [(d["command"], d["until"]) for d in replied("10800007", "command")] == [
        ("snooze", "2026-12-07T09:00:00-08:00")
    ]
    assert [d["command"] for d in replied("10800015", "command")] == ["done"]
    assert len(replied("10800003", "case_of_record")) == 1
    for case in ("10800009", "10800014"):
        assert [(d["owner"], d["previous_owner"]) for d in replied(case, "handover")] == [
            ("akim@wsu.edu", "lwong@wsu.edu")
        ]
        assert owners[case] == "akim@wsu.edu"
    # Every reply with a command is confirmed to its sender; the auto-reply and the bounce are
    # noise (with the bundled out-of-office and bounce), answered by nothing.
    confirmations = [m for m in run.mail() if kinds(m) == ["confirmation"]]
    assert len(confirmations) == COMMAND_REPLIES
    assert Counter(a for m in confirmations for a in to(m)) == {
        "jdoe@wwu.edu": 2,
        "nbenson@uoregon.edu": 2,
        "rhart@lclark.edu": 2,
        DAN: 2,
        MARIA: 1,
        "pkim@reed.edu": 1,
        "lwong@wsu.edu": 1,
        "cyoung@whitman.edu": 1,
    }
    assert noise == 4
    assert not any("help" in kinds(m) for m in run.mail())


def test_no_message_and_no_action_is_doubled(run: Run) -> None:
    mail = run.mail()
    ids = [str(m["Message-ID"]) for m in mail]
    assert len(set(ids)) == len(ids)
    with Store(run.folder / DEMO_DB) as store:
        sent = store.outbox("sent")
        assert len(sent) == len(mail)
        assert all(r["status"] == "sent" for r in store.outbox())
        keys = [
            (e.case, e.data["key"])
            for c in store.cases()
            for e in store.events(c.number)
            # (a delivery report for our mail is recorded as a failed reminder: not a sending)
            if e.kind == "reminder_sent" and e.data.get("delivery") != "failed"
        ]
        rows = store.conn.execute("SELECT key, outbox_id FROM sent").fetchall()
    assert keys
    assert len(set(keys)) == len(keys)
    assert len({k for k, _ in rows}) == len(rows)
    # Once per period: no case got the same kind twice for one silence / stretch / call.
    assert {k for _, k in keys} <= {k for k, _ in rows}


# --------------------------------------------------------------------------- what it prints


def test_the_summary_names_the_outbox_and_shows_the_first_digest(run: Run) -> None:
    out = run.out
    assert "state/outbox/" in out
    assert "state/demo/casewatch.db" in out
    assert "casewatch --config state/demo/demo.toml show 10800006" in out
    assert "casewatch --config state/demo/demo.toml cases" in out
    assert f"digest --at 2026-09-28T09:00 --pm {MARIA}" in out
    assert "NOT SEEN" not in out
    assert "NOT WRITTEN" not in out
    for kind in ACTION_KINDS:
        assert re.search(rf"\b{kind} [1-9]", out), kind
    # The first digest, in full: Maria's week ending Mon 2026-09-28 08:00, with UO's and
    # REED's cases opened that week.
    digest = out[out.index("The first weekly digest") :]
    assert "Maria Lopez" in digest.splitlines()[0]
    assert "2026-09-21 to\n2026-09-28" in digest or "2026-09-21 to 2026-09-28" in digest
    assert "--- NEW THIS WEEK: 2" in digest
    assert "10800007" in digest
    assert "10800008" in digest
    # Progress, one line a simulated week.
    assert len(re.findall(r"^  week of ", run.err, re.MULTILINE)) == 10


def test_the_demo_config_explores_the_demo_database(run: Run, capsys: pytest.CaptureFixture[str]) -> None:
    with contextlib.chdir(run.folder):
        assert main(["--config", "state/demo/demo.toml", "cases", "--json"]) == 0
        shown = {c["case"]: c for c in json.loads(capsys.readouterr().out)}
        week = ["--at", "2026-10-26T09:00", "--pm", MARIA]
        assert main(["--config", "state/demo/demo.toml", "digest", *week]) == 0
        digest = capsys.readouterr().out
    assert len(shown) == 16
    assert shown["10800012"]["case_of_record"] is True
    assert shown["10800003"]["case_of_record"] is True
    assert shown["10800006"]["state"] == "closed"
    assert "10800007" in digest


# --------------------------------------------------------------------------- starting clean


def test_a_rerun_starts_clean(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CASEWATCH_CONFIG", raising=False)
    db = tmp_path / DEMO_DB
    db.parent.mkdir(parents=True)
    db.write_bytes(b"left over from an older run, not a database")
    (tmp_path / DEMO_MAILBOX).mkdir()
    (tmp_path / DEMO_MAILBOX / "stale.eml").write_bytes(b"Subject: stale\n\nold\n")
    first = play(tmp_path)
    assert first.code == 0
    outbox = sorted(p.name for p in (tmp_path / DEMO_OUTBOX).glob("*.eml"))
    mailbox = sorted(p.name for p in (tmp_path / DEMO_MAILBOX).glob("*.eml"))
    assert "stale.eml" not in mailbox
    (tmp_path / DEMO_OUTBOX / "stale.eml").write_bytes(b"Subject: left by the first run\n\n")
    second = play(tmp_path)
    assert second.code == 0
    assert sorted(p.name for p in (tmp_path / DEMO_OUTBOX).glob("*.eml")) == outbox
    assert sorted(p.name for p in (tmp_path / DEMO_MAILBOX).glob("*.eml")) == mailbox
    assert second.out == first.out


def test_mail_the_demo_did_not_write_is_not_deleted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CASEWATCH_CONFIG", raising=False)
    mine = tmp_path / DEMO_OUTBOX / "mine.eml"
    mine.parent.mkdir(parents=True)
    mine.write_bytes(b"Subject: the daemon's own mail\n\n")
    result = play(tmp_path)
    assert result.code == 2
    assert "state/outbox/ holds mail the demo did not write" in result.err
    assert mine.exists()


def test_the_users_people_are_kept_and_the_configured_database_untouched(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CASEWATCH_CONFIG", raising=False)
    (tmp_path / "config.toml").write_text(
        '[consortium]\nname = "Test Consortium"\n[state]\ndb = "mine.db"\n'
        '[[program_managers]]\nname = "Pat Quinn"\nemail = "pquinn@example.org"\n'
        'areas = ["fulfillment", "systems", "discovery", "technical services"]\n'
    )
    result = play(tmp_path)
    assert result.code == 0
    assert not (tmp_path / "mine.db").exists()
    mail = [read(p) for p in (tmp_path / DEMO_OUTBOX).glob("*.eml")]
    assert {a for m in mail if "digest" in kinds(m) for a in to(m)} == {"pquinn@example.org"}
    assert {k for m in mail for k in kinds(m)} >= set(ACTION_KINDS)
    assert "Test Consortium" in result.out
