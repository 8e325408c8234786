"""kill -9 at 22 points during ingest, queueing and sending, then a restart: every message is
stored exactly once, every reminder sent exactly once (at most the documented resend of the
same Message-ID when the kill falls between the server's 250 and marking the message sent).

Each case runs ``casewatch poll --once`` as a real process against a real Dovecot and aiosmtpd,
with ``CASEWATCH_CRASH=point:n`` (daemon/faults.py): the n-th time the process reaches that
point it sends itself SIGKILL. Then it runs again without it, and once more. Each run is a
process of its own, forked from one interpreter that has imported the daemon (tests/warmed.py),
so that the 66 runs do not each pay an interpreter's start and the daemon's imports.
"""

from __future__ import annotations

import email
import email.policy
import os
import signal
import subprocess
import sys
import textwrap
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from dovecot import Dovecot
from mailmaker import created
from smtpserver import SmtpServer
from warmed import Finished, Warmed

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


@pytest.fixture(scope="module")
def casewatch() -> Iterator[Warmed]:
    """``casewatch`` warmed once for the module: each run is a fresh process forked from it."""
    with Warmed() as warmed:
        yield warmed


def poll(casewatch: Warmed, config: Path, crash: str | None = None) -> Finished:
    env = {**os.environ, "CASEWATCH_IMAP_PASSWORD": Dovecot.password}
    env.pop("CASEWATCH_CRASH", None)
    if crash:
        env["CASEWATCH_CRASH"] = crash
    return casewatch.run(
        ["--config", str(config), "poll", "--once", "--at", AT], env=env, cwd=config.parent, timeout=120
    )


def test_a_crash_point_kills_the_warmed_run_and_only_it(casewatch, tmp_path):
    """The warmed runs are honest: a crash point's SIGKILL ends that run's own process (nothing
    it did after the point is left), and the next run, forked afresh, finishes the work."""
    config = tmp_path / "config.toml"
    config.write_text(f'[state]\ndb = "{(tmp_path / "cw.db").as_posix()}"\n')
    (tmp_path / "one.eml").write_bytes(created("10712399", token="thread::warmed00::"))
    argv = ["--config", str(config), "ingest", str(tmp_path / "one.eml")]
    env = {k: v for k, v in os.environ.items() if k != "CASEWATCH_CRASH"}

    killed = casewatch.run(argv, env={**env, "CASEWATCH_CRASH": "ingest.commit:1"}, cwd=tmp_path)
    assert killed.returncode == -signal.SIGKILL
    assert killed.stdout == b""  # killed before it could print its counts
    assert killed.pid != os.getpid()
    assert not Path(f"/proc/{killed.pid}").exists() or _stat(killed.pid) is None
    with Store(tmp_path / "cw.db") as store:
        assert store.message_count() == 1  # the point is after the commit

    again = casewatch.run(argv, env=env, cwd=tmp_path)
    assert again.returncode == 0, again.stderr.decode()
    assert again.pid != killed.pid
    assert b"duplicates 1" in again.stdout


@pytest.mark.parametrize("point", POINTS)
def test_kill_9_then_restart_loses_nothing_and_doubles_nothing(
    point, casewatch, mailbox, dovecot, smtp, tmp_path
):
    config = tmp_path / "config.toml"
    write_config(config, dovecot, mailbox, smtp)

    crashed = poll(casewatch, config, crash=point)
    assert crashed.returncode == -signal.SIGKILL, crashed.stderr.decode()
    again = poll(casewatch, config)
    assert again.returncode == 0, again.stderr.decode()
    once_more = poll(casewatch, config)
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


# --------------------------------------------------------------------------- the daemon's workers

BACKFILL = 240  # messages in the mailbox: a backfill of many batches, each parsed by the workers
LOCK = "casewatch.lock"
MARK = "CASEWATCH_TEST_RUN"  # set in a daemon's environment: its workers inherit it
#: Of this test session: another suite run on the same machine (a second checkout, a helper's
#: worktree) starts daemons with the same marks, and its processes are not ours to count.
SESSION = uuid.uuid4().hex


