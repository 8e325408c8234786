"""A state database of N open cases, for measuring the commands at scale (and for the bench).

``build(path, n_cases, seed=7, now=NOW) -> Path`` writes a fresh state database at ``path`` with
``n_cases`` open cases of ~20 events each (vendor and member comments, status changes, update
requests, list mentions; a reply command on one case in 50, a bounce of our mail to the owner on one
in 200), links between about one case in 20 pairs, and each case's cached projection, as
``casewatch`` itself would have stored them. It returns ``path``. ``config(db, path)`` writes a
config file next to it: the example config (its institutions, program managers and areas) pointing
at ``db``. The same ``seed`` gives the same store.

Usage: python scripts/scalestore.py N DIR  (writes DIR/casewatch.db and DIR/config.toml)
"""

from __future__ import annotations

import random
import re
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from daemon.model import Event, EventKind, Link
from daemon.store import Store

ROOT = Path(__file__).resolve().parent.parent
NOW = datetime(2026, 11, 20, 18, 0, tzinfo=UTC)
#: Institutions of the example config, with one of their mail domains.
INSTITUTIONS = [
    ("WWU", "wwu.edu"),
    ("UW", "uw.edu"),
    ("WSU", "wsu.edu"),
    ("OSU", "oregonstate.edu"),
]
CATEGORIES = ["Fulfillment", "Acquisitions", "Analytics", "Resource Management", "Discovery"]
STEPS: list[tuple[EventKind, str, dict[str, Any]]] = [
    ("vendor_comment", "vendor", {}),
    ("member_comment", "member", {}),
    ("status_changed", "vendor", {"status": "In Progress", "state": "open"}),
    ("update_requested", "member", {}),
    ("list_mention", "list", {}),
    ("escalation_acknowledged", "vendor", {}),
]


def timeline(number: str, rng: random.Random, now: datetime = NOW, n_events: int = 20) -> list[Event]:
    """One open case's events, in time order, over the last 5 to 120 days before ``now``."""
    code, domain = rng.choice(INSTITUTIONS)
    at = now - timedelta(days=rng.uniform(5, 120))
    owner = f"staff{rng.randint(1, 99)}@{domain}"
    opened = {
        "state": "open",
        "priority": rng.choice(["system_down", "high", "normal", "normal", "low"]),
        "owner": owner,
        "institution": code,
        "asset": "Alma",
        "category": rng.choice(CATEGORIES),
        "subcategory": "Letters",
        "title": f"Problem {number}",
        "description": "It fails. Impact: 40 patrons. Steps: 1. open 2. save.",
    }
    events = [Event(number, at, "case_opened", "vendor", f"<{number}.0@x>", "opened", opened)]
    step = (now - at) / (n_events + 1)
    for i in range(1, n_events):
        at += step * rng.uniform(0.5, 1.0)
        kind, actor, data = rng.choice(STEPS)
        events.append(Event(number, at, kind, actor, f"<{number}.{i}@x>", kind, dict(data)))
    if rng.random() < 0.005:  # our mail to the owner bounced (what owner_unreachable reads)
        at += step * 0.5
        failed = {
            "delivery": "failed",
            "recipient": owner,
            "dsn_status": "5.1.1",
            "permanent": True,
            "original": f"<cw.{number}@x>",
        }
        events.append(Event(number, at, "reminder_sent", "system", None, f"delivery failed: {owner}", failed))
    if rng.random() < 0.02:  # a PM's reply command
        at += step * 0.5
        data = rng.choice(
            [
                {"command": "snooze", "until": (now + timedelta(days=3)).isoformat()},
                {"command": "mute"},
                {"command": "agenda"},
            ]
        )
        events.append(Event(number, at, "command", "pm", None, f"command: {data['command']}", data))
    return events


def build(path: str | Path, n_cases: int, seed: int = 7, now: datetime = NOW) -> Path:
    """Write a fresh state database of ``n_cases`` open cases at ``path`` (replaced if there)."""
    target = Path(path)
    target.unlink(missing_ok=True)
    rng = random.Random(seed)
    numbers = [f"{10800000 + i:08d}" for i in range(n_cases)]
    with Store(target) as store, store.transaction():
        for number in numbers:
            store.add_events(timeline(number, rng, now), None)
        pairs = {
            Link.of(rng.choice(numbers), rng.choice(numbers), "cited together")
            for _ in range(max(1, n_cases // 20))
        }
        store.add_links(pairs, None, now - timedelta(days=3))
        for number in numbers:
            store.refresh_case(number, now)
    return target


def config(db: str | Path, path: str | Path) -> Path:
    """Write a config file at ``path``: the example config with its database at ``db``."""
    text = (ROOT / "config.example.toml").read_text()
    text = re.sub(r'(?m)^db = ".*"$', f'db = "{Path(db).resolve()}"', text, count=1)
    target = Path(path)
    target.write_text(text)
    return target


def main(argv: list[str]) -> None:
    n, folder = int(argv[0]), Path(argv[1])
    folder.mkdir(parents=True, exist_ok=True)
    db = build(folder / "casewatch.db", n)
    print(config(db, folder / "config.toml"))


if __name__ == "__main__":
    main(sys.argv[1:])
