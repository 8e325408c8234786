"""Vendor response times and their attainment of the thresholds, for the weekly digest (pure).

``Answers`` counts the vendor's answers of each case as the engine reads it (the digest keeps
no timeline). ``response(answers, areas)`` is the digest's ``response`` section: the business
hours the vendor took to answer something of ours, this week, the trailing 12 weeks and the
weekly medians as a trend. ``attainment(answers, areas, config)`` is its ``attainment``
section: the share of those answers within the ``request_update`` threshold of the case's
priority, overall, by area and by institution.
"""

from __future__ import annotations

import statistics
from bisect import bisect_left
from collections.abc import Collection, Sequence
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

from daemon.config import Config
from daemon.policy.calendar import BusinessCalendar, Duration, between
from daemon.policy.clocks import OURS, RESPONSES
from daemon.policy.rules import Context

WEEK = timedelta(days=7)
TRAILING_WEEKS = 12


def waits(ctx: Context) -> list[tuple[datetime, datetime]]:
    """(since when the vendor owed us, when it answered) for each answer to something of ours."""
    out = []
    waiting: datetime | None = None
    for e in ctx.events:
        if e.kind == "case_opened" or (e.kind in OURS and e.actor in ("member", "pm")):
            waiting = waiting or e.at
        elif e.actor == "vendor" and e.kind in RESPONSES and waiting is not None:
            out.append((waiting, e.at))
            waiting = None
    return out


def _priority_at(ctx: Context, at: datetime) -> str:
    """The case's priority at ``at`` (normal when none was known yet)."""
    found = "normal"
    for since, priority in ctx.clocks.priorities:
        if since <= at:
            found = priority
    return found


def _on_time(ctx: Context, since: datetime, answered: datetime, worked: timedelta | None = None) -> bool:
    """Whether the vendor answered within the ``request_update`` threshold of the case's priority
    then: the threshold counted as the ladder counts it (business time on the case's calendar,
    or the 24x7 clock for the around-the-clock priorities). ``worked``, when known: the working
    time from ``since`` to ``answered`` on the case's calendar (``_within`` then reads it where
    it decides the same, rather than counting the threshold forward)."""
    priority = _priority_at(ctx, answered)
    around = priority in ctx.config.calendar.around_the_clock
    threshold = getattr(ctx.config.actions.request_update, priority)
    if worked is not None:
        within = _within(ctx.calendar, since, answered, worked, threshold, around)
        if within is not None:
            return within
    return answered <= ctx.calendar.add(since, threshold, around)


_HOUR = timedelta(hours=1)
#: Fall-back changes of daylight saving time repeat at most this much of the wall clock (2 h at
#: Troll, Antarctica); working hours at least this long never open and close within one repeat.
_LONGEST_REPEAT = timedelta(hours=3)


def _unambiguous(at: datetime, tz: tzinfo) -> bool:
    """Whether ``at``'s wall-clock time in ``tz`` happens once (not in the hour repeated when
    daylight saving time ends)."""
    local = at.astimezone(tz)
    return local.utcoffset() == local.replace(fold=1 - local.fold).utcoffset()


def _within(
    calendar: BusinessCalendar,
    since: datetime,
    answered: datetime,
    worked: timedelta,
    threshold: Duration,
    around: bool,
) -> bool | None:
    """``answered <= calendar.add(since, threshold, around)`` (``_on_time``) without counting the
    threshold forward, where that is the same thing: ``worked`` is
    ``calendar.working_time(since, answered)``. None where it is not known to be the same (calendar
    days and weeks: wall-clock arithmetic; instants in a repeated hour of the wall clock).

    On the 24x7 clock and for calendar minutes and hours, ``add`` is ``since`` plus real time,
    so the answer is within it when the real time between is at most the threshold. For
    business time, ``add`` counts the working hours of each day from ``since`` and returns the
    last instant at which ``threshold`` of working time has passed (work ending at a closing
    time falls due at the next opening: the same working time), so ``answered`` is at or before
    it exactly when the working time from ``since`` to ``answered`` is at most ``threshold``; both
    count the same days' openings and closings (holidays, daylight saving time) in real time.
    Python compares instants of one zone on the wall clock, which orders them as real time but
    for two instants both within the hour repeated when daylight saving ends: hence
    ``_unambiguous`` for ``since`` and ``answered``, and working days longer than any repeat."""
    unit = threshold.unit
    if threshold.amount <= 0:
        return None
    if unit in ("minutes", "hours") or (around and unit in ("business hours", "business days")):
        real = (
            timedelta(minutes=threshold.amount)
            if unit == "minutes"
            else timedelta(days=threshold.amount)
            if unit == "business days"
            else timedelta(hours=threshold.amount)
        )
        return between(since, answered) <= real
    if unit not in ("business hours", "business days"):
        return None
    day = calendar.day_length
    if day <= _LONGEST_REPEAT or not (
        _unambiguous(since, calendar.tz) and _unambiguous(answered, calendar.tz)
    ):
        return None
    work = day * threshold.amount if unit == "business days" else timedelta(hours=threshold.amount)
    return worked <= work


