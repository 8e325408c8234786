"""The first day in production: a mailbox with months of history, read for the first time.

Real Dovecot, a real SQLite file, the file transport. The first cycle must not flood people
with reminders about thresholds crossed weeks ago: each PM gets one ``backlog`` message, fresh
actions go out as usual, the digest waits for its slot, and no post-call follow-up is sent for
a call whose agenda never went out. A digest written while the mailbox cannot be read says so.
"""

from __future__ import annotations

import dataclasses
import email
import email.policy
from email.message import EmailMessage
from pathlib import Path

import pytest
from dovecot import Dovecot
from mailmaker import message
from policytools import t

from daemon.config import Config, parse
from daemon.cycle import run_cycle
from daemon.outbound.transports import FileTransport
from daemon.runner import Runner
from daemon.store import Store

pytestmark = pytest.mark.imap

MARIA = "mlopez@orbiscascade.org"  # fulfillment
SAM = "sreyes@orbiscascade.org"  # systems (also the fallback area)
PASSWORD_ENV = "CASEWATCH_TEST_IMAP_PASSWORD"


def created(case: str, date: str, category: str, priority: str = "Normal", inst: str = "WWU") -> bytes:
    owner = f"staff@{inst.lower()}.edu"
    body = (
        f'Your case {case} "Problem {case}" has been received.\n\n'
        f"Priority: {priority}\nAsset: Alma\nCategory: {category}\nSub-Category: Other\n"
        f"Status: New\nContact: Staff ({owner})\nAccount: 01ALLIANCE_{inst}\n\n"
        "Description:\nSteps: 1. open the page 2. save. Impact: 40 staff cannot work.\n\n"
        f"thread::{case}AbCdEf::\n"
    )
    return message(
        to=owner,
        subject=f"Case {case} has been created: Problem {case} [ thread::{case}AbCdEf:: ]",
        body=body,
        date=date,
        message_id=f"<created-{case}@sfdc.test>",
    )


def config_for(dovecot: Dovecot, folder: str, outbox: Path, **extra: object) -> Config:
    cfg = parse(
        {
            "program_managers": [
                {"name": "Maria Lopez", "email": MARIA, "areas": ["fulfillment"]},
                {"name": "Sam Reyes", "email": SAM, "areas": ["systems"]},
            ],
            "support_call": {"coordinator": "coordinator@orbiscascade.org"},
            "outbound": {"transport": "file", "folder": str(outbox)},
            **extra,
        }
    )
    mailbox = dovecot.mailbox(folders=(folder,), password_env=PASSWORD_ENV)
    return dataclasses.replace(cfg, mailbox=mailbox)


def mailed(outbox: Path) -> list[EmailMessage]:
    return [
        email.message_from_bytes(p.read_bytes(), policy=email.policy.default)  # type: ignore[misc]
        for p in sorted(outbox.glob("*.eml"))
    ]


def kinds_of(msg: EmailMessage) -> list[str]:
    return [k.strip() for k in str(msg["X-Casewatch-Action"]).split(",")]


def text_of(msg: EmailMessage) -> str:
    part = msg.get_body(preferencelist=("plain",))
    assert part is not None
    return " ".join(part.get_content().split())


def test_the_first_cycle_over_an_old_mailbox_sends_each_pm_one_backlog_and_no_stale_mail(
    dovecot: Dovecot, imap_folder: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(PASSWORD_ENV, dovecot.password)
    # Months of history: two cases opened in the summer and never answered (fulfillment and
    # systems), a high-priority one in September; one case opened two days before the first run.
    dovecot.append(imap_folder, created("10730001", "Mon, 03 Aug 2026 17:00:00 +0000", "Fulfillment"))
    dovecot.append(imap_folder, created("10730002", "Tue, 01 Sep 2026 17:00:00 +0000", "Analytics", "High"))
    dovecot.append(imap_folder, created("10730003", "Tue, 01 Dec 2026 18:00:00 +0000", "Fulfillment"))
    outbox = tmp_path / "outbox"
    cfg = config_for(dovecot, imap_folder, outbox)
    first_run = t("2026-12-03 11:00")  # a Thursday, the day after the December support call

    with Store(tmp_path / "cw.db") as store, FileTransport(outbox) as transport:
        result = run_cycle(store, cfg, first_run, transport)
        assert result.read is not None
        assert result.read.ingested == 3
        first = mailed(outbox)
        again = run_cycle(store, cfg, t("2026-12-03 15:00"), transport)
        assert again.sending.queued == 0  # what the backlog handled never comes back

    backlogs = [m for m in first if kinds_of(m) == ["backlog"]]
    assert sorted(str(m["To"]) for m in backlogs) == [MARIA, SAM]  # one each
    maria = text_of(next(m for m in backlogs if str(m["To"]) == MARIA))
    sam = text_of(next(m for m in backlogs if str(m["To"]) == SAM))
    assert "request_update, case 10730001, due Wed 2026-08-05 10:00 PDT (for staff@wwu.edu)" in maria
    assert "10730002" not in maria
    for kind in ("share_on_list", "request_update", "pm_stalled_high"):
        assert f"{kind}, case 10730002" in sam

    others = [m for m in first if m not in backlogs]
    # Fresh: the update request of the case opened on Tuesday, due Thursday 10:00 (an hour ago).
    assert [(kinds_of(m), str(m["X-Casewatch-Case"])) for m in others] == [(["request_update"], "10730003")]
    # No digest on a Thursday (its slot was Monday 08:00). No follow-up of the call of Wednesday
    # 2026-12-02, though 10730002 (stalled for a month) would have been on its agenda: that
    # agenda never went out.
    assert not any({"digest", "post_call_followup"} & set(kinds_of(m)) for m in first)


def test_a_digest_never_calls_a_week_quiet_when_the_mailbox_could_not_be_read(
    dovecot: Dovecot, imap_folder: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(PASSWORD_ENV, "not the password")
    outbox = tmp_path / "outbox"
    cfg = config_for(dovecot, imap_folder, outbox, daemon={"admin": "admin@orbiscascade.org"})
    clock = [t("2026-11-30 08:05")]  # Monday, five minutes into the digest slot; a fresh database
    with Store(tmp_path / "cw.db") as store:
        result = Runner(cfg, store, clock=lambda: clock[0]).tick()
    assert "imap" in result.failed
    digests = [m for m in mailed(outbox) if kinds_of(m) == ["digest"]]
    assert len(digests) == 2
    for m in digests:
        text = text_of(m)
        assert "casewatch could not read the mailbox since Mon 2026-11-30 08:05 PST" in text
        assert "quiet" not in text + str(m["Subject"])
        assert "the mailbox could not be read" in str(m["Subject"])
        html = m.get_body(preferencelist=("html",))
        assert html is not None
        assert "could not read the mailbox since" in html.get_content()


def test_a_digest_of_a_quiet_week_says_so_when_the_mailbox_was_read(
    dovecot: Dovecot, imap_folder: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The counterpart of the test above: the same tick with the right password."""
    monkeypatch.setenv(PASSWORD_ENV, dovecot.password)
    outbox = tmp_path / "outbox"
    cfg = config_for(dovecot, imap_folder, outbox)
    with Store(tmp_path / "cw.db") as store:
        result = Runner(cfg, store, clock=lambda: t("2026-11-30 08:05")).tick()
    assert result.failed == []
    digests = [m for m in mailed(outbox) if kinds_of(m) == ["digest"]]
    assert len(digests) == 2
    assert all("a quiet week" in str(m["Subject"]) for m in digests)
    assert not any("could not read the mailbox" in text_of(m) for m in digests)
