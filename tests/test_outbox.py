"""The outbox end to end: due actions become messages sent exactly once, to the right people.

A real SQLite file, a real SMTP server (aiosmtpd, ``tests/smtpserver.py``) that can answer 4xx
and 5xx, and the file transport. Cycles run "as of" explicit instants; nothing sleeps.
"""

from __future__ import annotations

import dataclasses
import email
import email.policy
import hashlib
import hmac
import time
from datetime import datetime, timedelta
from email.message import EmailMessage
from pathlib import Path

import pytest
from policytools import ev, opened, t
from smtpserver import SmtpServer

from daemon.config import Config, parse
from daemon.cycle import run_cycle
from daemon.ingest import ingest
from daemon.model import RawMessage
from daemon.outbound.compose import TOKEN_SECRET
from daemon.outbound.outbox import flush, queue
from daemon.outbound.transports import FileTransport, SmtpTransport
from daemon.policy.engine import evaluate
from daemon.store import Store
from daemon.store.db import OutgoingRow

BASE = {
    "program_managers": [
        {"name": "Maria Lopez", "email": "mlopez@orbiscascade.org", "areas": ["fulfillment", "systems"]},
    ],
    # Only the case rules under test: no digest or agenda mail in these tests.
    "actions": {"digest": {"enabled": False}, "agenda": {"enabled": False}},
}


def config_for(server: SmtpServer | None = None, **sending: object) -> Config:
    cfg = parse({**BASE, "sending": sending} if sending else BASE)
    if server is not None:
        cfg = dataclasses.replace(
            cfg, smtp=server.smtp(), outbound=dataclasses.replace(cfg.outbound, transport="smtp")
        )
    return cfg


@pytest.fixture
def store(tmp_path: Path):
    with Store(tmp_path / "cw.db") as s:
        yield s


def add(store: Store, *events) -> None:
    with store.transaction():
        store.add_events(events, None)
        for n in {e.case for e in events}:
            store.refresh_case(n)


def parsed(data: bytes) -> EmailMessage:
    msg = email.message_from_bytes(data, policy=email.policy.default)
    assert isinstance(msg, EmailMessage)
    return msg


def cycle(store: Store, cfg: Config, at: str, server: SmtpServer):
    with SmtpTransport(cfg.smtp, None) as transport:
        return run_cycle(store, cfg, t(at), transport)


# --------------------------------------------------------------------------- exactly once


def test_two_cycles_send_once(store, smtp):
    cfg = config_for(smtp)
    add(store, opened("2026-09-14 10:00"))
    first = cycle(store, cfg, "2026-09-16 10:00", smtp)
    second = cycle(store, cfg, "2026-09-16 10:05", smtp)
    third = cycle(store, cfg, "2026-09-30 10:00", smtp)
    assert (first.sending.sent, second.sending.sent) == (1, 0)
    msg = smtp.messages[0]
    assert list(msg.rcpt_tos) == ["jdoe@wwu.edu"]
    assert parsed(msg.data)["X-Casewatch-Action"] == "request_update"
    assert parsed(msg.data)["X-Casewatch-Case"] == "10700001"
    # Two weeks on, the update request is not sent again (what else fell due since, the owner's
    # silence told to the PM, is another action, summarized as too old to mail on its own).
    later = [str(parsed(m.data)["X-Casewatch-Action"]) for m in smtp.messages[1:]]
    assert third.sending.sent == len(later)
    assert "request_update" not in ",".join(later)


def test_a_restart_between_queue_and_send_sends_once(tmp_path, smtp):
    cfg = config_for(smtp)
    with Store(tmp_path / "cw.db") as s:
        add(s, opened("2026-09-14 10:00"))
        ctxs, due = evaluate(s.snapshot(t("2026-09-16 10:00")), t("2026-09-16 10:00"), cfg)
        assert queue(s, ctxs, due, t("2026-09-16 10:00"), cfg).queued == 1
    # The process died before sending. A new one starts:
    with Store(tmp_path / "cw.db") as s:
        result = cycle(s, cfg, "2026-09-16 10:01", smtp)
        assert (result.sending.queued, result.sending.sent) == (0, 1)
        cycle(s, cfg, "2026-09-16 10:02", smtp)
    assert len(smtp.messages) == 1


