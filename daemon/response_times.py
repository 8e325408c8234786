"""Vendor response times and their attainment of the thresholds, for the weekly digest (pure).

``response(mine, start, period_end, calendar)`` is the digest's ``response`` section: the
business hours the vendor took to answer something of ours, this week, the trailing 12 weeks
and the weekly medians as a trend. ``attainment(mine, start, trailing_start, end, config)`` is
its ``attainment`` section: the share of those answers within the ``request_update``
threshold of the case's priority, overall, by area and by institution.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from daemon.config import Config
from daemon.policy.calendar import BusinessCalendar
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


def response_samples(ctx: Context, calendar: BusinessCalendar) -> list[tuple[datetime, float]]:
    """(when the vendor answered, business hours it took) for each answer to something of ours."""
    return [
        (answered, round(calendar.working_time(since, answered) / timedelta(hours=1), 1))
        for since, answered in waits(ctx)
    ]


def _priority_at(ctx: Context, at: datetime) -> str:
    """The case's priority at ``at`` (normal when none was known yet)."""
    found = "normal"
    for since, priority in ctx.clocks.priorities:
        if since <= at:
            found = priority
    return found


def on_time(ctx: Context) -> list[tuple[datetime, bool]]:
    """(when the vendor answered, whether within the ``request_update`` threshold of the case's
    priority then) for each answer: the threshold counted as the ladder counts it (business
    time on the case's calendar, or the 24x7 clock for the around-the-clock priorities)."""
    rule = ctx.config.actions.request_update
    out = []
    for since, answered in waits(ctx):
        priority = _priority_at(ctx, answered)
        around = priority in ctx.config.calendar.around_the_clock
        limit = ctx.calendar.add(since, getattr(rule, priority), around)
        out.append((answered, answered <= limit))
    return out


def share(values: Sequence[bool]) -> dict[str, Any]:
    """How many of ``values`` are true: count, share in percent, and the bar's width."""
    n, k = len(values), sum(values)
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


def response(
    mine: Sequence[Context], start: datetime, period_end: datetime, calendar: BusinessCalendar
) -> dict[str, Any]:
    """Vendor response time in business hours: the week from ``start`` to ``period_end``, the
    trailing 12 weeks before it, and the weekly medians as a trend (oldest first)."""
    samples = [s for ctx in mine for s in response_samples(ctx, calendar)]
    week = [h for at, h in samples if start < at <= period_end]
    trailing_start = start - TRAILING_WEEKS * WEEK
    trailing = [h for at, h in samples if trailing_start < at <= start]
    trend = []
    for i in range(TRAILING_WEEKS, -1, -1):
        lo, hi = period_end - (i + 1) * WEEK, period_end - i * WEEK
        values = [h for at, h in samples if lo < at <= hi]
        trend.append({"week": f"{lo.astimezone(calendar.tz):%b %d}", **stats(values)})
    top = max((t["median"] or 0 for t in trend), default=0)
    for t in trend:
        t["bar"] = bar(t["median"] or 0, top)
    return {"week": stats(week), "trailing": stats(trailing), "trend": trend}


def attainment(
    mine: Sequence[Context], start: datetime, trailing_start: datetime, end: datetime, config: Config
) -> dict[str, Any]:
    """The share of vendor responses within the ``request_update`` thresholds: overall, by area,
    by institution; this week and the trailing 12 weeks (the weeks before this one)."""
    rule = config.actions.request_update
    rows: dict[tuple[str, str], tuple[list[bool], list[bool]]] = {}
    total: tuple[list[bool], list[bool]] = ([], [])
    for ctx in mine:
        for answered, ok in on_time(ctx):
            if start < answered <= end:
                slot = 0
            elif trailing_start < answered <= start:
                slot = 1
            else:
                continue
            total[slot].append(ok)
            for group, name in (("area", ctx.route.area), ("institution", ctx.case.institution or "unknown")):
                rows.setdefault((group, name), ([], []))[slot].append(ok)
    names = {i.code: i.name or i.code for i in config.institutions}

    def row(group: str, name: str, values: tuple[list[bool], list[bool]]) -> dict[str, Any]:
        label = names.get(name, name) if group == "institution" else name
        return {
            "group": group,
            "code": name,
            "name": label,
            "week": share(values[0]),
            "trailing": share(values[1]),
        }

    return {
        "thresholds": {p: getattr(rule, p).as_written for p in ("system_down", "high", "normal", "low")},
        "all": row("all", "all", total),
        "rows": [
            row(g, n, v) for (g, n), v in sorted(rows.items(), key=lambda kv: (kv[0][0] != "area", kv[0][1]))
        ],
    }
