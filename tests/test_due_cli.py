"""``due`` and ``explain`` on the command line: JSON shape, instants, hand-written explanations,
and the config mistakes that must stop casewatch with exit 2 naming the key."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest
from policytools import ev, opened

from daemon.cli import main
from daemon.store import Store

PMS = """
[[program_managers]]
name = "Maria Lopez"
email = "mlopez@orbiscascade.org"
areas = ["fulfillment"]
"""


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("CASEWATCH_CONFIG", raising=False)
    db = tmp_path / "cw.db"
    config = tmp_path / "config.toml"
    config.write_text(f'[state]\ndb = "{db.as_posix()}"\n{PMS}', encoding="utf-8")

    def store(*events):
        with Store(db) as s, s.transaction():
            s.add_events(events, None)
            for number in {e.case for e in events}:
                s.refresh_case(number)

    def run(*args: str) -> tuple[int, str, str]:
        capsys.readouterr()
        code = main(["--config", str(config), *args])
        out, err = capsys.readouterr()
        return code, out, err

    return store, run, config


def test_due_json_has_the_contract_shape(env):
    store, run, _ = env
    store(opened("2026-09-14 10:00"))
    code, out, _ = run("due", "--at", "2026-09-16T10:00:00-07:00", "--json")
    assert code == 0
    [action] = [a for a in json.loads(out) if a["kind"] != "digest"]
    assert {"kind", "case", "to", "due_at", "reason"} <= set(action)
    assert action["kind"] == "request_update"
    assert action["case"] == "10700001"
    assert action["to"] == ["jdoe@wwu.edu"]
    assert datetime.fromisoformat(action["due_at"]) == datetime.fromisoformat("2026-09-16T10:00:00-07:00")


def case_kinds(out: str) -> list[str]:
    return [a["kind"] for a in json.loads(out) if a["case"]]


def test_due_at_without_an_offset_is_local_time(env):
    store, run, _ = env
    store(opened("2026-09-14 10:00"))
    _, with_offset, _ = run("due", "--at", "2026-09-16T10:00:00-07:00", "--json")
    _, local, _ = run("due", "--at", "2026-09-16T10:00", "--json")
    assert json.loads(local) == json.loads(with_offset)
    assert case_kinds(local) == ["request_update"]
    _, early, _ = run("due", "--at", "2026-09-16T09:59", "--json")
    assert case_kinds(early) == []


def test_due_only_counts_mail_up_to_the_instant(env):
    store, run, _ = env
    store(opened("2026-09-14 10:00"), ev("vendor_comment", "2026-09-16 11:00"))
    _, before, _ = run("due", "--at", "2026-09-16T10:30", "--json")
    _, after, _ = run("due", "--at", "2026-09-16T11:30", "--json")
    assert case_kinds(before) == ["request_update"]
    assert case_kinds(after) == []


def test_a_bad_instant_is_a_usage_error(env):
    _, run, _ = env
    code, _out, err = run("due", "--at", "next tuesday")
    assert code == 2
    assert "--at" in err
    assert "ISO 8601" in err
    assert "Traceback" not in err


def test_explain_an_unknown_case_is_a_usage_error(env):
    _, run, _ = env
    code, _, err = run("explain", "10799999")
    assert code == 2
    assert "no case 10799999" in err


EXPLAIN_NORMAL = """\
Case 10700001 ("Hold shelf letters not sent") as of Fri 2026-09-18 10:00 PDT
  normal priority, open, owner jdoe@wwu.edu (WWU)
  Area: fulfillment: its category "Alma / Fulfillment / Letters" maps to fulfillment.