def test_a_4xx_is_retried_and_the_message_goes_once_the_server_recovers(store, smtp):
    cfg = config_for(smtp)
    add(store, opened("2026-09-14 10:00"))
    smtp.fail_next("DATA", 451)
    first = cycle(store, cfg, "2026-09-16 10:00", smtp)
    assert (first.sending.sent, first.sending.retried) == (0, 1)
    assert smtp.messages == []
    [row] = store.outbox()
    assert row["status"] == "queued"
    assert "451" in row["last_error"]
    early = cycle(store, cfg, "2026-09-16 10:01", smtp)  # before the backoff ends: nothing
    assert early.sending.sent == 0
    later = cycle(store, cfg, "2026-09-16 10:03", smtp)
    assert later.sending.sent == 1
    cycle(store, cfg, "2026-09-16 11:00", smtp)
    assert len(smtp.messages) == 1
    assert store.outbox()[0]["status"] == "sent"


def test_a_5xx_fails_at_once_and_status_shows_it(store, smtp):
    cfg = config_for(smtp)
    add(store, opened("2026-09-14 10:00"))
    smtp.fail_next("DATA", 554)
    result = cycle(store, cfg, "2026-09-16 10:00", smtp)
    assert result.sending.failed == 1
    cycle(store, cfg, "2026-09-17 10:00", smtp)
    assert smtp.messages == []
    assert store.health()["outbox"] == {"failed": 1}


def test_temporary_failures_give_up_after_the_deadline(store, tmp_path):
    cfg = config_for(retry_for="1 hours")
    add(store, opened("2026-09-14 10:00"))
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the outbox folder should be")
    transport = FileTransport(blocked / "outbox")
    now = t("2026-09-16 10:00")
    result = run_cycle(store, cfg, now, transport)
    assert result.sending.retried == 1
    for minutes in (3, 10, 30, 70):
        flush(store, transport, now + timedelta(minutes=minutes))
    [row] = store.outbox()
    assert row["status"] == "failed"
    assert "gave up" in row["last_error"]


def test_the_file_transport_writes_each_message_once(store, tmp_path):
    cfg = config_for()
    add(store, opened("2026-09-14 10:00"), opened("2026-09-14 10:00", case="10700002", owner="kim@wwu.edu"))
    folder = tmp_path / "outbox"
    with FileTransport(folder) as transport:
        run_cycle(store, cfg, t("2026-09-16 10:00"), transport)
        run_cycle(store, cfg, t("2026-09-16 11:00"), transport)
    files = sorted(folder.glob("*.eml"))
    assert len(files) == 2
    assert {parsed(f.read_bytes())["To"] for f in files} == {"jdoe@wwu.edu", "kim@wwu.edu"}


# --------------------------------------------------------------------------- headers


def sent_message(store, smtp, *events, at="2026-09-16 10:00", **sending) -> EmailMessage:
    cfg = config_for(smtp, **sending)
    add(store, *events)
    cycle(store, cfg, at, smtp)
    return parsed(smtp.messages[-1].data)


def test_headers_of_a_reminder(store, smtp):
    msg = sent_message(store, smtp, opened("2026-09-14 10:00"))
    assert msg["Auto-Submitted"] == "auto-generated"
    assert msg["X-Auto-Response-Suppress"] == "OOF, AutoReply"
    assert msg["X-Casewatch-Loop"] == "casewatch@orbiscascade.org"
    assert msg["Message-ID"].endswith("@orbiscascade.org>")
    assert "10700001" in msg["Subject"]
    local, _, domain = str(msg["Reply-To"]).partition("@")
    assert domain == "orbiscascade.org"
    assert local.startswith("casewatch+")
    # The token is an HMAC of the Message-ID under the store's secret.
    with store.transaction():
        secret = store.secret(TOKEN_SECRET)
    expected = hmac.new(secret, msg["Message-ID"].encode(), hashlib.sha256).hexdigest()[:16]
    assert local == f"casewatch+{expected}"
    assert msg.get_body(preferencelist=("plain",)) is not None
    assert msg.get_body(preferencelist=("html",)) is not None


def test_the_message_id_is_the_same_for_the_same_actions(tmp_path, smtp):
    ids = []
    for name in ("a", "b"):
        with Store(tmp_path / f"{name}.db") as s:
            ids.append(str(sent_message(s, smtp, opened("2026-09-14 10:00"))["Message-ID"]))
    assert ids[0] == ids[1]


