"""Builders for policy tests: timelines written as short lines, local wall-clock times."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from daemon.config import Config, parse
from daemon.model import Action, Event, Link
from daemon.policy.engine import CaseFile, Snapshot, decide

TZ = ZoneInfo("America/Los_Angeles")
CASE = "10700001"

#: A description with every checklist item the default config requires.
GOOD_DESCRIPTION = (
    "Since the upgrade no hold shelf letters are sent. Steps: 1. place a hold 2. scan the item in. "
    "Impact: about 300 patrons a week are not told their items are waiting. "
    "We tried re-running the job; no change."
)

RAW_CONFIG: dict[str, Any] = {
    "program_managers": [
        {"name": "Maria Lopez", "email": "mlopez@orbiscascade.org", "areas": ["fulfillment"]},
        {"name": "Sam Reyes", "email": "sreyes@orbiscascade.org", "areas": ["systems"]},
    ],
    "support_call": {"coordinator": "coordinator@orbiscascade.org"},
}
CONFIG = parse(RAW_CONFIG)


def t(local: str) -> datetime:
    """``"2026-10-05 10:00"``: wall-clock time in America/Los_Angeles (DST applied)."""
    return datetime.fromisoformat(local).replace(tzinfo=TZ)


def ev(kind: str, at: str, actor: str = "vendor", case: str = CASE, **data: Any) -> Event:
    return Event(case, t(at), kind, actor, None, kind, data)


def opened(
    at: str,
    priority: str = "normal",
    case: str = CASE,
    owner: str | None = "jdoe@wwu.edu",
    institution: str | None = "WWU",
    description: str | None = GOOD_DESCRIPTION,
    **extra: Any,
) -> Event:
    fields: dict[str, Any] = {
        "state": "open",
        "priority": priority,
        "asset": "Alma",
        "category": "Fulfillment",
        "subcategory": "Letters",
        "title": "Hold shelf letters not sent",
        **extra,
    }
    for name, value in (("owner", owner), ("institution", institution), ("description", description)):
        if value is not None:
            fields[name] = value
    return ev("case_opened", at, case=case, **{k: v for k, v in fields.items() if v is not None})


def snapshot(
    events: Iterable[Event],
    links: Iterable[Link] = (),
    sent: Iterable[str] = (),
    summarized: Iterable[str] = (),
) -> Snapshot:
    """``summarized``: keys a backlog message used up (they are in ``sent`` too)."""
    by_case: dict[str, list[Event]] = {}
    for e in sorted(events, key=lambda e: e.at):
        by_case.setdefault(e.case, []).append(e)
    files = tuple(CaseFile(n, tuple(evs)) for n, evs in sorted(by_case.items()))
    return Snapshot(files, tuple(links), frozenset(sent) | frozenset(summarized), frozenset(summarized))


def due(
    events: Iterable[Event],
    at: str,
    config: Config = CONFIG,
    links: Iterable[Link] = (),
    sent: Iterable[str] = (),
    kinds: Iterable[str] | None = None,
    summarized: Iterable[str] = (),
) -> list[Action]:
    """The actions due at local time ``at`` (only the given kinds, when given)."""
    actions = decide(snapshot(events, links, sent, summarized), t(at), config)
    wanted = set(kinds) if kinds is not None else None
    return [a for a in actions if wanted is None or a.kind in wanted]


def kinds(actions: Iterable[Action]) -> list[str]:
    return sorted(a.kind for a in actions)
