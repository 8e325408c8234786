"""``casewatch run``: stages isolated, servers that go away and come back, the admin alert, the
lock, signals, IDLE. Real Dovecot (a private one per test where it is stopped) and aiosmtpd."""

from __future__ import annotations

import dataclasses
import email
import email.policy
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta
from email.message import EmailMessage
from pathlib import Path

import pytest
from dovecot import Dovecot
from mailmaker import created
from policytools import t
from smtpserver import SmtpServer

from daemon.config import Config, parse
from daemon.errors import RuntimeFailure
from daemon.runner import AlreadyRunning, Runner, single_instance
from daemon.store import Store

ADMIN = "admin@orbiscascade.org"


def config_for(dovecot: Dovecot, folder: str, smtp: SmtpServer, **daemon: object) -> Config:
    cfg = parse(
        {
            "daemon": {"admin": ADMIN, "alert_after": 2, "idle": False, **daemon},
            "actions": {"digest": {"enabled": False}, "agenda": {"enabled": False}},
        }
    )
    return dataclasses.replace(
        cfg,
        mailbox=dovecot.mailbox(folders=(folder,), timeout=5.0),
        smtp=smtp.smtp(timeout=5.0),
        outbound=dataclasses.replace(cfg.outbound, transport="smtp"),
    )


class Clock:
    def __init__(self, start: str) -> None:
        self.now = t(start)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kw: float) -> None:
        self.now += timedelta(**kw)


@pytest.fixture
def private_dovecot():
    """A Dovecot of this test's own, which the test may halt and resume."""
    server = Dovecot()
    try:
        server.start()
    except Exception as e:
        pytest.skip(f"no private dovecot: {e}")
    try:
        yield server
    finally:
        server.stop()


def kinds(smtp: SmtpServer) -> list[str]:
    out = []
    for m in smtp.messages:
        msg = email.message_from_bytes(m.data, policy=email.policy.default)
        out.append(str(msg["X-Casewatch-Action"]))
    return out


@pytest.fixture
def env(monkeypatch, tmp_path):
    monkeypatch.setenv("CASEWATCH_IMAP_PASSWORD", Dovecot.password)
    return tmp_path


# --------------------------------------------------------------------------- stages and faults


def test_smtp_down_does_not_stop_reading_or_deciding_and_nothing_is_lost(env, dovecot, imap_folder, smtp):
    dovecot.append(imap_folder, created("10712345"))
    cfg = config_for(dovecot, imap_folder, smtp)
    down = dataclasses.replace(cfg, smtp=dataclasses.replace(cfg.smtp, port=1))  # nothing listens on 1
    clock = Clock("2026-10-07 11:00")
    with Store(env / "cw.db") as store:
        runner = Runner(down, store, clock=clock)
        first = runner.tick()
        assert first.failed == ["smtp"]
        assert first.read == 1
        assert store.outbox(status="queued")  # decided and queued: waiting for SMTP
        # A simulated day of SMTP outage: every tick reads and decides, nothing is sent.
        for _ in range(8):
            clock.advance(hours=3)
            runner.tick()
        assert smtp.messages == []
        # SMTP is back: everything goes, once.
        runner.config = cfg
        clock.advance(hours=1)
        runner.tick()
        runner.tick()
    sent = kinds(smtp)
    assert sent.count("request_update,description_gaps") + sent.count("description_gaps,request_update") == 1
    assert all(k == "admin_alert" or "request_update" in k for k in sent)


def test_dovecot_stopped_mid_run_and_started_again(env, private_dovecot, smtp):
    folder = "INBOX"
    private_dovecot.append(folder, created("10712345"))
    cfg = config_for(private_dovecot, folder, smtp)
    clock = Clock("2026-10-05 12:00")
    with Store(env / "cw.db") as store:
        runner = Runner(cfg, store, clock=clock)
        assert runner.tick().read == 1
        private_dovecot.halt()
        private_dovecot_appended = created("10712399", date="Mon, 05 Oct 2026 21:00:00 +0000")
        clock.advance(hours=1)
        failed = runner.tick()
        assert "imap" in failed.failed
        assert runner.next_tick_in is not None  # a backoff pause before the next try
        private_dovecot.resume()
        private_dovecot.append(folder, private_dovecot_appended)
        clock.advance(hours=1)
        back = runner.tick()
        assert back.failed == []
        assert back.read == 1
        assert runner.next_tick_in is None
        assert [c.number for c in store.cases()] == ["10712345", "10712399"]
        assert store.message_count() == 2


