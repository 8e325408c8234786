"""``casewatch run``: the daemon loop. It only ticks; each tick is one gather -> decide -> apply cycle.

A tick runs its stages in order, each isolated: reading mail (``imap``), deciding and queueing
(``decide``), sending (``smtp``). One failing is logged, counted for the admin alert, and never
stops the others or the loop. The ``schedule`` package ticks every ``[daemon] poll_every``;
between ticks the runner waits on IMAP IDLE (a hint that mail came: a tick follows at once) or
sleeps. After a failure to read mail the next tick comes after a growing, jittered pause.

Process: one instance per state folder (a lock file beside the database); SIGTERM and SIGINT
let the message in hand finish and exit 0; SIGHUP reloads the config (a bad one is refused and
the old one kept). systemd is told READY, STATUS and WATCHDOG when it asks for them. The
database file is looked at before each tick and every few seconds between ticks: removed or
replaced under the daemon, the admin is mailed at once and the daemon exits 3
(``DatabaseGone``) instead of writing on to a file nobody reads.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import schedule

from daemon import alerts
from daemon import config as config_mod
from daemon.config import Config
from daemon.cycle import decide_and_queue
from daemon.errors import CasewatchError, RuntimeFailure
from daemon.ingest import imap_credentials, poll_imap
from daemon.ops import metrics, notify
from daemon.outbound.outbox import SendCounts, flush
from daemon.outbound.transports import Transport, transport_for
from daemon.sources.idle import Backoff, IdleWatcher
from daemon.store import Store
from daemon.timeparts import Duration

log = logging.getLogger("casewatch.runner")


@contextlib.contextmanager
def _logged(what: str) -> Iterator[None]:
    """A step whose failure must not stop the loop: a failure is logged (a warning with the
    exception; its traceback too when it is a bug) and the loop goes on."""
    try:
        yield
    except Exception as e:
        log.warning(
            "%s failed: %s", what, str(e) or type(e).__name__, exc_info=not isinstance(e, CasewatchError)
        )


class AlreadyRunning(RuntimeFailure):
    """Another ``casewatch run`` holds the state folder's lock."""


class DatabaseGone(RuntimeFailure):
    """The state database file was removed or replaced while the daemon ran."""


#: Seconds between looks at the database file while the daemon waits for its next tick.
CHECK_EVERY = 5.0


@contextlib.contextmanager
def single_instance(db: str | Path) -> Iterator[None]:
    """Hold the lock file beside the database for as long as the block runs."""
    path = Path(db).parent / "casewatch.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = path.open("a+")
    # No child inherits the lock (Python's default, made explicit): a process that outlived the
    # daemon would otherwise hold it, and every restart would be refused.
    os.set_inheritable(handle.fileno(), False)
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        holder = handle.read().strip() or "another process"
        handle.close()
        raise AlreadyRunning(
            f"another casewatch run (pid {holder}) already uses {Path(db).parent}; "
            "stop it first, or give this one its own [state] db"
        ) from None
    handle.seek(0)
    handle.truncate()
    handle.write(str(os.getpid()))
    handle.flush()
    try:
        yield
    finally:
        handle.close()


@dataclass
class TickResult:
    read: int = 0
    due: int = 0
    sending: SendCounts = field(default_factory=SendCounts)
    failed: list[str] = field(default_factory=list)


def seconds(d: Duration) -> float:
    factor = {"minutes": 60, "hours": 3600, "days": 86400, "weeks": 604800}.get(d.unit, 3600)
    return d.amount * factor


