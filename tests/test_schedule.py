"""The decision schedule: an idle tick skips the engine only when the full evaluation would have
decided nothing, and ``status`` says from it what the engine would say.

Real SQLite on temp files, explicit instants. The equivalence tests run a daemon that uses the
schedule beside one that always evaluates in full (two copies of one store) and compare what
each queued, and at every tick the schedule skipped check that a full evaluation decides nothing.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import random
import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from policytools import CONFIG, GOOD_DESCRIPTION, RAW_CONFIG, ev, t
from policytools import opened as policy_opened
from policytools import snapshot as policy_snapshot

import daemon
from daemon.cli import cmd_status
from daemon.config import Config, parse
from daemon.cycle import decide_and_queue
from daemon.model import Event, Link
from daemon.outbound.outbox import SendCounts
from daemon.policy.engine import evaluate
from daemon.policy.schedule import decide, fingerprint
from daemon.store import Store
from daemon.store import schedule as stored
from daemon.store.db import CLOSED_HORIZON
from daemon.store.outbox import OutgoingRow

T0 = t("2026-10-05 09:00")  # a Monday; the support call of 4 November falls in the weeks played
INSTITUTIONS = ("WWU", "UO", "EWU", "UPS", "WOU", "OSU")
OWNERS = tuple(f"owner{i}@{inst.lower()}.edu" for i, inst in enumerate(INSTITUTIONS))


# --------------------------------------------------------------------------- a generated store


def opened(case: str, at: datetime, rng: random.Random, priority: str = "normal") -> Event:
    n = rng.randrange(len(INSTITUTIONS))
    return Event(
        case,
        at,
        "case_opened",
        "vendor",
        f"<{case}-open@x>",
        "opened",
        {
            "state": "open",
            "priority": priority,
            "owner": OWNERS[n],
            "institution": INSTITUTIONS[n],
            "asset": "Alma",
            "category": rng.choice(("Fulfillment", "Resource Management")),
            "subcategory": "Letters",
            "title": f"Problem {case}",
            "description": GOOD_DESCRIPTION if rng.random() < 0.7 else "It is broken.",
        },
    )


def timeline(case: str, i: int, rng: random.Random, start: datetime) -> list[Event]:
    """One case's events before ``start``, of a mix that calls for every kind of rule."""
    kind = i % 10
    hours = timedelta(hours=1)
    if kind < 5:  # waiting on the vendor: the ladder
        first = start - rng.randrange(24, 24 * 30) * hours
        events = [opened(case, first, rng, rng.choice(("normal", "normal", "high", "low")))]
        events.append(
            Event(case, start - rng.randrange(1, 72) * hours, "vendor_comment", "vendor", None, "c", {})
        )
        if kind == 4:
            events.append(
                Event(case, events[-1].at + hours, "update_requested", "member", None, "update?", {})
            )
        return events
    if kind < 7:  # waiting on us
        first = start - rng.randrange(24, 24 * 20) * hours
        pending = start - rng.randrange(1, 24 * 6) * hours
        return [
            opened(case, first, rng),
            Event(case, pending, "status_changed", "vendor", None, "s", {"state": "pending_customer"}),
        ]
    if kind == 7:  # closed: the survey, and some leave the snapshot during the weeks played
        closed = start - rng.choice((rng.randrange(1, 24 * 5), 24 * 59 + rng.randrange(0, 24 * 14))) * hours
        return [
            opened(case, closed - 24 * 10 * hours, rng),
            Event(case, closed, "case_closed", "vendor", None, "closed", {"state": "closed"}),
        ]
    first = start - rng.randrange(1, 24 * 40) * hours  # system down or high: PM rules
    return [opened(case, first, rng, rng.choice(("system_down", "high")))]