def test_the_admin_is_told_once_after_n_failures_and_once_on_recovery(env, private_dovecot, smtp):
    folder = "INBOX"
    cfg = config_for(private_dovecot, folder, smtp)
    clock = Clock("2026-10-05 12:00")
    with Store(env / "cw.db") as store:
        runner = Runner(cfg, store, clock=clock)
        runner.tick()
        private_dovecot.halt()
        for _ in range(5):
            clock.advance(minutes=10)
            runner.tick()
        alerts = [m for m in smtp.messages if b"X-Casewatch-Action: admin_alert" in m.data]
        assert len(alerts) == 1
        assert list(alerts[0].rcpt_tos) == [ADMIN]
        assert b"imap failing" in alerts[0].data
        assert store.health()["failures"][0]["kind"] == "imap"
        private_dovecot.resume()
        clock.advance(minutes=10)
        runner.tick()
        runner.tick()
        alerts = [m for m in smtp.messages if b"X-Casewatch-Action: admin_alert" in m.data]
        assert len(alerts) == 2
        assert b"imap works again" in alerts[1].data
        assert store.health()["failures"] == []


def test_a_bug_in_one_stage_does_not_stop_sending(env, dovecot, imap_folder, smtp, monkeypatch):
    cfg = config_for(dovecot, imap_folder, smtp)
    dovecot.append(imap_folder, created("10712345"))
    clock = Clock("2026-10-07 11:00")
    with Store(env / "cw.db") as store:
        runner = Runner(cfg, store, clock=clock)
        import daemon.cycle as cycle_mod  # where the decide stage queues its mail

        real_queue = cycle_mod.queue
        monkeypatch.setattr(cycle_mod, "queue", lambda *a, **k: 1 / 0)
        broken = runner.tick()
        assert broken.failed == ["decide"]
        monkeypatch.setattr(cycle_mod, "queue", real_queue)
        clock.advance(minutes=5)
        fixed = runner.tick()
        assert fixed.failed == []
        assert fixed.sending.sent == 1


# --------------------------------------------------------------------------- process


def test_one_instance_per_state_folder(tmp_path):
    db = tmp_path / "state" / "casewatch.db"
    with single_instance(db):
        with pytest.raises(AlreadyRunning) as e, single_instance(db):
            pass
        assert str(os.getpid()) in str(e.value)
    with single_instance(db):  # released
        pass


def _write_config(path: Path, db: Path, extra: str = "") -> None:
    path.write_text(f'[state]\ndb = "{db.as_posix()}"\n[daemon]\npoll_every = "1 hours"\n{extra}')


