"""The parts business time is written in: durations, clock times, weekdays and holiday tables.

A leaf: it imports nothing of casewatch, so the config's validation and the policy's
calendar can both read these values without importing each other.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, time
from functools import lru_cache

import holidays as holidays_lib

UNITS = {
    "minute": "minutes",
    "minutes": "minutes",
    "min": "minutes",
    "hour": "hours",
    "hours": "hours",
    "h": "hours",
    "day": "days",
    "days": "days",
    "d": "days",
    "week": "weeks",
    "weeks": "weeks",
    "business hour": "business hours",
    "business hours": "business hours",
    "business day": "business days",
    "business days": "business days",
}
_DURATION = re.compile(r"^\s*(?P<n>-?\d+(?:\.\d+)?)\s*(?P<unit>[a-z ]+?)\s*$", re.IGNORECASE)
_SECONDS = re.compile(r"^\s*(?P<n>\d+(?:\.\d+)?)\s*(?:s|secs?|seconds?)\s*$", re.IGNORECASE)
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


@dataclass(frozen=True)
class Duration:
    """An amount of time on some clock: calendar minutes/hours/days/weeks or business hours/days.

    Frozen and hashable; equal by amount and unit. ``str()`` is the normalized text ("4 hours");
    ``as_written`` the text it was read from, where the config's own words are shown.
    """

    amount: float
    unit: str  # one of the values of UNITS
    written: str = field(default="", compare=False, repr=False)  # the text read ("" if built)

    @property
    def as_written(self) -> str:
        """The text this duration was read from (``"4h"``), else ``str()`` of it."""
        return self.written or str(self)

    @property
    def business(self) -> bool:
        return self.unit.startswith("business")

    def __str__(self) -> str:
        n = int(self.amount) if self.amount == int(self.amount) else self.amount
        unit = self.unit if n != 1 else self.unit[:-1]
        return f"{n} {unit}"


@dataclass(frozen=True)
class _Seconds(Duration):
    """Seconds, counted as a fraction of a minute (the calendar's finest unit), shown as seconds."""

    def __str__(self) -> str:
        n = round(self.amount * 60, 3)
        shown = int(n) if n == int(n) else n
        return f"{shown} second{'' if shown == 1 else 's'}"


def parse_duration(text: str) -> Duration:
    """``"2 business days"``, ``"4 hours"``, ``"30 days"`` ... ; ValueError when unreadable."""
    m = _DURATION.match(text)
    unit = UNITS.get(" ".join(m.group("unit").lower().split())) if m else None
    if not m or unit is None:
        raise ValueError(f'not a duration: {text!r} (write e.g. "4 hours", "2 business days", "30 days")')
    amount = float(m.group("n"))
    if amount < 0:
        raise ValueError(f"a duration cannot be negative: {text!r}")
    return Duration(amount, unit, text)


def duration(text: str) -> Duration:
    """A duration of the config (``parse_duration``), or of seconds: ``"30 seconds"``, ``"30 sec"``
    and ``"30s"`` are elapsed time, kept as a fraction of a minute; ValueError when unreadable."""
    m = _SECONDS.match(text)
    if m:
        return _Seconds(float(m.group("n")) / 60, "minutes", text)
    return parse_duration(text)


def parse_clock(text: str) -> time:
    """``"08:00"`` -> time(8, 0); ValueError when unreadable."""
    m = re.fullmatch(r"\s*(\d{1,2}):(\d{2})\s*", text)
    if not m or int(m.group(1)) > 23 or int(m.group(2)) > 59:
        raise ValueError(f'not a time of day: {text!r} (write e.g. "08:00")')
    return time(int(m.group(1)), int(m.group(2)))


def weekday_numbers(names: Iterable[str]) -> frozenset[int]:
    """Weekday names (any case) as numbers, 0 = Monday; ValueError for a name not in WEEKDAYS."""
    return frozenset(WEEKDAYS.index(n.lower()) for n in names)


@lru_cache(maxsize=64)
def holiday_dates(country: str, subdivision: str, year: int) -> frozenset[date]:
    """The public holidays of a country (and subdivision) in a year; none when no country."""
    if not country:
        return frozenset()
    table = holidays_lib.country_holidays(country, subdiv=subdivision or None, years=year)
    return frozenset(table)


def check_holidays(country: str, subdivision: str) -> str | None:
    """Why the ``holidays`` package cannot give this country's holidays; None when it can."""
    if not country:
        return None
    try:
        holidays_lib.country_holidays(country, subdiv=subdivision or None, years=2026)
    except NotImplementedError as exc:
        return str(exc)
    return None
