"""The decision schedule as the store keeps it: the generation counter and the one schedule row.

Triggers (``schema.m005_schedule``) bump ``generation`` on every insert, update and delete of
the tables the snapshot reads (``SNAPSHOT_TABLES``), whoever writes: no code has to remember to.
A cycle that evaluated and found nothing written since its snapshot, its own queueing included,
keeps its ``Schedule`` (``daemon.policy.schedule``) under that generation (``keep``); a later
tick or ``status`` finds it standing (same generation and config fingerprint, evaluated at or
before ``now``, ``now`` before ``next_at``) with two indexed reads, and skips the snapshot and
the engine.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from daemon.policy.schedule import Schedule, Upcoming
from daemon.store.db import Store
from daemon.store.outbox import iso


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
