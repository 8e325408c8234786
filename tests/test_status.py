"""``casewatch status`` with no standing schedule: it evaluates over the streamed snapshot (slim
contexts) and says what the whole-snapshot engine says; when nothing is due it keeps the
schedule a tick that found nothing due would keep, so the next ``status`` reads it; it queues
nothing, keeps nothing when something is due, leaves another config's schedule alone, and never
waits on a database another process is writing.

Real SQLite on temp files (the generated stores of ``test_schedule``), explicit instants.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import sqlite3
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from policytools import RAW_CONFIG
from policytools import opened as policy_opened
from test_schedule import T0, build, queued, settle

from daemon.cli import cmd_status
from daemon.config import Config, parse
from daemon.model import Event
from daemon.policy.engine import Snapshot, candidates, due_among
from daemon.policy.schedule import fingerprint
from daemon.store import Store
from daemon.store import schedule as stored
from daemon.store.db import CLOSED_HORIZON


def config(path: Path, **extra: Any) -> Config:
    return parse({**RAW_CONFIG, "state": {"db": str(path)}, **extra})


def status(cfg: Config, at: datetime) -> dict[str, Any]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        cmd_status(cfg, argparse.Namespace(at=at.isoformat(), json=True))
    return dict(json.loads(out.getvalue()))


def whole(store: Store, cfg: Config, at: datetime) -> tuple[int, dict[str, Any] | None]:
    """The reference: due now and next due from every full context of the whole snapshot."""
    snapshot = store.snapshot(at)
    ctxs, actions = candidates(snapshot, at, cfg)
    due = len(due_among(ctxs, actions, snapshot.sent, at))
    ahead = sorted(
        (a for a in actions if a.due_at > at and not any(m in snapshot.sent for m in a.all_marks)),
        key=lambda a: a.due_at,
    )
    if not ahead:
        return due, None
    return due, {"kind": ahead[0].kind, "case": ahead[0].case, "due_at": ahead[0].due_at.isoformat()}


def test_status_without_a_schedule_says_what_the_whole_snapshot_says(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    cfg = config(path)
    build(path, 60).close()
    for at in (T0 - timedelta(days=3), T0, T0 + timedelta(days=4, hours=5), T0 + timedelta(days=70)):
        with Store(path) as store, store.transaction():
            stored.forget(store)
            expected = whole(store, cfg, at)
        said = status(cfg, at)
        assert (said["due_now"], said["next_due"]) == expected, at


def test_status_without_a_schedule_never_holds_the_whole_snapshot(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """It reads the store case by case (``Store.streamed``), as ``casewatch due`` does."""
    path = tmp_path / "s.db"
    build(path, 60).close()

    def whole(self: Store, until: datetime | None = None) -> Snapshot:
        raise AssertionError("the whole snapshot was read")

    monkeypatch.setattr(Store, "snapshot", whole)
    assert status(config(path), T0)["due_now"] > 0


def test_status_keeps_the_schedule_a_quiet_tick_keeps_and_reads_it_next(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    cfg = config(path)
    with build(path, 60) as store:
        settle(store, cfg, T0)
        ticked = stored.stored(store)
        assert ticked is not None
        with store.transaction():
            stored.forget(store)
        before = queued(store)
    first = status(cfg, T0)
    assert first["due_now"] == 0
    with Store(path) as store:
        assert stored.stored(store) == ticked  # the same schedule, generation and config
        assert queued(store) == before  # status queued nothing
        assert stored.standing(store, fingerprint(cfg), T0) is not None
    assert status(cfg, T0) == first


def test_a_closed_case_leaving_the_snapshot_bounds_the_schedule_status_keeps(tmp_path: Path) -> None:
    """Its files are read once, as they stream: the last event of a closed case is noted on the
    way (``CLOSED_HORIZON`` after it, the decision can change), as a tick reads it."""
    path = tmp_path / "s.db"
    cfg = config(path)
    closed = T0 - CLOSED_HORIZON + timedelta(hours=1)
    with Store(path) as store:
        with store.transaction():
            store.add_events(
                [
                    policy_opened("2026-06-01 09:00", case="10900001"),
                    Event("10900001", closed, "case_closed", "vendor", None, "c", {"state": "closed"}),
                ],
                None,
            )
            store.refresh_case("10900001", T0)
        settle(store, cfg, T0)
        ticked = stored.stored(store)
        assert ticked is not None
        assert ticked.schedule.next_at == closed + CLOSED_HORIZON
        with store.transaction():
            stored.forget(store)
    status(cfg, T0)
    with Store(path) as store:
        assert stored.stored(store) == ticked


def test_status_keeps_no_schedule_while_something_is_due(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    cfg = config(path)
    with build(path, 60) as store:
        before = queued(store)
    assert status(cfg, T0)["due_now"] > 0
    with Store(path) as store:
        assert stored.stored(store) is None
        assert queued(store) == before


def test_status_leaves_the_schedule_of_another_config_alone(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    daemons = config(path)
    with build(path, 60) as store:
        settle(store, daemons, T0)
        kept = stored.stored(store)
    assert kept is not None
    other = config(path, sending={"daily_cap": 5})
    assert status(other, T0 + timedelta(seconds=1))["due_now"] == 0
    with Store(path) as store:
        assert stored.stored(store) == kept


def test_status_answers_without_keeping_while_another_process_writes(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    cfg = config(path)
    with build(path, 60) as store:
        settle(store, cfg, T0)
        with store.transaction():
            stored.forget(store)
    with contextlib.closing(sqlite3.connect(path, isolation_level=None)) as writer:
        writer.execute("BEGIN IMMEDIATE")  # the daemon, in the middle of a write
        said = status(cfg, T0)
        writer.execute("ROLLBACK")
    assert said["due_now"] == 0
    with Store(path) as store:
        assert stored.stored(store) is None
