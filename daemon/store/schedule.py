"""The decision schedule as the store keeps it: the generation counter and the one schedule row.

Triggers (``schema.m005_schedule``) bump ``generation`` on every insert, update and delete of
the tables the snapshot reads (``SNAPSHOT_TABLES``), whoever writes: no code has to remember to.
A cycle that evaluated and found nothing written since its snapshot, its own queueing included,
keeps its ``Schedule`` (``daemon.policy.schedule``) under that generation (``keep``); a later
tick or ``status`` finds it standing (same generation and config fingerprint, evaluated at or
before ``now``, ``now`` before ``next_at``) with two indexed reads, and skips the snapshot and
the engine. ``status`` is what ``casewatch status`` says of the decisions: from the standing
schedule, else from the engine over the streamed snapshot, keeping the schedule that leaves when
nothing is due (as a tick would).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import suppress
from dataclasses import dataclass, replace
from datetime import datetime

from daemon.config import Config
from daemon.errors import StoreError
from daemon.policy.engine import CaseFile, candidates, due_among, slim
from daemon.policy.schedule import Schedule, Upcoming, fingerprint, next_change
from daemon.store.db import BUSY_TIMEOUT_MS, CLOSED_HORIZON, Store
from daemon.store.outbox import iso

#: How long ``status`` waits for the database's write lock before leaving the schedule unsaved.
QUICK_MS = 200


@dataclass(frozen=True)
class Stored:
    """The schedule row: the schedule, and the generation and config it was decided under."""

    schedule: Schedule
    generation: int
    fingerprint: str


def generation(store: Store) -> int:
    """How many writes the snapshot's tables have had (a counter, never going back)."""
    return int(store.conn.execute("SELECT n FROM generation WHERE id = 1").fetchone()[0])


def stored(store: Store) -> Stored | None:
    row = store.conn.execute(
        "SELECT generation, fingerprint, at, next_at, next_kind, next_case, next_due_at FROM schedule"
    ).fetchone()
    if row is None:
        return None
    gen, fp, at, next_at, kind, case, due_at = row
    upcoming = Upcoming(kind, case, datetime.fromisoformat(due_at)) if kind and due_at else None
    when = datetime.fromisoformat(next_at) if next_at else None
    return Stored(Schedule(datetime.fromisoformat(at), when, upcoming), int(gen), str(fp))


def standing(store: Store, fingerprint: str, now: datetime) -> Schedule | None:
    """The stored schedule when it still stands at ``now`` (nothing written since, the same
    config and version, ``now`` within it), else None."""
    row = stored(store)
    if row is None or row.fingerprint != fingerprint or row.generation != generation(store):
        return None
    return row.schedule if row.schedule.stands(now) else None


def later(store: Store, now: datetime) -> tuple[datetime | None, ...]:
    """The earliest event, link and sent key dated after ``now`` (None where there is none)."""
    at = iso(now)
    out = []
    for table in ("events", "links", "sent"):
        found = store.conn.execute(f"SELECT min(at) FROM {table} WHERE at > ?", (at,)).fetchone()[0]
        out.append(datetime.fromisoformat(found) if found else None)
    return tuple(out)


def forget(store: Store) -> None:
    """Drop the schedule: the next tick decides in full (inside ``transaction()``)."""
    store.conn.execute("DELETE FROM schedule")


def save(store: Store, schedule: Schedule, fingerprint: str) -> None:
    """Keep ``schedule`` under the generation as of now (inside ``transaction()``, after the
    queueing of its evaluation, so its own writes count as seen)."""
    upcoming = schedule.upcoming
    store.conn.execute(
        "INSERT OR REPLACE INTO schedule (id, generation, fingerprint, at, next_at, next_kind, next_case,"
        " next_due_at) VALUES (1, ?, ?, ?, ?, ?, ?, ?)",
        (
            generation(store),
            fingerprint,
            iso(schedule.at),
            iso(schedule.next_at) if schedule.next_at else None,
            upcoming.kind if upcoming else None,
            upcoming.case if upcoming else None,
            iso(upcoming.due_at) if upcoming else None,
        ),
    )


def keep(store: Store, schedule: Schedule | None, fingerprint: str, seen: int) -> None:
    """After the queueing of an evaluation whose snapshot was read at generation ``seen``: keep
    ``schedule`` when nothing was written since, else drop it (inside ``transaction()``); None
    (the evaluation found something due): drop it.

    The queueing's own writes count: the ``reminder_sent`` events it adds are read by the rules
    (``owner_inactive`` starts from one; a case gone past the closed horizon comes back with
    one), so the cycle after one that queued mail decides again."""
    if schedule is not None and generation(store) == seen:
        save(store, schedule, fingerprint)
    else:
        forget(store)


class _Closing:
    """The case files as they are read, noting for ``next_change`` the one thing it reads of each
    (the last event of a closed case, or of one with no cached projection), so that a streamed
    snapshot is read once, not twice."""

    def __init__(self, files: Iterable[CaseFile]) -> None:
        self.files = files
        self.noted: list[CaseFile] = []

    def __iter__(self) -> Iterator[CaseFile]:
        for f in self.files:
            if f.events and (f.case is None or f.case.state == "closed"):
                self.noted.append(CaseFile(f.number, (f.events[-1],)))
            yield f


def status(store: Store, config: Config, now: datetime) -> tuple[int, Upcoming | None]:
    """What ``casewatch status`` says of the decisions at ``now``: how many actions are due, and
    the next upcoming one.

    While the stored schedule stands: from it (two indexed reads, whatever the number of cases).
    Else: from the engine over the streamed snapshot, keeping a slim context of each case (as
    ``casewatch due`` does); and when nothing is due, the schedule that evaluation leaves is
    kept, as a tick that found nothing due keeps it (the same schedule: a tick would have
    queued nothing), so the next ``status`` reads it. It is not kept when something is due (a
    tick would queue it first), when anything was written since the snapshot, when the stored
    row was decided under another config (the daemon's: it is left alone), or when the database
    cannot be written now (read-only, or busy): ``status`` never waits on the daemon's writes."""
    fp = fingerprint(config)
    standing_now = standing(store, fp, now)
    if standing_now is not None:
        return 0, standing_now.upcoming
    seen = generation(store)
    streamed = store.streamed(now)
    files = _Closing(streamed.files)
    ctxs, actions = candidates(replace(streamed, files=files), now, config, keep=slim)
    due = due_among(ctxs, actions, streamed.sent, now)
    ahead = sorted(
        (a for a in actions if a.due_at > now and not any(m in streamed.sent for m in a.all_marks)),
        key=lambda a: a.due_at,
    )
    upcoming = Upcoming(ahead[0].kind, ahead[0].case, ahead[0].due_at) if ahead else None
    if not due:
        plan = next_change(
            replace(streamed, files=tuple(files.noted)),
            ctxs,
            actions,
            streamed.sent,
            now,
            config,
            later(store, now),
            CLOSED_HORIZON,
        )
        _keep_if_quiet(store, plan, fp, seen)
    return len(due), upcoming


def _keep_if_quiet(store: Store, plan: Schedule, fp: str, seen: int) -> None:
    """Save ``plan`` when nothing was written since generation ``seen`` and the stored row, if
    any, was decided under the same config; a database that cannot be written at once is left
    as it is."""
    row = stored(store)
    if row is not None and row.fingerprint != fp:
        return
    store.conn.execute(f"PRAGMA busy_timeout={QUICK_MS}")
    try:
        with suppress(StoreError), store.transaction():
            if generation(store) == seen:
                save(store, plan, fp)
    finally:
        store.conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
