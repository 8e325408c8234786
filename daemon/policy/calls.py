"""The monthly support call (first Wednesday by default) and the weekly digest slot (pure)."""

from __future__ import annotations

import calendar as calendar_lib
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from daemon.config import Config
from daemon.policy.calendar import WEEKDAYS, BusinessCalendar, wall_time


def call_day(year: int, month: int, config: Config) -> date:
    """The day of the support call in a month."""
    call = config.support_call
    weekday = WEEKDAYS.index(call.weekday.lower())
    days = [
        d
        for d in calendar_lib.Calendar().itermonthdates(year, month)
        if d.month == month and d.weekday() == weekday
    ]
    day = days[-1] if call.week == -1 else days[call.week - 1]
    if call.move_off_holidays:
        # A call on a holiday or closure moves to the next working day of its weekday.
        calendar = BusinessCalendar.of(config)
        for _ in range(52):
            if not calendar.holiday(day):
                break
            day += timedelta(days=7)
    return day


def call_at(year: int, month: int, config: Config) -> datetime:
    return wall_time(
        call_day(year, month, config),
        config.support_call.time,
        ZoneInfo(config.consortium.timezone),
    )


def calls_around(now: datetime, config: Config) -> tuple[datetime, datetime]:
    """The latest call that has started by ``now`` and the next one after it."""
    local = now.astimezone(ZoneInfo(config.consortium.timezone))
    months = []
    y, m = local.year, local.month
    for delta in (-1, 0, 1, 2):
        mm = m + delta
        yy = y + (mm - 1) // 12
        months.append(call_at(yy, (mm - 1) % 12 + 1, config))
    previous = max(c for c in months if c <= now)
    following = min(c for c in months if c > now)
    return previous, following


def digest_slot(now: datetime, config: Config) -> datetime:
    """The latest weekly digest time (e.g. Monday 08:00 local) at or before ``now``; when that
    day is a holiday, the next working day's opening instead."""
    calendar = BusinessCalendar.of(config)
    tz = calendar.tz
    rule = config.actions.digest
    weekday = WEEKDAYS.index(rule.weekday.lower())
    clock = rule.time

    def slot_of(day: date) -> datetime:
        if calendar.holiday(day):
            return wall_time(calendar.next_business_day(day), calendar.day_start, tz)
        return wall_time(day, clock, tz)

    local = now.astimezone(tz)
    day = local.date() - timedelta(days=(local.weekday() - weekday) % 7)
    slot = slot_of(day)
    if slot > now:
        slot = slot_of(day - timedelta(days=7))
    return slot
