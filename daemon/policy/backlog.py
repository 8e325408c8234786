"""Stale actions: what fell due too long ago to be mailed on its own (pure).

An action due more than ``[sending] stale_after`` (7 days) before the cycle's instant is never
mailed by itself: on the first run over a mailbox with months of history, or after a long
outage, a reminder about a threshold crossed weeks ago helps nobody and floods people. Each PM
gets one ``backlog`` message per cycle listing such actions of their areas (case, kind, due
time, reason); the backlog message uses up the actions' keys, so they count as handled.
The digest has its own rule (a missed slot is skipped) and is never summarized.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from daemon.config import Config
from daemon.model import Action, evolve
from daemon.policy.calendar import BusinessCalendar
from daemon.policy.routing import pms_for
from daemon.policy.rules import iso, when

NEVER_STALE = frozenset({"digest", "backlog"})


def is_stale(action: Action, cutoff: datetime) -> bool:
    return action.kind not in NEVER_STALE and action.due_at < cutoff


def cutoff(now: datetime, config: Config) -> datetime:
    """Actions due before this instant are stale at ``now``."""
    return BusinessCalendar.of(config).subtract(now, config.sending.stale_after)


def listed(due: Sequence[Action], now: datetime, config: Config) -> list[Action]:
    """What ``casewatch due`` lists: ``due`` with its stale actions marked (``stale=True``), then
    each PM's ``backlog`` summary of them."""
    edge = cutoff(now, config)
    marked = [evolve(a, stale=True) if is_stale(a, edge) else a for a in due]
    return marked + backlog([a for a in marked if a.stale], now, config)


def summarize(due: Sequence[Action], now: datetime, config: Config) -> list[Action]:
    """What a cycle mails of ``due``: the fresh actions as they are, the stale ones as one
    ``backlog`` action per PM (the first PM of an action's area uses up its keys)."""
    edge = cutoff(now, config)
    return [a for a in due if not is_stale(a, edge)] + backlog(
        [a for a in due if is_stale(a, edge)], now, config
    )


def backlog(stale: Sequence[Action], now: datetime, config: Config) -> list[Action]:
    """One ``backlog`` action per PM for the stale actions of their areas (pure)."""
    if not stale:
        return []
    calendar = BusinessCalendar.of(config)
    by_pm: dict[str, list[Action]] = {}
    notes: dict[str, str] = {}
    for a in stale:
        pms, note = pms_for(a.area or config.areas.fallback, config)
        for pm in pms or ("",):  # "": nobody is configured to be told
            by_pm.setdefault(pm, []).append(a)
            if note:
                notes.setdefault(pm, note)
    claimed: set[str] = set()
    out = []
    for pm, actions in by_pm.items():
        marks = tuple(dict.fromkeys(m for a in actions for m in a.all_marks if m not in claimed))
        claimed.update(marks)
        oldest = min(a.due_at for a in actions)
        stale_after = config.sending.stale_after.as_written
        reason = (
            f"{len(actions)} action(s) fell due more than {stale_after} ago, the oldest "
            f"on {when(oldest, calendar)}. casewatch did not mail them one by one (it was not running, "
            "or this is its first run over an old mailbox): each is listed here once and counts as handled."
        )
        note = notes.get(pm, "")
        out.append(
            Action(
                "backlog",
                None,
                (pm,) if pm else (),
                now,
                f"{reason} {note}".strip(),
                f"backlog:{pm.lower()}:{iso(now)}",
                marks=marks,
                data={
                    "items": [
                        {
                            "kind": a.kind,
                            "case": a.case or ", ".join(a.cases),
                            "due_at": a.due_at.isoformat(),
                            "to": list(a.to),
                            "reason": a.reason,
                        }
                        for a in sorted(actions, key=lambda a: (a.due_at, a.kind, a.case or ""))
                    ]
                },
            )
        )
    return out