def quiet(case: str, i: int, rng: random.Random, start: datetime) -> list[Event]:
    """One case's events just before ``start``, so that nothing is due at ``start`` and its
    next action falls due in the days after (the ladder, waiting on us, the survey)."""
    last = start - timedelta(minutes=rng.randrange(1, 600))
    first = opened(case, last - timedelta(days=rng.randrange(2, 20)), rng)
    first = replace(first, data={**first.data, "description": GOOD_DESCRIPTION})
    news = {0: ("vendor_comment", {}), 1: ("status_changed", {"state": "pending_customer"})}
    kind, data = news.get(i % 3, ("case_closed", {"state": "closed"}))
    return [first, Event(case, last, kind, "vendor", None, kind, data)]  # type: ignore[arg-type]


def build_quiet(path: Path, n: int, start: datetime, seed: int = 23) -> Store:
    """A store of ``n`` cases (``quiet``) with nothing due at ``start``."""
    rng = random.Random(seed)
    store = Store(path)
    numbers = [f"{10900000 + i:08d}" for i in range(n)]
    with store.transaction():
        for i, case in enumerate(numbers):
            store.add_events(quiet(case, i, rng, start), None)
        for case in numbers:
            store.refresh_case(case, start)
    return store


def build(path: Path, n: int, seed: int = 17, start: datetime = T0) -> Store:
    """A store of ``n`` cases with linked clusters, commands, and events and links dated after
    ``start`` (a message with a future Date)."""
    rng = random.Random(seed)
    store = Store(path)
    numbers = [f"{10900000 + i:08d}" for i in range(n)]
    with store.transaction():
        for i, case in enumerate(numbers):
            store.add_events(timeline(case, i, rng, start), None)
        for case in numbers[1:3]:  # a snooze and a mute, each until a few days on
            until = start + timedelta(days=2 if case == numbers[1] else 3, hours=5)
            name = "snooze" if case == numbers[1] else "mute"
            data = {"command": name, "until": until.isoformat(), "via": "reply"}
            store.add_events(
                [Event(case, start - timedelta(hours=2), "command", "member", None, name, data)], None
            )
        store.add_events(
            [
                Event(
                    numbers[3],
                    start - timedelta(hours=3),
                    "command",
                    "pm",
                    None,
                    "agenda",
                    {"command": "agenda"},
                )
            ],
            None,
        )
        future = start + timedelta(days=4, hours=3)  # dated in the future: visible once now passes it
        store.add_events([Event(numbers[0], future, "vendor_comment", "vendor", None, "later", {})], None)
        for k in range(0, min(n, 40), 8):  # clusters across institutions; one link made later
            group = numbers[k : k + 4]
            at = start + timedelta(days=6) if k == 8 else start - timedelta(days=1)
            store.add_links([Link.of(group[0], c, "cited together") for c in group[1:]], None, at)
        for case in numbers:
            store.refresh_case(case, start)
    return store


def copy(store: Store, path: Path) -> Store:
    with contextlib.closing(sqlite3.connect(path)) as target:
        store.conn.backup(target)
    return Store(path)


def queued(store: Store) -> list[tuple[Any, ...]]:
    rows = store.outbox()
    mail = [
        (r["message_id"], r["kinds"], r["cases"], r["recipients"], r["subject"], r["created_at"])
        for r in rows
    ]
    keys = store.conn.execute("SELECT key, kind, case_number, at FROM sent ORDER BY key").fetchall()
    return sorted(mail) + keys


def evaluated_at(store: Store) -> datetime | None:
    row = stored.stored(store)
    return row.schedule.at if row else None


def full(store: Store, config: Config, now: datetime) -> tuple[int, SendCounts]:
    """A daemon that always evaluates: the schedule is dropped before each tick."""
    with store.transaction():
        stored.forget(store)
    return decide_and_queue(store, config, now)


def settle(store: Store, config: Config, now: datetime) -> None:
    """Decide at ``now`` until a cycle queues nothing (mail queued adds events the rules read:
    the cycle after decides again); then the schedule is kept."""
    for _ in range(5):
        if decide_and_queue(store, config, now)[0] == 0:
            return
    raise AssertionError("still queueing after five cycles")


