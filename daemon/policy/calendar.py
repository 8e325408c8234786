"""Business time: working days and hours in the consortium's zone, minus holidays.

Pure arithmetic over aware datetimes. Working hours are wall-clock times in the
consortium's zone, so a business day after 10:00 PDT on the Friday before the
November DST change is 10:00 PST on Monday; hours on the 24x7 clock are real
elapsed hours; calendar days keep the wall-clock time.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from functools import lru_cache
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

# The parts the calendar is written in live in a leaf module (the config validates with them);
# they stay importable from here for the calendar's callers.
from daemon.timeparts import (
    UNITS,
    WEEKDAYS,
    Duration,
    check_holidays,
    holiday_dates,
    parse_clock,
    parse_duration,
    weekday_numbers,
)

if TYPE_CHECKING:
    from daemon.config import Config

__all__ = [
    "UNITS",
    "WEEKDAYS",
    "BusinessCalendar",
    "Duration",
    "between",
    "check_holidays",
    "later",
    "parse_clock",
    "parse_duration",
    "wall_time",
    "weekday_numbers",
]


_DAY = timedelta(days=1)
_ZERO = timedelta(0)


@dataclass(frozen=True)
class BusinessCalendar:
    """When people work: which weekdays, which hours, which days are closed."""

    tz: ZoneInfo
    workdays: frozenset[int] = frozenset(range(5))  # 0 = Monday
    day_start: time = time(8, 0)
    day_end: time = time(17, 0)
    country: str = "US"
    subdivision: str = ""
    closures: frozenset[date] = frozenset()
    # Each day asked about: its opening and closing instants and their real time apart, None
    # when it is no business day (``_hours``; the arithmetic asks for the same days again and again).
    _days: dict[date, tuple[datetime, datetime, timedelta] | None] = field(
        default_factory=dict, init=False, repr=False, compare=False, hash=False
    )

    # ------------------------------------------------------------ days

    def holiday(self, day: date) -> bool:
        return day in self.closures or day in holiday_dates(self.country, self.subdivision, day.year)

    def is_business_day(self, day: date) -> bool:
        return day.weekday() in self.workdays and not self.holiday(day)

    def next_business_day(self, day: date) -> date:
        """The first business day on or after ``day``."""
        for _ in range(400):
            if self.is_business_day(day):
                return day
            day += timedelta(days=1)
        raise ValueError("no business day within a year: check [calendar] workdays and closures")

    @classmethod
    def of(cls, config: Config) -> BusinessCalendar:
        cal = config.calendar
        return cls(
            tz=ZoneInfo(config.consortium.timezone),
            workdays=weekday_numbers(cal.workdays),
            day_start=cal.day_starts,
            day_end=cal.day_ends,
            country=cal.holidays_country,
            subdivision=cal.holidays_subdivision,
            closures=frozenset(date.fromisoformat(d) for d in cal.closures),
        )

    @classmethod
    def of_institution(cls, config: Config, code: str | None) -> BusinessCalendar:
        """The calendar of an institution's staff: the consortium's, with the institution's own
        holidays subdivision and closures where ``[[institutions]]`` configures them."""
        base = cls.of(config)
        inst = next((i for i in config.institutions if code and i.code == code), None)
        if inst is None or not (inst.holidays_subdivision or inst.closures):
            return base
        return replace(
            base,
            subdivision=inst.holidays_subdivision or base.subdivision,
            closures=frozenset(date.fromisoformat(d) for d in inst.closures)
            if inst.closures
            else base.closures,
        )

    @property
    def day_length(self) -> timedelta:
        return wall_time(date(2000, 1, 3), self.day_end, UTC) - wall_time(
            date(2000, 1, 3), self.day_start, UTC
        )

    # ------------------------------------------------------------ arithmetic

    def add(self, start: datetime, duration: Duration, around_the_clock: bool = False) -> datetime:
        """The instant ``duration`` after ``start``.

        Business units count working time only, unless ``around_the_clock`` (the
        24x7 clock of system-down cases), where a business day is 24 hours.
        """
        unit = duration.unit
        if unit == "minutes":
            return later(start, timedelta(minutes=duration.amount))
        if unit == "hours" or (around_the_clock and unit == "business hours"):
            return later(start, timedelta(hours=duration.amount))
        if around_the_clock and unit == "business days":
            return later(start, timedelta(days=duration.amount))
        if unit in ("days", "weeks"):
            days = duration.amount * (7 if unit == "weeks" else 1)
            return self.add_calendar_days(start, days)
        work = (
            self.day_length * duration.amount if unit == "business days" else timedelta(hours=duration.amount)
        )
        return self.add_working_time(start, work)

    def subtract(self, end: datetime, duration: Duration) -> datetime:
        """The instant ``duration`` before ``end`` (business days step back whole business days)."""
        unit = duration.unit
        if unit in ("minutes", "hours"):
            return later(end, -timedelta(**{unit: duration.amount}))
        if unit in ("days", "weeks"):
            return self.add_calendar_days(end, -duration.amount * (7 if unit == "weeks" else 1))
        if unit == "business hours":
            return later(end, -timedelta(hours=duration.amount))
        local = end.astimezone(self.tz)
        day, left = local.date(), int(duration.amount)
        while left > 0:
            day -= timedelta(days=1)
            if self.is_business_day(day):
                left -= 1
        return wall_time(day, local.time(), self.tz).astimezone(end.tzinfo)

    def add_calendar_days(self, start: datetime, days: float) -> datetime:
        """Same wall-clock time ``days`` later (fractions as real hours)."""
        whole = int(days)
        local = start.astimezone(self.tz)
        moved = wall_time(local.date() + timedelta(days=whole), local.time(), self.tz)
        return later(moved, timedelta(days=days - whole)).astimezone(start.tzinfo)

    def add_working_time(self, start: datetime, work: timedelta) -> datetime:
        """The instant when ``work`` of working time has passed since ``start``."""
        local = start.astimezone(self.tz)
        day = local.date()
        # Where counting starts: inside today's hours, or the next opening.
        hours = self._hours(day)
        if hours is not None and local < hours[1]:
            cursor, close = max(local, hours[0]), hours[1]
            left_today = between(cursor, close)
        else:
            day, (cursor, close, left_today) = self._next_hours(day + _DAY)
        if work <= _ZERO:
            return cursor.astimezone(start.tzinfo)
        while True:
            # Work that ends exactly at closing time falls due at the next opening: the
            # same business instant, at an hour people read their mail.
            if work < left_today:
                return later(cursor, work).astimezone(start.tzinfo)
            work -= left_today
            day, (cursor, close, left_today) = self._next_hours(day + _DAY)

    def _hours(self, day: date) -> tuple[datetime, datetime, timedelta] | None:
        """The day's opening, closing and the real time between them; None if no business day."""
        try:
            return self._days[day]
        except KeyError:
            hours = None
            if self.is_business_day(day):
                opening, closing = self._open(day), self._close(day)
                hours = (opening, closing, between(opening, closing))
            self._days[day] = hours
            return hours

    def _next_hours(self, day: date) -> tuple[date, tuple[datetime, datetime, timedelta]]:
        """The first business day on or after ``day`` (as ``next_business_day``) and its hours."""
        for _ in range(400):
            hours = self._hours(day)
            if hours is not None:
                return day, hours
            day += _DAY
        raise ValueError("no business day within a year: check [calendar] workdays and closures")

    def working_time(self, start: datetime, end: datetime) -> timedelta:
        """Working time between two instants (zero when ``end`` is not after ``start``)."""
        if end <= start:
            return timedelta(0)
        a, b = start.astimezone(self.tz), end.astimezone(self.tz)
        total = timedelta(0)
        day, last = a.date(), b.date()
        while day <= last:
            hours = self._hours(day)  # each day's opening, closing and real time between, once
            if hours is not None:
                opening, closing, length = hours
                lo = max(a, opening)
                hi = min(b, closing)
                if hi > lo:  # a whole day: its length, counted once (``_hours``)
                    total += length if lo is opening and hi is closing else between(lo, hi)
            day += _DAY
        return total

    def elapsed(self, start: datetime, end: datetime, business: bool, around_the_clock: bool) -> timedelta:
        """Time between two instants on the clock a threshold is measured with."""
        if business and not around_the_clock:
            return self.working_time(start, end)
        return max(between(start, end), timedelta(0))

    def describe_elapsed(self, elapsed: timedelta, business: bool, around_the_clock: bool) -> str:
        """``"3 business days 2 h 10 min"`` for working time, ``"4 days 1 h"`` otherwise."""
        day = self.day_length if business and not around_the_clock else timedelta(days=1)
        word = "business day" if business and not around_the_clock else "day"
        days, rest = divmod(elapsed, day)
        hours, rest = divmod(rest, timedelta(hours=1))
        minutes = rest // timedelta(minutes=1)
        parts = []
        if days:
            parts.append(f"{days} {word}{'s' if days != 1 else ''}")
        if hours:
            parts.append(f"{hours} h")
        if minutes or not parts:
            parts.append(f"{minutes} min")
        return " ".join(parts)

    def _open(self, day: date) -> datetime:
        return wall_time(day, self.day_start, self.tz)

    def _close(self, day: date) -> datetime:
        return wall_time(day, self.day_end, self.tz)


def later(at: datetime, delta: timedelta) -> datetime:
    """``at`` plus real elapsed time (Python adds on the wall clock within one zone)."""
    return (at.astimezone(UTC) + delta).astimezone(at.tzinfo)


def between(start: datetime, end: datetime) -> timedelta:
    """Real elapsed time from ``start`` to ``end`` (Python subtracts wall clocks within one zone)."""
    return end.astimezone(UTC) - start.astimezone(UTC)


@lru_cache(maxsize=4096)
def wall_time(day: date, clock: time, tz: tzinfo) -> datetime:
    """The instant of a wall-clock time on a day (a time skipped by DST moves forward)."""
    aware = datetime.combine(day, clock, tzinfo=tz)
    # A wall time that does not exist (spring forward) round-trips to a later one.
    return aware.astimezone(UTC).astimezone(tz)
