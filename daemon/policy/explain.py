"""``explain``: the arithmetic behind one case's actions, in words a person would use (pure)."""

from __future__ import annotations

from collections.abc import Collection, Sequence

from daemon.model import Action
from daemon.policy.engine import held
from daemon.policy.rules import Context, when

_NEXT = {
    "request_update": ("escalate", "an update is requested"),
    "escalate": ("pm_assist", "escalation is requested"),
}


def _clock_line(ctx: Context) -> str:
    c = ctx.clocks
    w = ctx.when
    if c.turn == "vendor" and c.period:
        p = c.period
        line = f"Clock: vendor owes us, since {w(p.since)} ({p.since_what})."
        if p.waiting_from != p.since:
            line += f" Latest of ours: {w(p.waiting_from)} ({p.waiting_what})."
        return line
    if c.turn == "customer" and c.pending_since:
        status = ctx.case.status or "pending customer"
        return f"Clock: we owe the vendor, since {w(c.pending_since)} (status {status})."
    if c.state == "closed" and c.closed_at:
        return f"Clock: none, the case is closed since {w(c.closed_at)}."
    return "Clock: none, the case is known only from list mail (no vendor notification yet)."


def _calendar_line(ctx: Context) -> str:
    cal = ctx.calendar
    if ctx.around_the_clock:
        return "Business time: the 24x7 clock (a business day is 24 hours) for this priority."
    days = ", ".join(
        d.capitalize()[:3]
        for d in ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
        if d in [x.lower() for x in ctx.config.calendar.workdays]
    )
    holidays = f"{cal.country} holidays" if cal.country else "no holidays"
    extra = f" and {len(cal.closures)} closure day(s)" if cal.closures else ""
    return (
        f"Business time: {days} {cal.day_start:%H:%M}-{cal.day_end:%H:%M} {cal.tz.key}, "
        f"minus {holidays}{extra}."
    )


def _status(action: Action, ctx: Context, sent: Collection[str]) -> tuple[str, Action]:
    kept = held(action, ctx.clocks.commands, ctx.now, ctx.case.owner)
    if kept is None:
        return "held by a reply command (mute or done)", action
    if any(m in sent for m in kept.all_marks):
        return "already sent", kept
    if kept.due_at <= ctx.now:
        return "DUE", kept
    return "not yet due", kept


def explain(ctx: Context, actions: Sequence[Action], sent: Collection[str] = ()) -> str:
    """A case's clocks and each of its actions with the arithmetic of its due time."""
    case = ctx.case
    who = case.owner or "no owner known"
    if case.institution:
        who += f" ({case.institution})"
    lines = [
        f"Case {case.number}{ctx.title()} as of {ctx.when(ctx.now)}",
        f"  {(case.priority or 'unknown').replace('_', '-')} priority, {case.state}"
        + (f' (status "{case.status}")' if case.status else "")
        + f", owner {who}",
        f"  Area: {ctx.route.area}: {ctx.route.area_why}.",
        _clock_line(ctx),
        _calendar_line(ctx),
    ]
    p = ctx.clocks.period
    if p and (p.update_requested or p.escalation_requested or p.feedback):
        tried = [
            f"{label} {ctx.when(at)}"
            for label, at in (
                ("update requested", p.update_requested),
                ("in-case feedback", p.feedback),
                ("escalation requested", p.escalation_requested),
            )
            if at
        ]
        lines.append("Tried in this silence: " + "; ".join(tried) + ".")
    mine = sorted(
        (a for a in actions if a.case == ctx.number or ctx.number in a.cases), key=lambda a: a.due_at
    )
    if not mine:
        lines.append("Nothing is due or coming for this case.")
    for action in mine:
        status, shown = _status(action, ctx, sent)
        lines.append("")
        lines.append(f"{action.kind}: {status}, due {ctx.when(shown.due_at)}")
        b = action.basis
        if b is not None and b.threshold != "0 hours":
            clock = " on the 24x7 clock" if b.around_the_clock and b.business else ""
            lines.append(
                f"  {b.since_what} {ctx.when(b.since)} {'-' if b.before else '+'} {b.threshold}{clock}"
                f" = {ctx.when(action.due_at)}"
            )
            if b.clock != "support call":
                elapsed = ctx.calendar.elapsed(b.since, ctx.now, b.business, b.around_the_clock)
                word = "business time" if b.business and not b.around_the_clock else "time"
                lines.append(
                    f"  {word} elapsed: "
                    f"{ctx.calendar.describe_elapsed(elapsed, b.business, b.around_the_clock)}"
                    f" of {b.threshold}"
                )
        elif b is not None:
            lines.append(f"  at once: {b.since_what} {ctx.when(b.since)}")
        if shown.due_at != action.due_at:
            lines.append(f"  snoozed until {ctx.when(shown.due_at)}")
        recipients = ", ".join(action.to) or "nobody (see why)"
        lines.append(f"  to: {recipients}" + (f"; cc: {', '.join(action.cc)}" if action.cc else ""))
        lines.append(f"  why: {action.reason}")
        if action.kind in _NEXT:
            nxt, trigger = _NEXT[action.kind]
            rule = getattr(ctx.config.actions, nxt)
            lines.append(
                f"  next: once {trigger}, {nxt} falls due {getattr(rule, ctx.priority)} later "
                f"if Ex Libris stays silent."
            )
        elif action.kind == "pm_assist":
            lines.append("  next: the last step of the ladder; a vendor response starts it again.")
    return "\n".join(lines)


__all__ = ["explain", "when"]
