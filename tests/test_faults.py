"""kill -9 at 22 points during ingest, queueing and sending, then a restart: every message is
stored exactly once, every reminder sent exactly once (at most the documented resend of the
same Message-ID when the kill falls between the server's 250 and marking the message sent).

Each case runs ``casewatch poll --once`` as a real process against a real Dovecot and aiosmtpd,
with ``CASEWATCH_CRASH=point:n`` (daemon/faults.py): the n-th time the process reaches that
point it sends itself SIGKILL. Then it runs again without it, and once more.
"""

from __future__ import annotations

import email
import email.policy
import os
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from dovecot import Dovecot
from mailmaker import created
from smtpserver import SmtpServer

from daemon.store import Store

OWNERS = ["jdoe", "kim", "lee", "max", "ned", "ola"]
AT = "2026-10-07T11:00:00-07:00"  # two business days after the cases opened: reminders due

POINTS = (
    [f"ingest.message:{n}" for n in range(1, 7)]
    + [f"ingest.commit:{n}" for n in range(1, 4)]
    + [f"queue.message:{n}" for n in range(1, 4)]
    + ["queue.commit:1"]
    + [f"send.before:{n}" for n in range(1, 4)]
    + [f"send.after:{n}" for n in range(1, 4)]
    + [f"send.marked:{n}" for n in range(1, 4)]
)


@pytest.fixture
def mailbox(dovecot: Dovecot, imap_folder: str) -> str:
    for n, owner in enumerate(OWNERS):
        dovecot.append(
            imap_folder,
            created(
                f"1071230{n}",
                contact=f"{owner.title()} ({owner}@wwu.edu)",
                token=f"thread::fault{n:08d}::",
            ),
        )
    return imap_folder


def write_config(path: Path, dovecot: Dovecot, folder: str, smtp: SmtpServer) -> None:
    path.write_text(
        f"""
[state]
db = "{(path.parent / "cw.db").as_posix()}"
[mailbox]
host = "{dovecot.host}"
port = {dovecot.port}
security = "plain"
username = "{dovecot.user}"
folders = ["{folder}"]
batch_size = 2
[outbound]
transport = "smtp"
[smtp]
host = "{smtp.host}"
port = {smtp.port}
security = "plain"
[actions.digest]
enabled = false
[actions.agenda]
enabled = false
"""
    )


def poll(config: Path, crash: str | None = None) -> subprocess.CompletedProcess[bytes]:
    env = {**os.environ, "CASEWATCH_IMAP_PASSWORD": Dovecot.password}
    env.pop("CASEWATCH_CRASH", None)
    if crash:
        env["CASEWATCH_CRASH"] = crash
    return subprocess.run(
        [sys.executable, "-m", "daemon", "--config", str(config), "poll", "--once", "--at", AT],
        env=env,
        capture_output=True,
        timeout=120,
        check=False,
        cwd=config.parent,
    )


@pytest.mark.parametrize("point", POINTS)
def test_kill_9_then_restart_loses_nothing_and_doubles_nothing(point, mailbox, dovecot, smtp, tmp_path):
    config = tmp_path / "config.toml"
    write_config(config, dovecot, mailbox, smtp)

    crashed = poll(config, crash=point)
    assert crashed.returncode == -signal.SIGKILL, crashed.stderr.decode()
    again = poll(config)
    assert again.returncode == 0, again.stderr.decode()
    once_more = poll(config)
    assert once_more.returncode == 0, once_more.stderr.decode()
    assert b"Traceback" not in again.stderr + once_more.stderr

    with Store(tmp_path / "cw.db") as store:
        assert store.message_count() == len(OWNERS)  # every message stored, once
        assert store.health()["quarantined"] == 0
        outbox = store.outbox()
        assert len(outbox) == len(OWNERS)  # one message per owner, queued once
        assert {row["status"] for row in outbox} == {"sent"}
        ours = {row["message_id"] for row in outbox}
        integrity = store.conn.execute("PRAGMA integrity_check").fetchone()
    assert integrity == ("ok",)

    received = Counter(
        str(email.message_from_bytes(m.data, policy=email.policy.default)["Message-ID"])
        for m in smtp.messages
    )
    assert set(received) == ours  # everyone got their reminder, and nothing else went out
    doubled = [mid for mid, n in received.items() if n > 1]
    if point.startswith("send.after"):
        # Killed after the 250, before marking it sent: that one message went twice, with the
        # same Message-ID (documented); nothing else did.
        assert len(doubled) <= 1
        assert all(received[mid] == 2 for mid in doubled)
    else:
        assert doubled == []