def _stat(pid: int) -> tuple[str, int] | None:
    """(state, parent pid) of a live process, else None."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2 :].split()
    return fields[0], int(fields[1])


def _pids() -> list[int]:
    return [int(p.name) for p in Path("/proc").iterdir() if p.name.isdigit()]


def _workers(daemon: int) -> list[int]:
    """The daemon's child processes, but multiprocessing's resource tracker."""
    found = []
    for pid in _pids():
        stat = _stat(pid)
        if stat is None or stat[1] != daemon or stat[0] == "Z":
            continue
        try:
            if b"resource_tracker" not in Path(f"/proc/{pid}/cmdline").read_bytes():
                found.append(pid)
        except OSError:
            continue
    return found


def _marked(mark: str) -> list[int]:
    """Live processes (not zombies) whose environment carries ``MARK=mark``."""
    wanted = f"{MARK}={mark}.{SESSION}".encode()
    found = []
    for pid in _pids():
        try:
            environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
        except OSError:
            continue
        stat = _stat(pid)
        if wanted in environ and stat is not None and stat[0] != "Z":
            found.append(pid)
    return found


def _holds(pid: int, name: str) -> bool:
    """Whether the process has a file called ``name`` open."""
    try:
        fds = list(Path(f"/proc/{pid}/fd").iterdir())
    except OSError:
        return False
    for fd in fds:
        try:
            if os.readlink(fd).endswith("/" + name):
                return True
        except OSError:
            continue
    return False


def _run_daemon(config: Path, mark: str, session: bool = False) -> subprocess.Popen[bytes]:
    """``casewatch run``, logging to ``<mark>.log`` beside the config (a file: a pipe would stay
    open, and a read hang, as long as any process that inherited it lives)."""
    env = {
        **os.environ,
        "CASEWATCH_IMAP_PASSWORD": Dovecot.password,
        "PYTHONUNBUFFERED": "1",
        MARK: f"{mark}.{SESSION}",
    }
    env.pop("CASEWATCH_CRASH", None)
    with (config.parent / f"{mark}.log").open("wb") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "daemon", "--config", str(config), "run"],
            env=env,
            cwd=config.parent,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=session,  # its own process group, as a terminal's foreground job
        )


def _log(config: Path, mark: str) -> bytes:
    return (config.parent / f"{mark}.log").read_bytes()


def _wait_log(proc: subprocess.Popen[bytes], config: Path, mark: str, text: bytes) -> None:
    """Wait until the daemon has logged ``text`` (a condition; the deadline only ends a hang)."""
    deadline = time.monotonic() + 300
    while text not in _log(config, mark):
        if proc.poll() is not None and text not in _log(config, mark):
            raise AssertionError(
                f"the daemon ended (exit {proc.returncode}) before logging {text!r}:\n"
                + _log(config, mark).decode()
            )
        assert time.monotonic() < deadline, _log(config, mark).decode()
        time.sleep(0.05)


def _gone(mark: str, within: float = 60.0) -> list[int]:
    """The processes marked ``mark`` still alive after waiting up to ``within`` s for them to end."""
    deadline = time.monotonic() + within
    while (left := _marked(mark)) and time.monotonic() < deadline:
        time.sleep(0.1)
    return left


@pytest.fixture
def backfill(dovecot: Dovecot, imap_folder: str) -> str:
    with dovecot.client() as client:
        for n in range(BACKFILL):
            client.append(imap_folder, created(f"1072{n:04d}", token=f"thread::backfill{n:06d}::"))
    return imap_folder


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux /proc to see the workers")
@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="one core: the daemon parses in place, with no workers")
def test_kill_9_mid_backfill_leaves_no_worker_and_a_restart_takes_the_lock_at_once(
    backfill, dovecot, smtp, tmp_path
):
    """``kill -9`` of ``casewatch run`` while its worker processes parse a backfill: no worker
    outlives it or holds the single-instance lock, a restart runs at once and stores the rest."""
    from daemon.ingest import PARALLEL_FROM

    config = tmp_path / "config.toml"
    write_config(config, dovecot, backfill, smtp)
    batch = max(PARALLEL_FROM, 20)  # big enough for the workers, small enough for many batches
    config.write_text(config.read_text().replace("batch_size = 2", f"batch_size = {batch}"))
    first = _run_daemon(config, "first")
    try:
        _wait_log(first, config, "first", b"batch (")  # a batch is stored: the workers parse the next ones
        workers = _workers(first.pid)
        assert workers, "no worker processes: the backfill was parsed in place"
        assert not [w for w in workers if _holds(w, LOCK)]  # no worker holds the daemon's lock
        assert _holds(first.pid, LOCK)  # (the daemon does: the check above can see it)
        first.kill()
        assert first.wait(timeout=60) == -signal.SIGKILL
    finally:
        _reap(first)
    with Store(tmp_path / "cw.db") as store:
        assert 0 < store.message_count() < BACKFILL  # killed mid-backfill

    again = _run_daemon(config, "again")
    try:
        _wait_log(again, config, "again", b"cycle:")  # it took the lock (no exit 3) and finished the backfill
        assert again.poll() is None
        assert _gone("first") == []  # nothing of the killed daemon is left
        again.send_signal(signal.SIGTERM)
        assert again.wait(timeout=60) == 0
    finally:
        _reap(again)
    assert _gone("again") == []
    assert b"Traceback" not in _log(config, "again")
    with Store(tmp_path / "cw.db") as store:
        assert store.message_count() == BACKFILL  # every message stored, once
        assert store.health()["quarantined"] == 0
        assert len(store.cases()) == BACKFILL


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux /proc to see the workers")
@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="one core: the daemon parses in place, with no workers")
def test_ctrl_c_mid_backfill_stops_the_daemon_cleanly(backfill, dovecot, smtp, tmp_path):
    """Ctrl-C in a terminal signals the whole foreground group, workers included: the daemon
    finishes the batch in hand and exits 0; the workers leave it to the daemon, and end with it."""
    config = tmp_path / "config.toml"
    write_config(config, dovecot, backfill, smtp)
    config.write_text(config.read_text().replace("batch_size = 2", "batch_size = 20"))
    proc = _run_daemon(config, "ctrl-c", session=True)
    try:
        _wait_log(proc, config, "ctrl-c", b"batch (")
        assert _workers(proc.pid)
        os.killpg(proc.pid, signal.SIGINT)
        assert proc.wait(timeout=120) == 0, _log(config, "ctrl-c").decode()
    finally:
        _reap(proc)
    assert _gone("ctrl-c") == []
    assert b"Traceback" not in _log(config, "ctrl-c")
    with Store(tmp_path / "cw.db") as store:
        stored, cursor = store.message_count(), store.cursor(backfill)
    assert cursor is not None
    assert cursor.last_uid == stored  # what was read is stored, up to the cursor; the rest comes next run


def _reap(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.kill()
    proc.wait()


def test_a_ctrl_c_while_workers_start_is_held_back_not_lost(tmp_path: Path) -> None:
    """While the daemon starts its parsing workers, SIGINT is ignored (a worker inherits that
    across exec, so a Ctrl-C cannot kill it while it imports) and blocked in the starting
    thread (so the daemon does not lose it: it is taken afterwards). A fresh interpreter, as
    the daemon is: no other thread that could take the signal."""
    script = tmp_path / "held.py"
    script.write_text(
        textwrap.dedent(
            """
            import multiprocessing, os, signal, sys
            from daemon.ingest import sigint_held

            def ignored_here(queue):
                status = open("/proc/self/status").read()
                mask = int(status.split("SigIgn:")[1].split()[0], 16)
                queue.put(bool(mask & (1 << (signal.SIGINT - 1))))

            if __name__ == "__main__":
                got = []
                signal.signal(signal.SIGINT, lambda signum, frame: got.append(signum))
                ctx = multiprocessing.get_context("spawn")
                queue = ctx.Queue()
                with sigint_held():
                    worker = ctx.Process(target=ignored_here, args=(queue,))
                    worker.start()
                    os.kill(os.getpid(), signal.SIGINT)
                    during = list(got)
                print(during, got, queue.get(timeout=60))
                worker.join()
            """
        )
    )
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    out = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=120, env=env, check=True
    ).stdout
    assert out.split() == ["[]", f"[{int(signal.SIGINT)}]", "True"]