def nothing_due(store: Store, config: Config, now: datetime) -> bool:
    return evaluate(store.snapshot(now), now, config)[1] == []


@pytest.fixture
def small(tmp_path: Path) -> Iterator[Store]:
    with build(tmp_path / "small.db", 60) as store:
        yield store


# --------------------------------------------------------------------------- the generation


def bump(store: Store, write: Callable[[], object]) -> int:
    before = stored.generation(store)
    with store.transaction():
        write()
    return stored.generation(store) - before


CASE = "10900005"
ROW = OutgoingRow("<m@x>", "tok", ("survey",), (CASE,), "a@x", ("b@x",), "s", b"raw", T0, T0, T0)
WRITES: dict[str, Callable[[Store], object]] = {
    "events insert": lambda s: s.add_events(
        [Event(CASE, T0, "vendor_comment", "vendor", None, "x", {})], None
    ),
    "events update": lambda s: s.conn.execute(
        "UPDATE events SET summary = 'y' WHERE case_number = ?", (CASE,)
    ),
    "events delete": lambda s: s.conn.execute("DELETE FROM events WHERE case_number = ?", (CASE,)),
    "links insert": lambda s: s.add_links([Link.of(CASE, "10900006", "cited")], None, T0),
    "links update": lambda s: s.conn.execute("UPDATE links SET reason = 'again'"),
    "links delete": lambda s: s.conn.execute("DELETE FROM links"),
    "sent insert": lambda s: s.queue_message(ROW, [("survey:x", "survey", CASE)]),
    "sent update": lambda s: s.conn.execute("UPDATE sent SET at = ?", (T0.isoformat(),)),
    "sent delete": lambda s: s.conn.execute("DELETE FROM sent"),
    "cases insert": lambda s: s.conn.execute("INSERT INTO cases VALUES ('1', 1, 'open', '{}', '')"),
    "cases update": lambda s: s.refresh_case(CASE, T0),
    "cases delete": lambda s: s.conn.execute("DELETE FROM cases WHERE number = ?", (CASE,)),
}


@pytest.mark.parametrize("write", sorted(WRITES))
def test_a_write_to_each_table_the_snapshot_reads_bumps_the_generation(small: Store, write: str) -> None:
    if write.startswith("sent") and not write.endswith("insert"):
        bump(small, lambda: WRITES["sent insert"](small))  # something to update or delete
    assert bump(small, lambda: WRITES[write](small)) >= 1


def test_writes_the_snapshot_does_not_read_leave_the_generation_and_the_schedule(small: Store) -> None:
    settle(small, CONFIG, T0)
    before = stored.generation(small)
    with small.transaction():
        small.mark_run("cycle", "idle", at=T0)
        small.add_quarantine("k", "x", "why", None, T0)
        small.failed("smtp", "down", T0)
    assert stored.generation(small) == before
    assert stored.standing(small, fingerprint(CONFIG), T0 + timedelta(seconds=1)) is not None


# --------------------------------------------------------------------------- when a tick decides again


def test_an_idle_tick_skips_and_new_mail_decides_again(small: Store) -> None:
    settle(small, CONFIG, T0)
    schedule = stored.stored(small)
    assert schedule is not None
    assert schedule.schedule.next_at is not None
    quiet = T0 + (schedule.schedule.next_at - T0) / 2
    assert decide_and_queue(small, CONFIG, quiet) == (0, SendCounts())
    assert evaluated_at(small) == T0
    with small.transaction():
        small.add_events([Event(CASE, quiet, "member_comment", "member", None, "hello", {})], None)
    decide_and_queue(small, CONFIG, quiet)
    assert evaluated_at(small) == quiet