def test_a_title_with_cr_lf_never_makes_a_header(store, smtp):
    evil = opened("2026-09-14 10:00", title="Evil\r\nBcc: attacker@example.com\r\nX-Injected: yes")
    msg = sent_message(store, smtp, evil)
    assert msg["Bcc"] is None
    assert msg["X-Injected"] is None
    assert "\n" not in str(msg["Subject"])
    assert list(smtp.messages[-1].rcpt_tos) == ["jdoe@wwu.edu"]


def test_later_reminders_on_a_case_thread_under_the_earlier_ones(store, smtp):
    cfg = config_for(smtp)
    add(store, opened("2026-09-14 10:00"), ev("update_requested", "2026-09-16 11:00", actor="member"))
    cycle(store, cfg, "2026-09-16 10:00", smtp)  # (the update request is later: request_update)
    cycle(store, cfg, "2026-09-18 11:00", smtp)  # escalate
    first, second = (parsed(m.data) for m in smtp.messages)
    assert first["X-Casewatch-Action"] == "request_update"
    assert second["X-Casewatch-Action"] == "escalate"
    assert second["In-Reply-To"] == first["Message-ID"]
    assert first["Message-ID"] in second["References"]


def test_our_own_mail_read_back_changes_nothing(store, smtp):
    msg = sent_message(store, smtp, opened("2026-09-14 10:00"))
    before = len(store.events("10700001"))
    counts = ingest(store, Config(), [RawMessage(bytes(msg), "loop.eml")])
    assert counts.ignored == 1
    assert len(store.events("10700001")) == before


# --------------------------------------------------------------------------- sending rules


def test_the_vendor_is_never_mailed(store, smtp):
    cfg = config_for(smtp)
    add(store, opened("2026-09-14 10:00", owner="analyst@exlibrisgroup.com"))
    result = cycle(store, cfg, "2026-09-16 10:00", smtp)
    assert result.sending.undeliverable == 1
    assert smtp.messages == []
    [row] = store.outbox()
    assert row["status"] == "failed"
    assert "vendor" in row["last_error"]


def test_quiet_hours_hold_mail_until_the_next_working_hour(store, smtp):
    cfg = config_for(smtp)
    # A case opened on a Saturday with a one-line description: description_gaps is due at once.
    add(store, opened("2026-09-19 11:00", description="It fails."))
    result = cycle(store, cfg, "2026-09-19 11:05", smtp)
    assert (result.sending.queued, result.sending.sent) == (1, 0)
    cycle(store, cfg, "2026-09-21 07:59", smtp)
    assert smtp.messages == []
    cycle(store, cfg, "2026-09-21 08:00", smtp)
    [msg] = smtp.messages
    assert parsed(msg.data)["X-Casewatch-Action"] == "description_gaps"


def test_system_down_mail_goes_at_once_even_at_night(store, smtp):
    cfg = config_for(smtp)
    add(store, opened("2026-09-19 23:00", priority="system_down"))
    result = cycle(store, cfg, "2026-09-19 23:05", smtp)
    assert result.sending.sent >= 1
    kinds = {parsed(m.data)["X-Casewatch-Action"] for m in smtp.messages}
    assert "pm_system_down" in kinds


def test_actions_for_the_same_people_fold_into_one_message(store, smtp):
    cfg = config_for(smtp)
    add(
        store,
        opened("2026-09-14 10:00"),
        opened("2026-09-14 10:00", case="10700002", title="Second problem"),
    )
    cycle(store, cfg, "2026-09-16 10:00", smtp)
    [msg] = smtp.messages
    headers = parsed(msg.data)
    assert headers["X-Casewatch-Action"] == "request_update"
    assert headers["X-Casewatch-Case"] == "10700001,10700002"
    text = headers.get_body(preferencelist=("plain",)).get_content()
    assert "10700001" in text
    assert "10700002" in text


def test_the_daily_cap_moves_the_rest_to_the_next_day(store, smtp):
    cfg = config_for(smtp, daily_cap=1, fold=False)
    add(
        store,
        opened("2026-09-14 10:00"),
        opened("2026-09-14 10:00", case="10700002", title="Second problem"),
    )
    cycle(store, cfg, "2026-09-16 10:00", smtp)
    assert len(smtp.messages) == 1
    cycle(store, cfg, "2026-09-16 16:00", smtp)
    assert len(smtp.messages) == 1
    cycle(store, cfg, "2026-09-17 08:00", smtp)
    assert len(smtp.messages) == 2
    assert {parsed(m.data)["X-Casewatch-Case"] for m in smtp.messages} == {"10700001", "10700002"}