Clock: vendor owes us, since Tue 2026-09-15 16:00 PDT (the vendor's comment).
Business time: Mon, Tue, Wed, Thu, Fri 08:00-17:00 America/Los_Angeles, minus US holidays.

request_update: DUE, due Thu 2026-09-17 16:00 PDT
  the vendor's comment Tue 2026-09-15 16:00 PDT + 2 business days = Thu 2026-09-17 16:00 PDT
  business time elapsed: 2 business days 3 h of 2 business days
  to: jdoe@wwu.edu
  why: Case 10700001 ("Hold shelf letters not sent") has had no response from Ex Libris since \
Tue 2026-09-15 16:00 PDT (the vendor's comment). After 2 business days (normal priority) the policy \
suggests asking for an update in the case comments.
  next: once an update is requested, escalate falls due 2 business days later if Ex Libris stays silent.
"""


def test_explain_a_silent_vendor(env):
    store, run, _ = env
    store(opened("2026-09-14 10:00"), ev("vendor_comment", "2026-09-15 16:00"))
    code, out, _ = run("explain", "10700001", "--at", "2026-09-18T10:00")
    assert code == 0
    assert out == EXPLAIN_NORMAL


EXPLAIN_DOWN = """\
Case 10700002 ("Hold shelf letters not sent") as of Sat 2026-09-19 15:00 PDT
  system-down priority, open, owner jdoe@wwu.edu (WWU)
  Area: fulfillment: its category "Alma / Fulfillment / Letters" maps to fulfillment.
Clock: vendor owes us, since Sat 2026-09-19 10:00 PDT (the case opened).
Business time: the 24x7 clock (a business day is 24 hours) for this priority.

pm_system_down: DUE, due Sat 2026-09-19 10:00 PDT
  at once: System/Component Down priority Sat 2026-09-19 10:00 PDT
  to: mlopez@orbiscascade.org; cc: jdoe@wwu.edu
  why: Case 10700002 ("Hold shelf letters not sent") is a System/Component Down case since \
Sat 2026-09-19 10:00 PDT (owner jdoe@wwu.edu); the policy asks that the fulfillment PM be told at \
once. Its category "Alma / Fulfillment / Letters" maps to fulfillment.

request_update: DUE, due Sat 2026-09-19 14:00 PDT
  the case opened Sat 2026-09-19 10:00 PDT + 4 hours = Sat 2026-09-19 14:00 PDT
  time elapsed: 5 h of 4 hours
  to: jdoe@wwu.edu
  why: Case 10700002 ("Hold shelf letters not sent") has had no response from Ex Libris since \
Sat 2026-09-19 10:00 PDT (the case opened). After 4 hours (system-down priority) the policy \
suggests asking for an update in the case comments.
  next: once an update is requested, escalate falls due 4 hours later if Ex Libris stays silent.

share_on_list: not yet due, due Sun 2026-09-20 10:00 PDT
  the case opened Sat 2026-09-19 10:00 PDT + 1 business day on the 24x7 clock = Sun 2026-09-20 10:00 PDT
  time elapsed: 5 h of 1 business day
  to: jdoe@wwu.edu
  why: Case 10700002 ("Hold shelf letters not sent") (system-down priority) has not been mentioned \
on any list since Sat 2026-09-19 10:00 PDT (the case opened). The policy suggests a brief summary \
with the case number on the Alliance list for fulfillment.

pm_stalled_high: not yet due, due Mon 2026-10-19 10:00 PDT
  the case opened Sat 2026-09-19 10:00 PDT + 30 days = Mon 2026-10-19 10:00 PDT
  time elapsed: 5 h of 30 days
  to: mlopez@orbiscascade.org; cc: jdoe@wwu.edu
  why: Case 10700002 ("Hold shelf letters not sent") (system-down priority) has had no significant \
progress from Ex Libris since Sat 2026-09-19 10:00 PDT (the case opened), over 30 days: the policy \
asks the fulfillment PM to step in.
"""


def test_explain_a_system_down_case_on_the_24x7_clock(env):
    store, run, _ = env
    store(opened("2026-09-19 10:00", case="10700002", priority="system_down"))
    code, out, _ = run("explain", "10700002", "--at", "2026-09-19T15:00")
    assert code == 0
    assert out == EXPLAIN_DOWN


@pytest.mark.parametrize(
    ("toml", "key"),
    [
        ('[actions.request_update]\nnormal = "-2 business days"', "actions.request_update.normal"),
        ('[actions.pm_stalled_high]\nafter = "a month"', "actions.pm_stalled_high.after"),
        ('[consortium]\ntimezone = "America/Lost_Angeles"', "consortium.timezone"),
        ('[calendar]\nholidays_country = "XX"', "calendar.holidays_country"),
        ('[calendar]\nholidays_country = "US"\nholidays_subdivision = "ZZ"', "calendar.holidays_subdivision"),
        ('[calendar]\nday_starts = "25:00"', "calendar.day_starts"),
        ('[calendar]\nworkdays = ["monday", "funday"]', "calendar.workdays[1]"),
        ("[support_call]\nweek = 6", "support_call.week"),
        ("[actions.widespread]\ninstitutions = 1", "actions.widespread.institutions"),
        ('[actions.description_gaps]\nrequired = ["vibes"]', "actions.description_gaps.required[0]"),
    ],
)
def test_bad_policy_config_exits_2_naming_the_key(env, toml, key):
    _, run, config = env
    config.write_text(config.read_text() + "\n" + toml + "\n", encoding="utf-8")
    code, _, err = run("due")
    assert code == 2
    assert key in err
    assert "Traceback" not in err


def test_every_policy_problem_is_reported_at_once(env):
    _, run, config = env
    config.write_text(
        config.read_text()
        + '\n[calendar]\nholidays_country = "XX"\nday_ends = "noon"\n'
        + '[actions.survey]\nafter = "-1 days"\n',
        encoding="utf-8",
    )
    code, _, err = run("check-config")
    assert code == 2
    for key in ("calendar.holidays_country", "calendar.day_ends", "actions.survey.after"):
        assert key in err


def test_poll_once_at_an_instant_says_what_is_due_then(env):
    store, run, _ = env
    store(opened("2026-09-14 10:00"))
    code, out, _ = run("poll", "--once", "--at", "2026-09-16T10:00")
    assert code == 0
    assert "nothing to read" in out
    # request_update; the digest of Monday 2026-09-14 08:00 is two days late: skipped, never sent late.
    assert "1 action(s) due at 2026-09-16 10:00 PDT" in out
    _, out, _ = run("poll", "--once", "--at", "2026-09-14T09:00")
    assert "1 action(s) due" in out  # only the digest: the case opens at 10:00


def test_status_shows_what_is_due_and_what_comes_next(env):
    store, run, _ = env
    store(opened("2026-09-14 10:00"))
    code, out, _ = run("status", "--at", "2026-09-16T10:00", "--json")
    assert code == 0
    health = json.loads(out)
    assert health["due_now"] == 1  # request_update (Monday 08:00's digest is skipped, two days late)
    # Next: the agenda of the call of Wednesday 2026-10-07, seven days before it.
    assert health["next_due"] == {"kind": "agenda", "case": None, "due_at": "2026-09-30T10:00:00-07:00"}


def test_due_json_marks_actions_too_old_to_mail_and_lists_each_pms_backlog(env):
    store, run, _ = env
    store(opened("2026-09-14 10:00"))
    # The update request fell due Wed 2026-09-16 10:00; on 2026-09-24 it is over 7 days old.
    _, fresh, _ = run("due", "--at", "2026-09-23T10:00", "--json")
    _, old, _ = run("due", "--at", "2026-09-23T10:01", "--json")
    [update] = [a for a in json.loads(fresh) if a["kind"] == "request_update"]
    assert update["stale"] is False
    assert [a["kind"] for a in json.loads(fresh)] == ["request_update"]
    listed = json.loads(old)
    [update] = [a for a in listed if a["kind"] == "request_update"]
    assert update["stale"] is True
    [summary] = [a for a in listed if a["kind"] == "backlog"]
    assert summary["to"] == ["mlopez@orbiscascade.org"]
    assert summary["stale"] is False


def test_status_says_what_is_failing_and_exits_1(env):
    _, run, config = env
    with Store(config.parent / "cw.db") as s, s.transaction():
        for _ in range(3):
            s.failed("decide", "KeyError: 'x'", datetime.fromisoformat("2026-09-16T10:00:00-07:00"))
    code, out, _ = run("status", "--at", "2026-09-16T10:00")
    assert code == 1
    failing = "FAILING:      decide: 3 time(s) in a row since 2026-09-16 10:00 PDT; last error: KeyError: 'x'"
    assert failing in out
    assert out.rstrip().endswith("health:       FAILING (exit 1)")
    code, out, _ = run("status", "--at", "2026-09-16T10:00", "--json")
    assert code == 1
    assert [f["kind"] for f in json.loads(out)["failures"]] == ["decide"]


def test_status_of_a_healthy_store_exits_0_and_shows_the_last_read_and_send(env):
    _, run, config = env
    with Store(config.parent / "cw.db") as s, s.transaction():
        s.mark_run("poll", "read 3")  # mail came in over IMAP (not `casewatch ingest`)
    code, out, _ = run("status", "--at", "2026-09-16T10:00")
    assert code == 0
    assert "FAILING" not in out
    [read] = [line for line in out.splitlines() if line.startswith("last read:")]
    assert read.endswith("(IMAP)")
    assert "never" not in read
    assert "last sent:    never" in out
    assert out.rstrip().endswith("health:       ok")