def test_a_changed_config_or_version_decides_again(small: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    settle(small, CONFIG, T0)
    soon = T0 + timedelta(seconds=1)
    other = parse({**RAW_CONFIG, "sending": {"daily_cap": 5}})
    assert stored.standing(small, fingerprint(CONFIG), soon) is not None
    assert stored.standing(small, fingerprint(other), soon) is None
    decide_and_queue(small, other, soon)
    assert evaluated_at(small) == soon
    monkeypatch.setattr(daemon, "__version__", "99.0")
    later = soon + timedelta(seconds=1)
    decide_and_queue(small, other, later)
    assert evaluated_at(small) == later


def test_time_going_backwards_decides_again(small: Store) -> None:
    settle(small, CONFIG, T0)
    earlier = T0 - timedelta(hours=1)
    assert stored.standing(small, fingerprint(CONFIG), earlier) is None
    due, counts = decide_and_queue(small, CONFIG, earlier)
    assert due > 0  # due as of then: their keys were used up later, at T0
    assert counts.queued == 0
    assert stored.stored(small) is None  # kept, it would tell status that nothing is due


def test_a_write_after_the_snapshot_drops_the_schedule(small: Store) -> None:
    settle(small, CONFIG, T0)
    row = stored.stored(small)
    assert row is not None
    seen = stored.generation(small)
    with small.transaction():  # another process writes after our snapshot
        small.add_events([Event(CASE, T0, "member_comment", "member", None, "hi", {})], None)
    with small.transaction():
        stored.keep(small, row.schedule, row.fingerprint, seen)
    assert stored.stored(small) is None


def test_a_closed_case_leaving_the_snapshot_ends_the_schedule(tmp_path: Path) -> None:
    """A closed case counts in a cluster until it leaves the snapshot (``CLOSED_HORIZON`` after
    its last event); then the cluster is smaller, and its alert at that size is due."""
    rng = random.Random(5)
    with Store(tmp_path / "h.db") as store:
        closed = T0 - CLOSED_HORIZON + timedelta(days=1)
        cases = ["10900101", "10900102", "10900103", "10900104"]
        with store.transaction():
            for n, case in enumerate(cases):
                events = quiet(case, 0, rng, T0)
                events[0] = replace(events[0], data={**events[0].data, "institution": INSTITUTIONS[n]})
                if case == cases[3]:
                    events = [replace(events[0], at=closed - timedelta(days=9))]
                    events.append(
                        Event(case, closed, "case_closed", "vendor", None, "c", {"state": "closed"})
                    )
                store.add_events(events, None)
                store.refresh_case(case, T0)
            store.add_links([Link.of(cases[0], c, "cited") for c in cases[1:]], None, closed)
        alert = next(a for a in evaluate(store.snapshot(T0), T0, CONFIG)[1] if a.kind == "widespread")
        assert alert.key.endswith(":4")
        with store.transaction():  # alerted long ago, by a message that wrote no events
            store.queue_message(ROW, [(m, "widespread", None) for m in dict.fromkeys(alert.all_marks)])
        settle(store, CONFIG, T0)
        gone = closed + CLOSED_HORIZON + timedelta(hours=1)
        assert not nothing_due(store, CONFIG, gone)  # the alert of the cluster of three
        assert stored.standing(store, fingerprint(CONFIG), gone) is None


# --------------------------------------------------------------------------- each bound (pure)

OPENED = policy_opened("2026-10-01 09:00")  # normal: request_update due Mon 10-05 10:00
SILENT = [OPENED, ev("vendor_comment", "2026-10-01 10:00")]
TUESDAY = t("2026-10-06 10:00")  # Monday's digest is past its day; the call is Wed 10-07 10:00


def until(name: str, at: str) -> Event:
    return ev("command", "2026-10-02 10:00", actor="member", command=name, until=t(at).isoformat())


@pytest.mark.parametrize(
    ("events", "now", "expected"),
    [
        (SILENT, t("2026-10-05 09:00"), t("2026-10-05 10:00")),  # a candidate comes due
        ([*SILENT, until("mute", "2026-10-07 09:00")], TUESDAY, t("2026-10-07 09:00")),  # a mute ends
        ([*SILENT, until("snooze", "2026-10-07 09:30")], TUESDAY, t("2026-10-07 09:30")),  # a snooze ends
        ([OPENED], t("2026-10-09 18:00"), t("2026-10-12 00:00")),  # the digest looks at a new week
        ([OPENED], t("2026-10-19 07:00"), t("2026-10-19 08:00")),  # the digest slot
        ([OPENED], t("2026-11-03 18:00"), t("2026-11-04 10:00")),  # the support call
    ],
)
def test_the_schedule_ends_where_the_decision_changes(
    events: list[Event], now: datetime, expected: datetime
) -> None:
    """Each instant at which ``now`` alone changes the decision bounds the schedule (the events
    are chosen so that it is the first)."""
    snap = policy_snapshot(events)
    _, due, schedule = decide(snap, now, CONFIG)
    sent = snap.sent | {m for a in due for m in a.all_marks}
    assert schedule.next_at == expected
    later = policy_snapshot(events, sent=sent)
    assert evaluate(later, expected - timedelta(seconds=1), CONFIG)[1] == []


# --------------------------------------------------------------------------- equivalence


def tick(a: Store, b: Store, now: datetime, writes: list[Event]) -> bool:
    """One tick of ``a`` (with the schedule) and ``b`` (in full) at ``now``, after both got
    ``writes`` (new mail); whether ``a`` skipped, checked to decide nothing; both queued alike."""
    for store in (a, b):
        if writes:
            with store.transaction():
                store.add_events(writes, None)
                for case in {e.case for e in writes}:
                    store.refresh_case(case, now)
    standing = stored.standing(a, fingerprint(CONFIG), now) is not None
    if standing:
        assert nothing_due(a, CONFIG, now), now
        assert decide_and_queue(a, CONFIG, now) == (0, SendCounts())
    else:
        decide_and_queue(a, CONFIG, now)
        assert evaluated_at(a) in (now, None)  # None: it queued mail, the next tick decides again
    full(b, CONFIG, now)
    assert queued(a) == queued(b), now
    return standing


def command(case: str, at: datetime, name: str, until: datetime) -> Event:
    return Event(case, at, "command", "member", None, name, {"command": name, "until": until.isoformat()})


def test_the_schedule_queues_what_a_full_evaluation_queues_over_five_weeks(tmp_path: Path) -> None:
    """Ticks every four hours from 5 October to 9 November, and one just before and one at
    each ``next_at``: digests, the 4 November call, snooze and mute ends, a future-dated event
    and link, closed cases leaving the snapshot, and new mail and replies on the way."""
    a = build(tmp_path / "a.db", 48)
    b = copy(a, tmp_path / "b.db")
    hours = timedelta(hours=1)
    end = T0 + timedelta(days=35)
    pending = {T0 + 4 * k * hours for k in range(6 * 35)}
    writes = {
        T0 + 32 * hours: [Event("10900011", T0 + 32 * hours, "vendor_comment", "vendor", None, "news", {})],
        T0 + 120 * hours: [command("10900021", T0 + 120 * hours, "snooze", T0 + timedelta(days=8))],
        T0 + 152 * hours: [command("10900041", T0 + 152 * hours, "mute", T0 + timedelta(days=9, hours=1))],
        T0 + 272 * hours: [
            Event("10900031", T0 + 272 * hours, "status_changed", "vendor", None, "s", {"state": "closed"})
        ],
    }
    ticks, skipped = 0, 0
    while pending:
        now = min(pending)
        pending.remove(now)
        ticks += 1
        skipped += tick(a, b, now, writes.get(now, []))
        row = stored.stored(a)
        nxt = row.schedule.next_at if row is not None and row.schedule.at == now else None
        if nxt is not None and nxt < end:
            pending |= {x for x in (nxt - timedelta(seconds=1), nxt) if x > now}
    assert skipped > 50  # the idle ticks were skipped ...
    assert ticks - skipped > 20  # ... and the others decided
    sent = {k for r in a.outbox() for k in r["kinds"].split(",")}
    assert {"digest", "agenda", "survey", "request_update", "customer_turn", "widespread"} <= sent


def test_the_demo_sends_the_same_with_the_schedule_and_skips_idle_cycles(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from daemon.cycle import run_cycle
    from daemon.demo import demo_config, play, story
    from daemon.outbound.transports import FileTransport

    config = demo_config(parse({}))
    skipped: list[datetime] = []

    def scheduled(store: Store, cfg: Config, now: datetime, transport: Any) -> Any:
        if stored.standing(store, fingerprint(cfg), now) is not None:
            assert nothing_due(store, cfg, now), now
            skipped.append(now)
        return run_cycle(store, cfg, now, transport)

    def always(store: Store, cfg: Config, now: datetime, transport: Any) -> Any:
        with store.transaction():
            stored.forget(store)
        return run_cycle(store, cfg, now, transport)

    outcomes = []
    for name, cycle in (("scheduled", scheduled), ("full", always)):
        monkeypatch.setattr(play, "run_cycle", cycle)
        folder = tmp_path / name
        letters = story.letters(config.tz, config.outbound.from_address)
        with Store(folder / "db.sqlite") as store, FileTransport(str(folder / "outbox")) as transport:
            play.Player(store, config, folder / "mailbox", transport).play(letters)
            outcomes.append(queued(store))
    assert outcomes[0] == outcomes[1]
    assert len(outcomes[0]) > 100
    assert len(skipped) > 10


# --------------------------------------------------------------------------- status


def status(store_path: Path, at: datetime) -> dict[str, Any]:
    cfg = parse({**RAW_CONFIG, "state": {"db": str(store_path)}})
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        cmd_status(cfg, argparse.Namespace(at=at.isoformat(), json=True))
    return dict(json.loads(out.getvalue()))


def test_status_from_a_standing_schedule_says_what_the_engine_says(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    cfg = parse({**RAW_CONFIG, "state": {"db": str(path)}})
    with build(path, 60) as store:
        settle(store, cfg, T0)
        row = stored.stored(store)
        assert row is not None
        assert row.schedule.next_at is not None
        assert row.schedule.upcoming is not None
        nxt = row.schedule.next_at
    rng = random.Random(3)
    for at in (T0, nxt - timedelta(seconds=1), T0 + (nxt - T0) * rng.random()):
        with Store(path) as store:
            assert stored.standing(store, fingerprint(cfg), at) is not None
        fast = status(path, at)
        with Store(path) as store, store.transaction():
            saved = stored.stored(store)
            stored.forget(store)
        slow = status(path, at)
        assert fast == slow
        assert fast["due_now"] == 0
        assert fast["next_due"] is not None
        with Store(path) as store, store.transaction():
            assert saved is not None
            stored.save(store, saved.schedule, saved.fingerprint)


# --------------------------------------------------------------------------- 10,000 cases


def test_at_ten_thousand_cases_nothing_is_due_before_next_at(tmp_path: Path) -> None:
    """The critical instants of a 10,000-case store: a full evaluation one second before the
    schedule's ``next_at`` and at a random instant before it finds nothing due (while the
    schedule stands there); at ``next_at`` what fell due is queued."""
    now = T0 + timedelta(days=1)  # a Tuesday: Monday's digest is past its day
    with build_quiet(tmp_path / "big.db", 10_000, now) as store:
        settle(store, CONFIG, now)
        row = stored.stored(store)
        assert row is not None
        assert row.schedule.at == now
        assert row.schedule.next_at is not None
        nxt = row.schedule.next_at
        for at in (nxt - timedelta(seconds=1), now + (nxt - now) * random.Random(10_000).random()):
            assert stored.standing(store, fingerprint(CONFIG), at) is not None
            assert nothing_due(store, CONFIG, at), at
        before = len(store.outbox())
        assert decide_and_queue(store, CONFIG, nxt)[0] > 0
        assert len(store.outbox()) > before
