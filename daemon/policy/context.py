"""What every rule gets and shares: one case's ``Context``, the idempotency ``key``, and the
wording the reasons are written in (pure)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache

from daemon.config import Config
from daemon.model import Basis, Case, Event, MessageKind
from daemon.policy.calendar import BusinessCalendar
from daemon.policy.clocks import Clocks
from daemon.policy.routing import Route
from daemon.timeparts import Duration


def iso(at: datetime) -> str:
    return at.isoformat()


def key(kind: MessageKind, case: str | None, since: date | int, *extra: object) -> str:
    """An action's idempotency key, ``kind:case:since[:extra...]``: what it is about (a case, an
    owner, a PM; None for an action about nobody in particular, left out) and the period it
    belongs to (an instant in ISO form with its offset, a date as ``YYYY-MM-DD``, or a count such
    as a cluster's size). Keys are stored in the state database: never change what this returns."""
    period = since.isoformat() if isinstance(since, date) else f"{since}"
    parts = [kind, *([] if case is None else [case]), period, *(f"{x}" for x in extra)]
    return ":".join(parts)


@dataclass(frozen=True, slots=True)
class Context:
    """What every rule about one case gets."""

    case: Case
    events: tuple[Event, ...]
    clocks: Clocks
    route: Route
    now: datetime
    config: Config
    calendar: BusinessCalendar
    # The owner's institution's calendar when it has its own ([[institutions]]), else None.
    owner_calendar: BusinessCalendar | None = None

    @property
    def owners(self) -> BusinessCalendar:
        """The calendar an owner's reminders count business days on."""
        return self.owner_calendar or self.calendar

    @property
    def number(self) -> str:
        return self.case.number

    @property
    def priority(self) -> str:
        return self.case.priority or "normal"

    @property
    def around_the_clock(self) -> bool:
        return self.priority in self.config.calendar.around_the_clock

    def when(self, at: datetime) -> str:
        return when(at, self.calendar)

    def after(self, start: datetime, d: Duration, owner: bool = False) -> tuple[datetime, Duration]:
        """``d`` after ``start``; ``owner``: on the owner's institution's calendar."""
        return (self.owners if owner else self.calendar).add(start, d, self.around_the_clock), d

    def basis(self, clock: str, since: datetime, what: str, threshold: Duration) -> Basis:
        return Basis(clock, since, what, str(threshold), threshold.business, self.around_the_clock)

    def title(self) -> str:
        return f' ("{self.case.title}")' if self.case.title else ""


#: ``%a`` of the C locale (casewatch never sets another), for ``when``.
_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def when(at: datetime, calendar: BusinessCalendar) -> str:
    """``at`` in the calendar's zone as ``strftime("%a %Y-%m-%d %H:%M %Z")`` writes it (formatted
    without ``strftime``, which takes twice the time, for the reasons of every action)."""
    t = at.astimezone(calendar.tz)
    return "%s %d-%02d-%02d %02d:%02d %s" % (  # noqa: UP031 (faster than an f-string here)
        _WEEKDAYS[t.weekday()],
        t.year,
        t.month,
        t.day,
        t.hour,
        t.minute,
        t.tzname() or "",
    )


#: A member's or PM's events that write in a case (a comment, an update or escalation request,
#: in-case feedback).
MEMBER_WORDS = frozenset({"member_comment", "update_requested", "escalation_requested", "in_case_feedback"})


@lru_cache(maxsize=64)
def pattern(patterns: tuple[str, ...]) -> re.Pattern[str]:
    """One regular expression matching any of ``patterns`` (each kept as its own group)."""
    return re.compile("|".join(f"(?:{p})" for p in patterns) or "(?!)", re.IGNORECASE | re.MULTILINE)


def priority_words(ctx: Context) -> str:
    if ctx.case.priority:
        return f"{ctx.priority.replace('_', '-')} priority"
    return "priority unknown, taken as normal"


def joined(*parts: str) -> str:
    """The non-empty ``parts``, one after another."""
    return " ".join(p for p in parts if p)


def listed(items: Sequence[str]) -> str:
    """``a, b and c``."""
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def sentence(text: str) -> str:
    """``text`` as a sentence (capitalized, a full stop); empty stays empty."""
    return text[:1].upper() + text[1:] + "." if text else ""