def _start(config: Path, tmp_path: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "CASEWATCH_CONFIG": str(config), "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen(
        [sys.executable, "-m", "daemon", "run"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


def _reap(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.kill()
    proc.wait()
    if proc.stdout is not None:
        proc.stdout.close()


def _wait_for(proc: subprocess.Popen[bytes], text: bytes, lines: list[bytes]) -> None:
    """Read the daemon's log until a line contains ``text`` (a condition, not a timing)."""
    assert proc.stdout is not None
    for line in proc.stdout:
        lines.append(line)
        if text in line:
            return
    raise AssertionError(b"".join(lines).decode())


def test_sigterm_finishes_and_exits_0_and_a_second_daemon_is_refused(tmp_path):
    config = tmp_path / "config.toml"
    _write_config(config, tmp_path / "state" / "casewatch.db")
    proc = _start(config, tmp_path)
    lines: list[bytes] = []
    try:
        _wait_for(proc, b"cycle:", lines)
        second = subprocess.run(
            [sys.executable, "-m", "daemon", "--config", str(config), "run"],
            cwd=tmp_path,
            capture_output=True,
            timeout=60,
            check=False,
        )
        assert second.returncode == 3
        assert b"already uses" in second.stderr
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0
        assert proc.stdout is not None
        lines.append(proc.stdout.read())
    finally:
        _reap(proc)
    assert b"Traceback" not in b"".join(lines)


def test_sighup_reloads_a_good_config_and_keeps_the_old_on_a_bad_one(tmp_path):
    config = tmp_path / "config.toml"
    db = tmp_path / "state" / "casewatch.db"
    _write_config(config, db)
    proc = _start(config, tmp_path)
    lines: list[bytes] = []
    try:
        _wait_for(proc, b"cycle:", lines)
        config.write_text(config.read_text() + '\n[calendar]\nday_starts = "soon"\n')
        proc.send_signal(signal.SIGHUP)
        _wait_for(proc, b"the old one stays", lines)
        _write_config(config, db, "idle = false\n")
        proc.send_signal(signal.SIGHUP)
        _wait_for(proc, b"config reloaded", lines)
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=60) == 0
    finally:
        _reap(proc)


def test_new_mail_wakes_the_daemon_through_idle(env, dovecot, imap_folder, smtp):
    cfg = config_for(dovecot, imap_folder, smtp, idle=True, poll_every="1 hours")
    holder: list[Runner] = []

    def daemon() -> None:
        with Store(env / "cw.db") as store:  # SQLite objects belong to the thread that made them
            runner = Runner(cfg, store)
            holder.append(runner)
            runner.run()

    thread = threading.Thread(target=daemon, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    try:
        while not holder or holder[0].ticks < 1:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        runner = holder[0]
        while runner._watcher is None or runner._watcher._source is None:  # IDLE is up
            assert time.monotonic() < deadline
            time.sleep(0.05)
        dovecot.append(imap_folder, created("10712345"))
        while runner.ticks < 2:  # woken by IDLE, long before the hourly tick
            assert time.monotonic() < deadline, "IDLE did not wake the daemon"
            time.sleep(0.05)
    finally:
        if holder:
            holder[0].stop.set()
        thread.join(timeout=30)
    with Store(env / "cw.db") as store:
        assert [c.number for c in store.cases()] == ["10712345"]


# --------------------------------------------------------------------------- a backlog


def test_one_tick_drains_a_backlog_and_tells_the_watchdog_it_is_alive(tmp_path, smtp, monkeypatch):
    """1,000 messages waiting in the outbox (a restart after a long SMTP outage) leave in one tick;
    systemd's watchdog hears from the daemon while they go, not only once they have gone."""
    import socket

    from daemon.store.db import OutgoingRow

    cfg = parse({"daemon": {"admin": ADMIN, "idle": False}})
    cfg = dataclasses.replace(
        cfg, smtp=smtp.smtp(timeout=5.0), outbound=dataclasses.replace(cfg.outbound, transport="smtp")
    )
    clock = Clock("2026-09-16 10:00")
    heard: list[bytes] = []
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(tmp_path / "notify.sock"))
    sock.settimeout(0.1)
    done = threading.Event()

    def listen() -> None:  # systemd's side: read every datagram (a full queue would block the sender)
        while not done.is_set():
            try:
                heard.append(sock.recv(4096))
            except TimeoutError:
                continue

    monkeypatch.setenv("NOTIFY_SOCKET", str(tmp_path / "notify.sock"))
    monkeypatch.setenv("WATCHDOG_USEC", "2000")  # told every millisecond
    monkeypatch.delenv("WATCHDOG_PID", raising=False)
    listener = threading.Thread(target=listen, daemon=True)
    listener.start()
    try:
        with Store(tmp_path / "cw.db") as store:
            now = clock()
            with store.transaction():
                for n in range(1000):
                    msg = EmailMessage()
                    msg["To"], msg["Subject"], msg["Message-ID"] = f"pm{n % 50}@x.org", f"n {n}", f"<b{n}@t>"
                    msg.set_content("x\n")
                    row = OutgoingRow(
                        f"<b{n}@t>", f"t{n}", ("request_update",), (), "casewatch@orbiscascade.org",
                        (f"pm{n % 50}@x.org",), f"n {n}", msg.as_bytes(), now, now, now + timedelta(days=3),
                    )  # fmt: skip
                    store.queue_message(row, [(f"k{n}", "request_update", None)])
            started = time.perf_counter()
            result = Runner(cfg, store, clock=clock).tick()
            print(f"\none tick drained 1,000 queued messages in {time.perf_counter() - started:.1f} s")
            assert result.sending.sent == 1000
            assert store.health()["outbox"] == {"sent": 1000}
    finally:
        done.set()
        listener.join(timeout=10)
        sock.close()
    assert len(smtp.messages) == 1000
    assert b"WATCHDOG=1" in heard


def test_the_cycle_is_recorded_at_the_runners_clock(tmp_path, smtp):
    """The store is handed the instant (the runner's clock), not the wall clock."""
    cfg = parse({"daemon": {"idle": False}})
    cfg = dataclasses.replace(cfg, smtp=smtp.smtp(timeout=5.0))
    with Store(tmp_path / "cw.db") as store:
        Runner(cfg, store, clock=Clock("2026-09-16 10:00")).tick()
        assert datetime.fromisoformat(store.health()["last_cycle"]) == t("2026-09-16 10:00")


def test_a_failing_alert_or_cycle_record_is_logged_and_the_loop_goes_on(tmp_path, smtp, caplog):
    """What the runner cannot note (the admin alert's count, the cycle's record) is a warning
    with the reason, never a silent loss; the tick still ends."""
    cfg = parse({"daemon": {"idle": False}})
    cfg = dataclasses.replace(cfg, smtp=smtp.smtp(timeout=5.0))
    with Store(tmp_path / "cw.db") as store:
        raw = sqlite3.connect(tmp_path / "cw.db")
        raw.execute("DROP TABLE runs")
        raw.execute("DROP TABLE failures")
        raw.close()
        with caplog.at_level("WARNING", logger="casewatch.runner"):
            Runner(cfg, store, clock=Clock("2026-09-16 10:00")).tick()
    warned = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert any(m.startswith("recording the cycle failed") and "runs" in m for m in warned), warned
    # deciding reads the failures too, so that stage fails, and counting its failure fails in turn
    assert any(m.startswith("counting the decide failure") and "failures" in m for m in warned), warned


# --------------------------------------------------------------------------- the database file


def _with_admin(tmp_path: Path, smtp: SmtpServer) -> tuple[Path, Path]:
    """A daemon config with an admin and an SMTP server, no mailbox; (config, db)."""
    config, db = tmp_path / "config.toml", tmp_path / "state" / "casewatch.db"
    _write_config(
        config,
        db,
        f'admin = "{ADMIN}"\nidle = false\n[outbound]\ntransport = "smtp"\n'
        f'[smtp]\nhost = "{smtp.host}"\nport = {smtp.port}\nsecurity = "plain"\n',
    )
    return config, db


def _admin_alerts(smtp: SmtpServer) -> list[EmailMessage]:
    found = []
    for m in smtp.messages:
        msg = email.message_from_bytes(m.data, policy=email.policy.default)
        assert isinstance(msg, EmailMessage)
        if msg["X-Casewatch-Action"] == "admin_alert":
            assert list(m.rcpt_tos) == [ADMIN]
            found.append(msg)
    return found


@pytest.mark.parametrize("change", ["removed", "replaced"])
def test_a_database_removed_or_replaced_under_the_daemon_alerts_the_admin_and_exits_3(change, tmp_path, smtp):
    config, db = _with_admin(tmp_path, smtp)
    other = tmp_path / "other.db"
    with Store(other) as store, store.transaction():
        store.mark_run("another casewatch's database")
    before = other.read_bytes()
    proc = _start(config, tmp_path)
    lines: list[bytes] = []
    try:
        _wait_for(proc, b"cycle:", lines)  # running, waiting for its next (hourly) tick
        if change == "removed":
            db.unlink()
        else:
            os.replace(other, db)
        assert proc.wait(timeout=60) == 3
        assert proc.stdout is not None
        lines.append(proc.stdout.read())
    finally:
        _reap(proc)
    log = b"".join(lines)
    assert f"{db} was {change} while casewatch ran".encode() in log
    assert b"Traceback" not in log
    alerts = _admin_alerts(smtp)
    assert len(alerts) == 1
    assert "state database was removed or replaced" in str(alerts[0]["Subject"])
    body = alerts[0].get_body()
    assert body is not None
    assert f"{db} was {change}" in body.get_content()
    if change == "replaced":
        assert db.read_bytes() == before  # the daemon wrote nothing into the file put in its place


# --------------------------------------------------------------------------- the disk


def test_a_read_only_database_is_a_clear_error_and_stays_intact():
    """The database and its folder are read-only for the user casewatch runs as (as root, the
    command runs as nobody: root writes read-only files anyway)."""
    import shutil
    import tempfile

    tmp_path = Path(tempfile.mkdtemp(prefix="casewatch-ro-"))  # pytest's tmp_path is 0700
    tmp_path.chmod(0o755)
    try:
        _read_only_database(tmp_path)
    finally:
        shutil.rmtree(tmp_path, ignore_errors=True)


def _read_only_database(tmp_path: Path) -> None:
    from unprivileged import casewatch

    command, env = casewatch()  # as root: as nobody, from a copy of casewatch nobody can read
    db = tmp_path / "state" / "cw.db"
    with Store(db) as store, store.transaction():
        store.mark_run("setup")
    config = tmp_path / "config.toml"
    config.write_text(f'[state]\ndb = "{db.as_posix()}"\n')
    for path in (tmp_path, db.parent):
        path.chmod(0o755)
    config.chmod(0o644)
    for path in db.parent.iterdir():
        path.chmod(0o444)
    db.parent.chmod(0o555)
    argv = [*command, "--config", str(config), "ingest", str(config)]
    try:
        done = subprocess.run(argv, capture_output=True, timeout=60, check=False, cwd=tmp_path, env=env)
    finally:
        db.parent.chmod(0o755)
        for path in db.parent.iterdir():
            path.chmod(0o644)
    assert done.returncode == 3, done.stderr
    assert b"state database" in done.stderr
    assert b"Traceback" not in done.stderr
    assert sqlite3.connect(db).execute("PRAGMA integrity_check").fetchone() == ("ok",)


def test_a_full_disk_is_a_clear_error_and_no_corruption(tmp_path, dovecot, imap_folder, monkeypatch):
    """SQLite's max_page_count makes the database 'full' exactly as a full disk does (SQLITE_FULL)."""
    from daemon.ingest import poll_imap

    monkeypatch.setenv("CASEWATCH_IMAP_PASSWORD", dovecot.password)
    for n in range(12):
        dovecot.append(imap_folder, created(f"107123{n:02d}", token=f"thread::tok{n:09d}::"))
    cfg = Config(mailbox=dovecot.mailbox(folders=(imap_folder,), batch_size=3))
    db = tmp_path / "cw.db"
    with Store(db) as store:
        pages = store.conn.execute("PRAGMA page_count").fetchone()[0]
        store.conn.execute(f"PRAGMA max_page_count = {pages + 3}")
        with pytest.raises(RuntimeFailure) as e:
            poll_imap(store, cfg)
        assert "full" in str(e.value)
        stored = store.message_count()
        cursor = store.cursor(imap_folder)
        # What was committed is whole: the cursor matches the stored messages.
        assert cursor is None or cursor.last_uid >= stored
    assert sqlite3.connect(db).execute("PRAGMA integrity_check").fetchone() == ("ok",)
    with Store(db) as store:  # room again: the rest comes in, nothing twice
        poll_imap(store, cfg)
        assert store.message_count() == 12
