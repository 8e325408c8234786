"""Planning a cycle's mail: which actions share a message, and when each may go (pure).

- Actions due in the same cycle for exactly the same people are folded into one message
  (``[sending] fold``); the weekly digest and the agenda always travel alone.
- Quiet hours: a message waits for the next working hour of the consortium's calendar, unless
  it is about a case on the 24x7 clock (system down) or ``[sending] quiet_hours`` is off.
- A recipient gets at most ``[sending] daily_cap`` messages a local day; the rest wait for the
  next day (never dropped).
- The vendor is never mailed: its addresses are removed; an action left with nobody to tell is
  planned as undeliverable, with the reason.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from daemon.config import Config
from daemon.model import Action
from daemon.outbound.compose import is_vendor
from daemon.policy.calendar import BusinessCalendar, wall_time

ALONE = frozenset({"digest", "agenda", "backlog"})


@dataclass(frozen=True)
class Planned:
    """One message to queue: its actions, recipients and earliest sending time."""

    actions: tuple[Action, ...]
    to: tuple[str, ...]
    cc: tuple[str, ...]
    send_after: datetime
    deadline: datetime
    problem: str = ""  # why it cannot be sent (no recipient), else ""

    @property
    def recipients(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys((*self.to, *self.cc)))


def _clean(addresses: Sequence[str], config: Config) -> tuple[str, ...]:
    return tuple(dict.fromkeys(a for a in addresses if a and "@" in a and not is_vendor(a, config)))


def plan(
    actions: Sequence[Action],
    now: datetime,
    config: Config,
    already: Callable[[datetime, datetime], Mapping[str, int]] = lambda a, b: {},
) -> list[Planned]:
    """The messages for the actions due now; ``already(day_start, day_end)`` counts, by
    lower-cased recipient, the messages already sent or queued for that local day (daily cap)."""
    days: dict[datetime, Mapping[str, int]] = {}
    calendar = BusinessCalendar.of(config)
    deadline = calendar.add(now, config.sending.retry_for)
    groups: dict[tuple[object, ...], list[Action]] = {}
    for a in actions:
        to, cc = _clean(a.to, config), _clean(a.cc, config)
        cc = tuple(x for x in cc if x not in to)
        if a.kind in ALONE or not config.sending.fold or not to:
            key: tuple[object, ...] = ("alone", a.key)
        else:
            key = (frozenset(to), frozenset(cc), a.urgent)
        groups.setdefault(key, []).append(a)
    planned: list[Planned] = []
    counts: dict[tuple[str, str], int] = {}
    for group in groups.values():
        first = group[0]
        to = _clean(first.to, config)
        cc = tuple(x for x in _clean(first.cc, config) if x not in to)
        if not to:
            why = "no one to send it to: " + (
                "only vendor addresses" if first.to else "no recipient is known (see the reason)"
            )
            planned.append(Planned(tuple(group), (), cc, now, deadline, why))
            continue
        urgent = any(a.urgent for a in group)
        send_after = now
        if config.sending.quiet_hours and not urgent:
            send_after = calendar.add_working_time(now, timedelta(0))
        # The daily cap: move to the next day while any recipient is full on that day.
        for _ in range(60):
            local = send_after.astimezone(calendar.tz)
            start = wall_time(local.date(), time(0, 0), calendar.tz)
            end = wall_time(local.date() + timedelta(days=1), time(0, 0), calendar.tz)
            full = False
            for r in (*to, *cc):
                k = (r.lower(), local.date().isoformat())
                if k not in counts:
                    if start not in days:
                        days[start] = already(start, end)
                    counts[k] = days[start].get(r.lower(), 0)
                if counts[k] >= config.sending.daily_cap:
                    full = True
            if not full or urgent:
                break
            send_after = calendar.add_working_time(end, timedelta(0)) if config.sending.quiet_hours else end
        for r in (*to, *cc):
            k = (r.lower(), send_after.astimezone(calendar.tz).date().isoformat())
            counts[k] = counts.get(k, 0) + 1
        planned.append(
            Planned(tuple(group), to, cc, send_after, max(deadline, send_after + (deadline - now)))
        )
    return planned