class Answers:
    """The vendor's answers to something of ours in the 13 weeks up to ``end`` (the week to
    ``end`` and the trailing 12 before it), of the cases added so far (``add``: each case as it is
    read, so that no timeline is kept): by area and week, the business hours each took; by
    area, institution and period (this week, the trailing weeks), how many were within the
    ``request_update`` threshold. What ``response`` and ``attainment`` read."""

    def __init__(self, end: datetime, calendar: BusinessCalendar) -> None:
        self.end, self.calendar = end, calendar
        # The weeks' bounds, oldest first, as ``end - n * WEEK`` counts them (on the wall clock of
        # ``end``'s zone: a week across a change of daylight saving time is an hour more or less).
        # Held in UTC: the same instants, which ``bisect`` then compares without reading a zone.
        self.bounds = [(end - n * WEEK).astimezone(UTC) for n in range(TRAILING_WEEKS + 1, -1, -1)]
        self.hours: dict[str, list[list[float]]] = {}  # area: by week (0: the week to ``end``)
        self.within: dict[tuple[str, str], list[list[int]]] = {}  # (area, institution): [n, k] by period

    def add(self, ctx: Context) -> None:
        """Count the answers of ``ctx`` (its whole timeline, up to ``end``)."""
        area, institution = ctx.route.area, ctx.case.institution or "unknown"
        same: bool | None = None
        for since, answered in waits(ctx):
            after = bisect_left(self.bounds, answered)  # bounds[after - 1] < answered <= bounds[after]
            if not 0 < after < len(self.bounds):
                continue
            week = len(self.bounds) - 1 - after
            worked = self.calendar.working_time(since, answered)
            taken = round(worked / _HOUR, 1)
            weeks = self.hours.setdefault(area, [[] for _ in range(TRAILING_WEEKS + 1)])
            weeks[week].append(taken)
            counts = self.within.setdefault((area, institution), [[0, 0], [0, 0]])[min(week, 1)]
            counts[0] += 1
            if same is None:  # whether ``worked`` was counted on the case's calendar
                same = ctx.calendar == self.calendar
            counts[1] += _on_time(ctx, since, answered, worked if same else None)


def share(n: int, k: int) -> dict[str, Any]:
    """``k`` of ``n``: count, share in percent, and the bar's width."""
    pct = round(100 * k / n) if n else None
    return {"n": n, "within": k, "share": pct, "bar": (max(2, pct) if pct else 0)}


def stats(values: Sequence[float]) -> dict[str, Any]:
    """Count, median and 90th percentile of ``values`` (None when there are none)."""
    if not values:
        return {"n": 0, "median": None, "p90": None}
    ordered = sorted(values)
    p90 = ordered[min(len(ordered) - 1, max(0, round(0.9 * len(ordered) + 0.5) - 1))]
    return {"n": len(ordered), "median": round(statistics.median(ordered), 1), "p90": round(p90, 1)}


def bar(value: float, top: float) -> int:
    """The width of ``value``'s bar in percent of ``top`` (at least 2 when not zero)."""
    return 0 if top <= 0 else max(2, round(100 * value / top)) if value else 0


def response(answers: Answers, areas: Collection[str]) -> dict[str, Any]:
    """Vendor response time in business hours in ``areas``: the week to ``answers.end``, the
    trailing 12 weeks before it, and the weekly medians as a trend (oldest first)."""
    by_week: list[list[float]] = [[] for _ in range(TRAILING_WEEKS + 1)]
    for area in areas:
        for week, hours in enumerate(answers.hours.get(area, ())):
            by_week[week].extend(hours)
    trend = []
    for i in range(TRAILING_WEEKS, -1, -1):
        lo = answers.end - (i + 1) * WEEK
        trend.append({"week": f"{lo.astimezone(answers.calendar.tz):%b %d}", **stats(by_week[i])})
    top = max((t["median"] or 0 for t in trend), default=0)
    for t in trend:
        t["bar"] = bar(t["median"] or 0, top)
    trailing = [h for hours in by_week[1:] for h in hours]
    return {"week": stats(by_week[0]), "trailing": stats(trailing), "trend": trend}


def attainment(answers: Answers, areas: Collection[str], config: Config) -> dict[str, Any]:
    """The share of vendor responses within the ``request_update`` thresholds in ``areas``:
    overall, by area, by institution; this week and the trailing 12 weeks (the weeks before)."""
    rule = config.actions.request_update
    rows: dict[tuple[str, str], list[list[int]]] = {}
    total = [[0, 0], [0, 0]]
    for (area, institution), periods in answers.within.items():
        if area not in areas:
            continue
        for group, name in (("area", area), ("institution", institution)):
            counts = rows.setdefault((group, name), [[0, 0], [0, 0]])
            for slot in (0, 1):
                counts[slot][0] += periods[slot][0]
                counts[slot][1] += periods[slot][1]
        for slot in (0, 1):
            total[slot][0] += periods[slot][0]
            total[slot][1] += periods[slot][1]
    names = {i.code: i.name or i.code for i in config.institutions}

    def row(group: str, name: str, counts: list[list[int]]) -> dict[str, Any]:
        label = names.get(name, name) if group == "institution" else name
        return {
            "group": group,
            "code": name,
            "name": label,
            "week": share(*counts[0]),
            "trailing": share(*counts[1]),
        }

    return {
        "thresholds": {p: getattr(rule, p).as_written for p in ("system_down", "high", "normal", "low")},
        "all": row("all", "all", total),
        "rows": [
            row(g, n, v) for (g, n), v in sorted(rows.items(), key=lambda kv: (kv[0][0] != "area", kv[0][1]))
        ],
    }