def test_status_counts_queued_sent_and_failed_messages(tmp_path, capsys, monkeypatch):
    from daemon.cli import main

    monkeypatch.delenv("CASEWATCH_CONFIG", raising=False)
    db = tmp_path / "cw.db"
    config = tmp_path / "config.toml"
    config.write_text(
        f'[state]\ndb = "{db.as_posix()}"\n[outbound]\nfolder = "{(tmp_path / "out").as_posix()}"\n'
    )
    with Store(db) as s:
        add(
            s,
            opened("2026-09-14 10:00"),
            opened("2026-09-14 10:00", case="10700002", owner="x@exlibrisgroup.com"),
        )
    assert main(["--config", str(config), "poll", "--once", "--at", "2026-09-16T10:00"]) == 0
    capsys.readouterr()
    assert main(["--config", str(config), "status", "--at", "2026-09-16T10:00"]) == 0
    out = capsys.readouterr().out
    # One reminder sent to the owner; one undeliverable (its owner is a vendor address).
    assert "outbox:       0 queued, 1 sent, 1 failed" in out


# --------------------------------------------------------------------------- a backlog


def _row(n: int, to: str, now: datetime, send_after: datetime) -> OutgoingRow:
    msg = EmailMessage()
    mid = f"<backlog.{n}@casewatch.test>"
    msg["From"], msg["To"], msg["Subject"], msg["Message-ID"] = (
        "casewatch@orbiscascade.org",
        to,
        f"n {n}",
        mid,
    )
    msg.set_content(f"message {n}\n")
    return OutgoingRow(
        message_id=mid,
        token=f"token-{n}",
        kinds=("request_update",),
        cases=(),
        sender="casewatch@orbiscascade.org",
        recipients=(to,),
        subject=f"n {n}",
        raw=msg.as_bytes(),
        created_at=now,
        send_after=send_after,
        deadline=now + timedelta(days=3),
    )


def test_a_backlog_of_1000_messages_leaves_in_one_flush(store, smtp):
    """1,000 messages ready at once (50 people, 20 each: the default daily cap) all leave in one
    flush, not 100 a cycle; what the cap or quiet hours put off to tomorrow stays queued."""
    cfg = config_for(smtp)
    now = t("2026-09-16 10:00")
    people = [f"pm{n:02d}@orbiscascade.org" for n in range(50)]
    with store.transaction():
        for n in range(1000):
            store.queue_message(_row(n, people[n % 50], now, now), [(f"test:{n}", "request_update", None)])
        for n in range(1000, 1003):  # over the cap: queued for the next day
            later = now + timedelta(days=1)
            store.queue_message(_row(n, people[0], now, later), [(f"test:{n}", "request_update", None)])
    started = time.perf_counter()
    with SmtpTransport(cfg.smtp, None) as transport:
        counts = flush(store, transport, now)
    print(f"\n1,000 queued messages drained in one flush in {time.perf_counter() - started:.1f} s")
    assert counts.sent == 1000
    received = [str(parsed(m.data)["Message-ID"]) for m in smtp.messages]
    assert sorted(received) == sorted(f"<backlog.{n}@casewatch.test>" for n in range(1000))  # each once
    assert store.health()["outbox"] == {"sent": 1000, "queued": 3}


def test_a_backlog_waits_for_the_next_cycle_when_the_server_is_unreachable(store, smtp):
    """The flush stops at the first message the server could not even be reached for: the
    backlog is not tried message by message against a server that is down."""
    cfg = config_for(smtp)
    now = t("2026-09-16 10:00")
    with store.transaction():
        for n in range(250):
            store.queue_message(
                _row(n, "pm@orbiscascade.org", now, now), [(f"test:{n}", "request_update", None)]
            )
    down = dataclasses.replace(cfg.smtp, port=1)  # nothing listens on port 1
    with SmtpTransport(down, None) as transport:
        counts = flush(store, transport, now)
    assert (counts.sent, counts.retried, counts.failed) == (0, 1, 0)
    assert store.health()["outbox"] == {"queued": 250}
    with SmtpTransport(cfg.smtp, None) as transport:  # back: the rest leaves at once, the one tried later
        assert flush(store, transport, now).sent == 249
