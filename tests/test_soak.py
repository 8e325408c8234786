"""A soak run on a simulated clock: 10,000 messages over a simulated year, a cycle every working
day, mail written by the file transport. It ends with 0 messages lost, 0 reminders doubled, and
resident memory that stays flat from the first quarter to the last.

The mail is generated: each day a few cases open (vendor notifications), get vendor comments
and staff comments, some wait on the customer, and close a few weeks later; some days bring a
duplicate delivery of yesterday's message. Case numbers, owners and dates are deterministic.

One Ingester, and so one pool of parsing workers, reads the whole year (as a long backfill
would): a fresh pool each simulated day cost a few hundred interpreter starts and checked
nothing more.
"""

from __future__ import annotations

import dataclasses
import email
import email.policy
import gc
import os
import random
from collections import Counter
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from mailmaker import created, message

from daemon.config import parse
from daemon.cycle import run_cycle
from daemon.ingest import Ingester, batches
from daemon.model import RawMessage
from daemon.outbound.transports import FileTransport
from daemon.store import Store

TZ = ZoneInfo("America/Los_Angeles")
MESSAGES = 10_000
INSTITUTIONS = ["wwu.edu", "uw.edu", "wsu.edu", "oregonstate.edu", "uoregon.edu", "reed.edu"]
CONFIG = parse(
    {
        "institutions": [{"code": d.split(".")[0].upper(), "domains": [d]} for d in INSTITUTIONS],
        "program_managers": [
            {"name": "Maria Lopez", "email": "mlopez@orbiscascade.org", "areas": ["fulfillment", "systems"]}
        ],
        "sending": {"daily_cap": 1000},
    }
)


def stamp(day: date, hour: int, minute: int) -> str:
    at = datetime(day.year, day.month, day.day, hour, minute, tzinfo=TZ)
    return email.utils.format_datetime(at)


def year_of_mail(rng: random.Random) -> list[tuple[date, list[bytes]]]:
    """About 10,000 messages over 2026, grouped by the day they arrive."""
    days: list[tuple[date, list[bytes]]] = []
    open_cases: list[tuple[str, str, int]] = []  # (case, owner, comments so far)
    number = 10_900_000
    total = 0
    day = date(2026, 1, 5)
    previous: list[bytes] = []
    while total < MESSAGES:
        batch: list[bytes] = []
        if day.weekday() < 5:
            for _ in range(rng.randint(4, 8)):  # new cases
                number += 1
                owner = f"staff{rng.randint(1, 60)}@{rng.choice(INSTITUTIONS)}"
                batch.append(
                    created(
                        str(number),
                        contact=f"Staff ({owner})",
                        account="01ALLIANCE_X",
                        date=stamp(day, rng.randint(8, 16), rng.randint(0, 59)),
                        token=f"thread::soak{number}::",
                    )
                )
                open_cases.append((str(number), owner, 0))
            still_open = []
            for case, owner, comments in open_cases:
                n = comments
                roll = rng.random()
                when = stamp(day, rng.randint(8, 16), rng.randint(0, 59))
                if roll < 0.25:
                    batch.append(
                        message(
                            subject=f"New comment on Case {case}: problem",
                            body=f"A new comment has been added to your case {case}:\n\nWe are on it.\n",
                            to=owner,
                            date=when,
                        )
                    )
                    n += 1
                elif roll < 0.35:
                    batch.append(
                        message(
                            sender=owner,
                            to="support@proquest.com",
                            subject=f"RE: Case {case}: problem",
                            body="Here is the log you asked for.\n",
                            date=when,
                        )
                    )
                if n >= 3 and rng.random() < 0.3:
                    batch.append(
                        message(
                            subject=f"Case {case} - problem - Closed",
                            body=f"Your case {case} has been closed.\n\nStatus: Closed\n",
                            to=owner,
                            date=when,
                        )
                    )
                else:
                    still_open.append((case, owner, n))
            open_cases = still_open
            if previous and rng.random() < 0.2:
                batch.append(previous[0])  # a duplicate delivery
        batch = batch[: MESSAGES - total]
        total += len(batch)
        days.append((day, batch))
        previous = batch
        day += timedelta(days=1)
    return days


def resident_bytes() -> int:
    """The process's resident memory (Linux /proc; no tracing overhead)."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def test_a_simulated_year_loses_nothing_doubles_nothing_and_stays_flat(tmp_path: Path) -> None:
    rng = random.Random(2026)
    days = year_of_mail(rng)
    unique = {
        email.message_from_bytes(m, policy=email.policy.default)["Message-ID"] for _, b in days for m in b
    }
    folder = tmp_path / "outbox"
    cfg = dataclasses.replace(CONFIG, state=dataclasses.replace(CONFIG.state, db=str(tmp_path / "cw.db")))
    memory: list[int] = []
    with Store(tmp_path / "cw.db") as store, FileTransport(folder) as transport:
        ingester = Ingester(store, cfg)
        try:
            for i, (day, batch) in enumerate(days):
                raws = [RawMessage(m, f"soak:{day}:{k}") for k, m in enumerate(batch)]
                read = sum(c.read for c in ingester.apply_all(batches(raws)))
                assert read == len(raws)
                if day.weekday() < 5:  # the daemon's cycle at the end of each working day
                    at = datetime(day.year, day.month, day.day, 18, 0, tzinfo=TZ)
                    run_cycle(store, cfg, at, transport)
                if i % 50 == 49:
                    gc.collect()
                    memory.append(resident_bytes())
        finally:
            ingester.close()
        parallel = ingester.parallel_batches if ingester.workers > 1 else 1_000  # (one core: in place)
        stored = store.message_count()
        quarantined = store.health()["quarantined"]
        outbox = store.outbox()
        keys = [r[0] for r in store.conn.execute("SELECT key FROM sent")]

    assert sum(len(b) for _, b in days) == MESSAGES
    assert parallel > 100  # most days are parsed by the workers, as a backfill's batches are
    assert stored == len(unique)  # every distinct message stored once: 0 lost
    assert quarantined == 0
    assert len(keys) == len(set(keys))
    ids = Counter(r["message_id"] for r in outbox)
    assert max(ids.values()) == 1  # 0 doubled
    assert {r["status"] for r in outbox} <= {"sent", "queued"}
    files = list(folder.glob("*.eml"))
    assert len(files) == sum(1 for r in outbox if r["status"] == "sent")
    # Memory: resident size at the end is within 10 % (plus 8 MB of slack) of the second reading.
    assert len(memory) >= 4
    assert memory[-1] <= memory[1] * 1.10 + 8_000_000, [m // 1_000_000 for m in memory]
