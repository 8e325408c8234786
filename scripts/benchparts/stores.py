"""Generated stores of N cases, and the config the bench runs casewatch with.

``build(path, n_cases, seed)`` is ``scripts/scalestore.py``'s when that module exists; until
then a minimal generator of the same signature stands in (``PLACEHOLDER`` says which ran).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from daemon.model import Event, EventKind, Link
from daemon.store import Store

#: The instant every generated store is built up to and every tick and command runs at.
NOW = datetime(2026, 11, 20, 18, 0, tzinfo=UTC)
INSTITUTIONS = ["WWU", "UW", "WSU", "OSU", "UO", "REED", "WHIT", "LC", "PSU", "GU"]
PMS = (
    ("Maria Lopez", "mlopez@orbiscascade.org", "fulfillment"),
    ("Sam Reyes", "sreyes@orbiscascade.org", "systems"),
)


def _timeline(number: str, rng: random.Random, n_events: int) -> list[Event]:
    inst = rng.choice(INSTITUTIONS)
    at = NOW - timedelta(days=rng.uniform(5, 120))
    events = [
        Event(number, at, "case_opened", "vendor", f"<{number}.0@bench>", "opened",
              {"state": "open", "priority": rng.choice(["system_down", "high", "normal", "normal", "low"]),
               "owner": f"staff{rng.randint(1, 99)}@{inst.lower()}.edu", "institution": inst,
               "asset": "Alma", "category": rng.choice(["Fulfillment", "Acquisitions", "Analytics"]),
               "subcategory": "Letters", "title": f"Problem {number}",
               "description": "It fails. Impact: 40 patrons. Steps: 1. open 2. save."})
    ]  # fmt: skip
    step = (NOW - at) / (n_events + 1)
    for i in range(1, n_events):
        at += step * rng.uniform(0.5, 1.0)
        choices: list[tuple[EventKind, str, dict[str, str]]] = [
            ("vendor_comment", "vendor", {}),
            ("member_comment", "member", {}),
            ("status_changed", "vendor", {"status": "In Progress", "state": "open"}),
            ("update_requested", "member", {}),
            ("list_mention", "list", {}),
        ]
        kind, actor, data = rng.choice(choices)
        events.append(Event(number, at, kind, actor, f"<{number}.{i}@bench>", kind, data))
    return events


def placeholder_build(path: str | Path, n_cases: int, seed: int) -> None:
    """A state database of ``n_cases`` open cases of ~12 events each, and a few links."""
    rng = random.Random(seed)
    numbers = [f"{10800000 + i:08d}" for i in range(n_cases)]
    with Store(path) as store:
        for start in range(0, n_cases, 1000):
            with store.transaction():
                for number in numbers[start : start + 1000]:
                    store.add_events(_timeline(number, rng, rng.randint(6, 18)), None)
                    store.refresh_case(number, at=NOW)
        with store.transaction():
            store.add_links(
                (
                    Link.of(
                        rng.choice(numbers), rng.choice(numbers), "cited together", NOW - timedelta(days=3)
                    )
                    for _ in range(n_cases // 50)
                ),
                None,
                NOW - timedelta(days=3),
            )


def _which() -> tuple[Callable[[str | Path, int, int], None], bool]:
    try:
        from scalestore import build as real  # type: ignore[import-not-found, unused-ignore]
    except ImportError:
        return placeholder_build, True
    return real, False


build, PLACEHOLDER = _which()


def write_config(
    path: Path, db: Path, outbox: Path, *, port: int = 0, user: str = "", folder: str = "INBOX"
) -> Path:
    """A config file for the bench's casewatch: its database, a file transport, PMs with areas, and
    the bench's Dovecot as the mailbox when ``port`` is given."""
    lines = [
        "[consortium]",
        'timezone = "America/Los_Angeles"',
        "[state]",
        f'db = "{db}"',
        "[outbound]",
        'transport = "file"',
        f'folder = "{outbox}"',
    ]
    for name, email, area in PMS:
        lines += ["[[program_managers]]", f'name = "{name}"', f'email = "{email}"', f'areas = ["{area}"]']
    if port:
        lines += [
            "[mailbox]",
            'host = "127.0.0.1"',
            f"port = {port}",
            'security = "plain"',
            f'username = "{user}"',
            f'folders = ["{folder}"]',
            "timeout = 60.0",
        ]
    path.write_text("\n".join(lines) + "\n")
    return path
