"""The weekly digest of one program manager: what needs them, and how their areas stand (pure).

``digest(pm, ctxs, actions, period_end, config)`` reads the cases as the engine sees them at
``period_end`` (the weekly slot, e.g. Monday 08:00) and returns the digest as plain data for
the ``digest`` templates. The same inputs give the same digest, so any past period can be
rendered again (``casewatch digest --at``). A PM sees the cases routed to their areas.

Sections (each a list; an empty one is left out of the mail):
``needs_you``    system down, stalled high priority, help requested (pm_assist), with why;
``clusters``     widespread problems in the PM's areas, and whether a case of record exists;
``escalations``  escalation requested, the vendor not yet answering;
``auto_close``   pending customer for 21 days or more: the vendor closes after 28 (``closes_on``);
``ladder``       the open cases, most urgent first (at most 40; ``ladder_more`` counts the rest):
                 where each stands on the ladder, and for how long;
``new`` / ``closed``  opened / closed (``closed_at``) during the week;
``response``     vendor response time in business hours: this week, the trailing 12 weeks, and
                 the weekly medians as a trend;
``institutions`` open cases per institution; ``ages``: open cases by age;
``snoozed`` / ``muted``  cases whose reminders are held;
``unread_since`` when the mailbox could not be read (in words; "" when it could): the digest
                 then opens with that, and never calls the week quiet.
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from daemon.config import Config, ProgramManager
from daemon.model import Action
from daemon.outbound.context import case_dict
from daemon.policy.calendar import BusinessCalendar
from daemon.policy.clocks import OURS, RESPONSES
from daemon.policy.engine import Snapshot, candidates
from daemon.policy.rules import Context, when

WEEK = timedelta(days=7)
TRAILING_WEEKS = 12
AUTO_CLOSE_RISK = timedelta(days=21)
AUTO_CLOSE = timedelta(days=28)
NEEDS_YOU = ("pm_system_down", "pm_stalled_high", "pm_assist")
LADDER_STEPS = {
    "request_update": "update request due",
    "escalate": "escalation due",
    "pm_assist": "PM help due",
}
LADDER_LIMIT = 40  # the ladder section lists the most urgent open cases, then counts the rest
AGE_BUCKETS = (("under 1 week", 7), ("1-4 weeks", 28), ("1-3 months", 91), ("over 3 months", None))


def response_samples(ctx: Context, calendar: BusinessCalendar) -> list[tuple[datetime, float]]:
    """(when the vendor answered, business hours it took) for each answer to something of ours."""
    out = []
    waiting: datetime | None = None
    for e in ctx.events:
        if e.kind == "case_opened" or (e.kind in OURS and e.actor in ("member", "pm")):
            waiting = waiting or e.at
        elif e.actor == "vendor" and e.kind in RESPONSES and waiting is not None:
            hours = calendar.working_time(waiting, e.at) / timedelta(hours=1)
            out.append((e.at, round(hours, 1)))
            waiting = None
    return out


def _stats(values: Sequence[float]) -> dict[str, Any]:
    if not values:
        return {"n": 0, "median": None, "p90": None}
    ordered = sorted(values)
    p90 = ordered[min(len(ordered) - 1, max(0, round(0.9 * len(ordered) + 0.5) - 1))]
    return {"n": len(ordered), "median": round(statistics.median(ordered), 1), "p90": round(p90, 1)}


def _bar(value: float, top: float) -> int:
    return 0 if top <= 0 else max(2, round(100 * value / top)) if value else 0


def digest(
    pm: ProgramManager,
    ctxs: Sequence[Context],
    actions: Sequence[Action],
    period_end: datetime,
    config: Config,
    unread_since: datetime | None = None,
) -> dict[str, Any]:
    """``unread_since``: since when casewatch has failed to read the mailbox, as the digest is
    written (None: it reads it)."""
    calendar = BusinessCalendar.of(config)
    start = period_end - WEEK
    mine = [c for c in ctxs if c.route.area in pm.areas and c.case.source == "vendor"]
    numbers = {c.number for c in mine}

    def card(ctx: Context, **extra: Any) -> dict[str, Any]:
        return {**case_dict(ctx.case, config, calendar), "area": ctx.route.area, **extra}

    due = [a for a in actions if a.due_at <= period_end]
    by_case: dict[str, list[Action]] = {}
    for a in due:
        if a.case:
            by_case.setdefault(a.case, []).append(a)
    open_cases = [c for c in mine if c.clocks.state in ("open", "pending_customer")]

    needs_you = []
    for ctx in open_cases:
        found = [a for a in by_case.get(ctx.number, []) if a.kind in NEEDS_YOU]
        if found:
            first = min(found, key=lambda a: NEEDS_YOU.index(a.kind))
            needs_you.append(card(ctx, kind=first.kind, why=first.reason, since=when(first.due_at, calendar)))
    needs_you.sort(key=lambda c: (NEEDS_YOU.index(c["kind"]), c["number"]))

    clusters = []
    for a in due:
        if a.kind == "widespread" and numbers & set(a.cases):
            record = [n for n in a.cases if any(x.number == n and x.case.case_of_record for x in ctxs)]
            clusters.append(
                {
                    "cases": list(a.cases),
                    "institutions": list(a.data.get("institutions", [])),
                    "record": record[0] if record else "",
                    "since": when(a.due_at, calendar),
                }
            )

    escalations, auto_close, ladder, snoozed, muted = [], [], [], [], []
    for ctx in open_cases:
        c = ctx.clocks
        if (
            c.period
            and c.period.escalation_requested
            and not any(a.kind == "pm_assist" for a in by_case.get(ctx.number, []))
        ):
            escalations.append(card(ctx, since=when(c.period.escalation_requested, calendar)))
        if c.pending_since and period_end - c.pending_since >= AUTO_CLOSE_RISK:
            left = (c.pending_since + AUTO_CLOSE - period_end).days
            auto_close.append(
                card(
                    ctx,
                    pending_since=when(c.pending_since, calendar),
                    days_left=max(left, 0),
                    closes_on=when(c.pending_since + AUTO_CLOSE, calendar),
                )
            )
        steps = [a.kind for a in by_case.get(ctx.number, []) if a.kind in LADDER_STEPS]
        since = c.period.since if c.period else period_end
        if c.turn == "customer" and c.pending_since:
            step, since = "waiting on us", c.pending_since
        elif steps:
            step = LADDER_STEPS[max(steps, key=list(LADDER_STEPS).index)]
        elif c.period and c.period.escalation_requested:
            step = "escalated, waiting for the vendor"
        elif c.period and c.period.update_requested:
            step = "update requested, waiting for the vendor"
        else:
            step = "vendor's turn, on time"
        around = ctx.around_the_clock
        elapsed = calendar.elapsed(since, period_end, True, around)
        ladder.append(
            card(
                ctx,
                step=step,
                since=when(since, calendar),
                silent=calendar.describe_elapsed(elapsed, True, around),
                days=(period_end - since).days,
            )
        )
        for command in c.commands:
            if command.at > period_end:
                continue
            if command.name == "snooze" and command.until and command.until > period_end:
                snoozed.append(card(ctx, until=when(command.until, calendar)))
            if command.name == "mute" and not any(
                x.name in ("unmute", "resume") and x.at > command.at for x in c.commands
            ):
                muted.append(card(ctx))
    order = {"PM help due": 0, "escalation due": 1, "update request due": 2, "waiting on us": 3}
    ladder.sort(key=lambda c: (order.get(c["step"], 4), -c["days"], c["number"]))

    new = [card(c) for c in mine if c.clocks.opened_at and start < c.clocks.opened_at <= period_end]
    closed = [
        card(c, closed_at=when(c.clocks.closed_at, calendar))
        for c in mine
        if c.clocks.closed_at and start < c.clocks.closed_at <= period_end
    ]

    samples = [s for ctx in mine for s in response_samples(ctx, calendar)]
    week = [h for at, h in samples if start < at <= period_end]
    trailing_start = start - TRAILING_WEEKS * WEEK
    trailing = [h for at, h in samples if trailing_start < at <= start]
    trend = []
    for i in range(TRAILING_WEEKS, -1, -1):
        lo, hi = period_end - (i + 1) * WEEK, period_end - i * WEEK
        values = [h for at, h in samples if lo < at <= hi]
        trend.append({"week": f"{lo.astimezone(calendar.tz):%b %d}", **_stats(values)})
    top = max((t["median"] or 0 for t in trend), default=0)
    for t in trend:
        t["bar"] = _bar(t["median"] or 0, top)

    per_inst = Counter(c.case.institution or "unknown" for c in open_cases)
    top_inst = max(per_inst.values(), default=0)
    names = {i.code: i.name or i.code for i in config.institutions}
    institutions = [
        {"code": code, "name": names.get(code, code), "open": n, "bar": _bar(n, top_inst)}
        for code, n in sorted(per_inst.items(), key=lambda kv: (-kv[1], kv[0]))
    ]
    ages_count: Counter[str] = Counter()
    for ctx in open_cases:
        age = (period_end - (ctx.clocks.opened_at or ctx.events[0].at)).days
        label = next(lbl for lbl, limit in AGE_BUCKETS if limit is None or age < limit)
        ages_count[label] += 1
    top_age = max(ages_count.values(), default=0)
    ages = [
        {"label": lbl, "count": ages_count[lbl], "bar": _bar(ages_count[lbl], top_age)}
        for lbl, _ in AGE_BUCKETS
    ]

    busy = needs_you or clusters or escalations or auto_close or new or closed or snoozed or muted
    late = any(x["step"] != "vendor's turn, on time" for x in ladder)
    return {
        "pm": {"name": pm.name, "email": pm.email, "areas": list(pm.areas)},
        "period": {"start": when(start, calendar), "end": when(period_end, calendar)},
        "open_count": len(open_cases),
        "unread_since": when(unread_since, calendar) if unread_since else "",
        "quiet": not (unread_since or busy or late),
        "needs_you": needs_you,
        "clusters": clusters,
        "escalations": escalations,
        "auto_close": auto_close,
        "ladder": ladder[:LADDER_LIMIT],
        "ladder_more": max(0, len(ladder) - LADDER_LIMIT),
        "new": new,
        "closed": closed,
        "response": {"week": _stats(week), "trailing": _stats(trailing), "trend": trend},
        "institutions": institutions,
        "ages": ages if open_cases else [],
        "snoozed": snoozed,
        "muted": muted,
    }


class Weekly:
    """The digests of one snapshot: the engine runs once per week's end, however many PMs."""

    def __init__(self, snapshot: Snapshot, config: Config, unread_since: datetime | None = None) -> None:
        self.snapshot, self.config, self.unread_since = snapshot, config, unread_since
        self._weeks: dict[datetime, tuple[list[Context], list[Action]]] = {}

    def for_pm(self, pm: ProgramManager, period_end: datetime) -> dict[str, Any]:
        """The digest of ``pm`` for the week ending at ``period_end``."""
        if period_end not in self._weeks:
            self._weeks[period_end] = candidates(self.snapshot, period_end, self.config)
        ctxs, actions = self._weeks[period_end]
        return digest(pm, ctxs, actions, period_end, self.config, self.unread_since)


def for_pm(pm: ProgramManager, snapshot: Snapshot, period_end: datetime, config: Config) -> dict[str, Any]:
    """The digest of ``pm`` for the week ending at ``period_end``, from the store's snapshot."""
    return Weekly(snapshot, config).for_pm(pm, period_end)
