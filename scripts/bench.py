"""``make bench``: figures, not asserts. Prints how fast the pure parts run on this machine.

- decide: the policy engine over N open cases of ~20 events each (N = 2,500, 5,000, 10,000),
  to show it grows linearly with the number of open cases;
- snapshot: reading those cases back from SQLite (the store's side of ``casewatch due``);
- digest: a PM's weekly digest over those cases, computed and rendered.

Usage: python scripts/bench.py [--cases 10000]
"""

from __future__ import annotations

import argparse
import gc
import random
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from daemon.config import parse
from daemon.model import Event, Link
from daemon.policy import CaseFile, Snapshot, decide
from daemon.store import Store
from daemon.timeline import project

NOW = datetime(2026, 11, 20, 18, 0, tzinfo=UTC)
INSTITUTIONS = ["WWU", "UW", "WSU", "OSU", "UO", "REED", "WHIT", "LC", "PSU", "GU"]
CONFIG = parse(
    {
        "program_managers": [
            {"name": "Maria Lopez", "email": "mlopez@orbiscascade.org", "areas": ["fulfillment"]},
            {"name": "Sam Reyes", "email": "sreyes@orbiscascade.org", "areas": ["systems"]},
        ]
    }
)


def timeline(number: str, rng: random.Random, n_events: int = 20) -> list[Event]:
    """A plausible open case: opened, then comments both ways, status changes, a list mention."""
    inst = rng.choice(INSTITUTIONS)
    at = NOW - timedelta(days=rng.uniform(5, 120))
    events = [
        Event(
            number,
            at,
            "case_opened",
            "vendor",
            f"<{number}.0@x>",
            "opened",
            {
                "state": "open",
                "priority": rng.choice(["system_down", "high", "normal", "normal", "low"]),
                "owner": f"staff{rng.randint(1, 99)}@{inst.lower()}.edu",
                "institution": inst,
                "asset": "Alma",
                "category": rng.choice(["Fulfillment", "Acquisitions", "Analytics"]),
                "subcategory": "Letters",
                "title": f"Problem {number}",
                "description": "It fails. Impact: 40 patrons. Steps: 1. open 2. save.",
            },
        )
    ]
    step = (NOW - at) / (n_events + 1)
    for i in range(1, n_events):
        at += step * rng.uniform(0.5, 1.0)
        kind, actor, data = rng.choice(
            [
                ("vendor_comment", "vendor", {}),
                ("member_comment", "member", {}),
                ("status_changed", "vendor", {"status": "In Progress", "state": "open"}),
                ("update_requested", "member", {}),
                ("list_mention", "list", {}),
                ("escalation_acknowledged", "vendor", {}),
            ]
        )
        events.append(Event(number, at, kind, actor, f"<{number}.{i}@x>", kind, data))
    return events


def files(n: int, seed: int = 7) -> tuple[Snapshot, int]:
    rng = random.Random(seed)
    numbers = [f"{10800000 + i:08d}" for i in range(n)]
    case_files = []
    for num in numbers:
        events = tuple(timeline(num, rng))
        # The store hands over each case's cached projection with its events.
        case_files.append(CaseFile(num, events, (), project(num, events)))
    links = tuple(
        Link.of(rng.choice(numbers), rng.choice(numbers), "cited together", NOW - timedelta(days=3))
        for _ in range(n // 20)
    )
    return Snapshot(tuple(case_files), links), sum(len(f.events) for f in case_files)


def best_of(fn, repeat: int = 3) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def bench_decide(sizes: list[int]) -> None:
    print("decide (pure policy engine), best of 3:")
    print(f"  {'open cases':>10} {'events':>8} {'seconds':>8} {'us/case':>8} {'actions':>8}")
    for n in sizes:
        snap, n_events = files(n)
        # As `casewatch due` does: the loaded snapshot is frozen out of the garbage collector's
        # scans, which otherwise walk its 200,000 events again and again.
        gc.collect()
        gc.freeze()
        actions = decide(snap, NOW, CONFIG)
        secs = best_of(lambda snap=snap: decide(snap, NOW, CONFIG))
        gc.unfreeze()
        print(f"  {n:>10,} {n_events:>8,} {secs:>8.3f} {secs / n * 1e6:>8.1f} {len(actions):>8,}")


def bench_snapshot(n: int) -> None:
    snap, n_events = files(n)
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(Path(tmp) / "bench.db")
        with store.transaction():
            for f in snap.files:
                store.add_events(f.events, None)
                store.refresh_case(f.number)
            for link in snap.links:
                store.add_links([link], None, link.at or NOW)
        secs = best_of(lambda: store.snapshot(NOW))
        store.close()
    print(f"snapshot (SQLite -> case files), {n:,} cases / {n_events:,} events: {secs:.3f} s")


def bench_digest(n: int) -> None:
    """A PM's weekly digest over n open cases: the data and its rendering (text and HTML)."""
    from daemon.digest import digest
    from daemon.model import Action
    from daemon.outbound.context import build
    from daemon.outbound.render import render
    from daemon.policy import candidates

    snap, _ = files(n)
    gc.collect()
    gc.freeze()
    pm = CONFIG.program_managers[0]
    action = Action(
        "digest", None, (pm.email,), NOW, "bench", "digest:bench", data={"period_end": NOW.isoformat()}
    )

    def run() -> None:
        ctxs, actions = candidates(snap, NOW, CONFIG)
        data = digest(pm, ctxs, actions, NOW, CONFIG)
        render([build(action, None, [], NOW, "casewatch+bench@orbiscascade.org", CONFIG, data)])

    secs = best_of(run)
    gc.unfreeze()
    print(f"digest (decide + digest data + render), {n:,} open cases: {secs:.3f} s")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--cases", type=int, default=10_000, help="the largest number of open cases")
    args = p.parse_args()
    sizes = sorted({max(1, args.cases // 4), max(1, args.cases // 2), args.cases})
    bench_decide(sizes)
    bench_snapshot(args.cases)
    bench_digest(args.cases)


if __name__ == "__main__":
    main()
