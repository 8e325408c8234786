"""The daemon's real tick (``daemon.runner.Runner.tick``) on a generated store, with Dovecot
configured: idle, with one new message, and RSS over many ticks with steady mail."""

from __future__ import annotations

import argparse
import gc
import json
import logging
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

from benchparts.mail import renamed
from benchparts.stores import NOW, write_config
from daemon.config import Config, load
from daemon.runner import Runner
from daemon.store import Store

#: The instant of the last of ``tick_costs``'s ticks.
SETTLED = NOW + timedelta(minutes=2)


def vm_rss_mb(pid: int | str = "self") -> float:
    """The process's resident set now (VmRSS), in MB; 0 when it is gone."""
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0.0
    for line in text.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


@contextmanager
def runner_on(dovecot: Any, db: Path, folder: str, clock: list[Any]) -> Iterator[Runner]:
    """A Runner on ``db`` reading ``folder`` of the bench's Dovecot; its clock reads ``clock[0]``."""
    cfg_path = write_config(
        db.with_suffix(".toml"), db, db.parent / "outbox", port=dovecot.port, user=dovecot.user, folder=folder
    )
    os.environ["CASEWATCH_IMAP_PASSWORD"] = dovecot.password
    config: Config = load(str(cfg_path))
    logging.getLogger("casewatch").setLevel(logging.WARNING)
    with Store(db) as store:
        yield Runner(config, store, clock=lambda: clock[0])


def cpu_of(fn: Any) -> float:
    start = time.process_time()
    fn()
    return time.process_time() - start


def tick_costs(dovecot: Any, db: Path, folder: str, extra: list[bytes], repeat: int = 5) -> dict[str, float]:
    """On a store already built at ``db``: CPU of an idle tick (best of ``repeat``, after a first
    tick that may evaluate and queue) and of a tick with one new message (best of 3)."""
    dovecot.create_folder(folder)
    clock = [NOW]
    with runner_on(dovecot, db, folder, clock) as runner:
        first = cpu_of(runner.tick)
        idle = min(cpu_of(runner.tick) for _ in range(repeat))
        one = []
        for raw in extra[:3]:
            dovecot.append(folder, raw)
            one.append(cpu_of(runner.tick))
        # The daemon's next ticks, a minute apart, with nothing new: a tick that queued mail (the
        # new messages' stale actions, in a backlog summary) wrote to the store and left no
        # schedule; the next decides again and keeps it (what ``status`` then reads, at ``SETTLED``).
        for minutes in (1, 2):
            clock[0] = NOW + timedelta(minutes=minutes)
            runner.tick()
    gc.collect()
    return {"first": first, "idle": idle, "one_new": min(one)}


def memory_over_ticks(
    dovecot: Any, db: Path, folder: str, mail: list[bytes], ticks: int, early: int, per_tick: int = 3
) -> dict[str, float]:
    """RSS of this process after ``early`` ticks and after ``ticks`` ticks; before each tick
    ``per_tick`` new messages are appended to the folder and the clock moves a minute."""
    dovecot.create_folder(folder)
    clock = [NOW]
    rss: dict[str, float] = {}
    used = 0
    with runner_on(dovecot, db, folder, clock) as runner, dovecot.client() as imap:
        start = time.perf_counter()
        for n in range(1, ticks + 1):
            for _ in range(per_tick):
                imap.append(folder, renamed(mail[used % len(mail)], f"t{used}"))
                used += 1
            clock[0] = NOW + timedelta(minutes=n)
            runner.tick()
            if n == early:
                rss["early"] = vm_rss_mb()
        rss["late"] = vm_rss_mb()
        rss["seconds"] = time.perf_counter() - start
    return rss


class Remote:
    """The bench's Dovecot as seen from a child process: its port and login (the bench runs it)."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.port, self.user, self.password = int(args.port), args.user, args.password

    @contextmanager
    def client(self) -> Iterator[Any]:
        from imapclient import IMAPClient

        c = IMAPClient("127.0.0.1", port=self.port, ssl=False, timeout=30)
        c.login(self.user, self.password)
        try:
            yield c
        finally:
            c.logout()

    def create_folder(self, folder: str) -> None:
        with self.client() as c:
            c.create_folder(folder)


def memory_child(args: argparse.Namespace) -> None:
    """Child process: ``memory_over_ticks`` on the store at ``args.db``, alone in its process."""
    from benchparts.mail import messages

    steady = messages(50, 5)
    early, late = (int(x) for x in args.ticks.split("/"))
    rss = memory_over_ticks(Remote(args), Path(args.db), args.folder, steady, late, early)
    print(json.dumps(rss))