class Runner:
    """The daemon: ticks until asked to stop. ``clock`` and ``transport`` can be given (tests)."""

    def __init__(
        self,
        config: Config,
        store: Store,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        transport: Callable[[Config], Transport] = transport_for,
        config_path: str | None = None,
    ) -> None:
        self.config, self.store, self.clock = config, store, clock
        self.make_transport, self.config_path = transport, config_path
        self.stop = threading.Event()
        self.reload_wanted = False
        self.ticks = 0
        self.stage_failures: dict[str, int] = {}
        self.imap_backoff = Backoff(seconds(config.daemon.backoff_max))
        self.next_tick_in: float | None = None
        self.scheduler = schedule.Scheduler()
        self.scheduler.every(max(1, round(seconds(config.daemon.poll_every)))).seconds.do(self.tick)
        self._watcher: IdleWatcher | None = None
        self._alive_told = time.monotonic()  # when systemd's watchdog was last told

    # ------------------------------------------------------------ stages

    def _stage(
        self,
        name: str,
        result: TickResult,
        action: Callable[[], Any],
        proven: Callable[[Any], bool] = lambda _value: True,
    ) -> Any:
        """Run one stage; a failure is logged and counted, never raised. ``proven`` says whether
        a success shows the stage works again (sending nothing proves nothing about SMTP)."""
        if self.stop.is_set():
            return None
        try:
            value = action()
        except Exception as e:
            if isinstance(e, CasewatchError):
                log.error("%s failed: %s", name, e)
            else:
                log.exception("%s failed (a bug)", name)
            result.failed.append(name)
            self.stage_failures[name] = self.stage_failures.get(name, 0) + 1
            with _logged(f"counting the {name} failure for the admin alert"):
                alerts.failed(self.store, self.config, name, str(e) or type(e).__name__, self.clock())
            return None
        if proven(value):
            with _logged(f"noting that {name} works again"):
                alerts.succeeded(self.store, self.config, name, self.clock())
        return value

    def tick(self) -> TickResult:
        """One cycle: read new mail, decide and queue what is due, send what is ready."""
        self.check_database()
        result = TickResult()
        now = self.clock()
        if self.config.mailbox.host:
            counts = self._stage(
                "imap", result, lambda: poll_imap(self.store, self.config, stopping=self._stopping, now=now)
            )
            if "imap" in result.failed:
                self.next_tick_in = self.imap_backoff.next()
            else:
                self.imap_backoff.reset()
                self.next_tick_in = None
            if counts is not None:
                result.read = counts.read
                log.info("read %s", counts)
        now = self.clock()

        def decide() -> SendCounts:
            result.due, counts = decide_and_queue(self.store, self.config, now)
            return counts

        queued = self._stage("decide", result, decide)
        if queued is not None:
            result.sending = queued

        def send() -> SendCounts:
            with self.make_transport(self.config) as transport:
                counts = flush(self.store, transport, now, result.sending, stopping=self._stopping)
            if counts.retried and not counts.sent:
                raise RuntimeFailure(counts.last_error or "sending failed")  # counted for the alert
            return counts

        self._stage("smtp", result, send, proven=lambda counts: bool(counts and counts.sent))
        self.ticks += 1
        with _logged("recording the cycle"), self.store.transaction():
            self.store.mark_run("cycle", str(result.sending), at=self.clock())
        log.info(
            "cycle: %d read, %d due, %s%s",
            result.read,
            result.due,
            result.sending,
            f"; failed: {', '.join(result.failed)}" if result.failed else "",
        )
        self._metrics(result)
        notify.notify(f"STATUS=last cycle {now:%Y-%m-%d %H:%M} UTC: {result.sending}")
        return result

    def _metrics(self, result: TickResult) -> None:
        path = self.config.daemon.metrics_file
        if not path:
            return
        try:
            extra: dict[str, float | int] = {"casewatch_ticks_total": self.ticks}
            for stage, n in self.stage_failures.items():
                extra[f'casewatch_stage_failures_total{{stage="{stage}"}}'] = n
            extra["casewatch_due_actions"] = result.due
            metrics.write(path, metrics.render(self.store.health(), extra))
        except Exception as e:
            log.warning("cannot write the metrics file %s: %s", path, e)

    def _stopping(self) -> bool:
        """Asked between batches of mail read and between messages sent: whether to stop. A long
        backfill or outbox drain is progress, so systemd's watchdog is told (at its interval)."""
        interval = notify.watchdog_interval()
        if interval is not None and time.monotonic() - self._alive_told >= interval:
            notify.notify("WATCHDOG=1")
            self._alive_told = time.monotonic()
        return self.stop.is_set()

    def check_database(self) -> None:
        """Raise ``DatabaseGone`` (after mailing the admin) if the database file at the configured
        path is no longer the one opened: removed, or replaced by another file."""
        change = self.store.file_changed()
        if not change:
            return
        what = f"the state database {self.store.path} was {change} while casewatch ran"
        log.error("%s: casewatch stops (exit 3) rather than write on to a file nobody reads", what)
        try:
            with self.make_transport(self.config) as transport:
                alerts.database_lost(self.config, transport, what, self.clock())
        except Exception as e:
            log.error("cannot tell the admin: %s", e)
        raise DatabaseGone(
            f"{what}; put the right file back (or leave the path empty to start afresh: the mailbox "
            "is read again) and start casewatch again"
        )

    # ------------------------------------------------------------ the loop

    def _credentials(self) -> tuple[str | None, str | None]:
        """(password, OAuth 2 token) for a new IMAP connection (the token command runs each time)."""
        return imap_credentials(self.config)

    def _wait(self, delay: float) -> None:
        """Wait ``delay`` seconds, or less when IDLE says mail came, or until asked to stop."""
        mb = self.config.mailbox
        if mb.host and self.config.daemon.idle and mb.folders and self._watcher is None:
            self._watcher = IdleWatcher(
                mb, self._credentials, mb.folders[0], seconds(self.config.daemon.idle_restart), self.stop
            )
        watcher = self._watcher
        interval = notify.watchdog_interval() or delay
        end = time.monotonic() + delay
        while not self.stop.is_set() and not self.reload_wanted:
            left = end - time.monotonic()
            if left <= 0:
                return
            if watcher is None:
                self.stop.wait(min(left, interval, 1.0))
            elif watcher.wait(min(left, interval, CHECK_EVERY)):
                log.info("IMAP IDLE: new mail")
                return
            self.check_database()
            notify.notify("WATCHDOG=1")

    def _reload(self) -> None:
        self.reload_wanted = False
        try:
            new = config_mod.load(self.config_path)
        except CasewatchError as e:
            log.error("SIGHUP: the new config is refused, the old one stays: %s", e)
            return
        if new.state.db != self.config.state.db:
            log.error("SIGHUP: [state] db cannot change while running; restart casewatch for that")
            return
        self.config = new
        self.scheduler.clear()
        self.scheduler.every(max(1, round(seconds(new.daemon.poll_every)))).seconds.do(self.tick)
        if self._watcher is not None:
            self._watcher.close()
            self._watcher = None
        log.info("SIGHUP: config reloaded from %s", new.path or "built-in defaults")

    def install_signals(self) -> None:
        def stop(signum: int, _frame: Any) -> None:
            log.info("signal %d: finishing the message in hand, then stopping", signum)
            self.stop.set()

        def hup(_signum: int, _frame: Any) -> None:
            self.reload_wanted = True

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGHUP, hup)

    def run(self) -> None:
        """Tick until asked to stop."""
        notify.notify("READY=1", "STATUS=starting")
        log.info(
            "casewatch runs: every %s, IDLE %s",
            self.config.daemon.poll_every.as_written,
            "on" if self.config.daemon.idle else "off",
        )
        try:
            self.scheduler.run_all()
            while not self.stop.is_set():
                if self.reload_wanted:
                    self._reload()
                if self.next_tick_in is not None:
                    delay = self.next_tick_in
                else:
                    idle = self.scheduler.idle_seconds
                    delay = 60.0 if idle is None else max(0.0, idle)
                self._wait(delay)
                if self.stop.is_set() or self.reload_wanted:
                    continue
                # On time, woken by IDLE, or a backoff ended: tick now; the next one is an interval on.
                self.scheduler.run_all()
        finally:
            notify.notify("STOPPING=1")
            if self._watcher is not None:
                self._watcher.close()
        log.info("casewatch stopped")
