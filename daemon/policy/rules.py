"""The rules about one case: each a small named function of a ``Context`` (pure).

A rule returns every action its case is heading for, due or not yet due; the
engine keeps those due and not yet sent. Keys name the period an action belongs
to (the start of a silence, a pending stretch, an opening, a closing), so an
action can fall due once per period and never again on its own.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

from daemon.config import CHECKLIST, Config
from daemon.model import Action, Basis, Case, Event
from daemon.policy.calendar import BusinessCalendar, Duration, parse_duration
from daemon.policy.clocks import Clocks, since_in
from daemon.policy.routing import Route


@dataclass(frozen=True)
class _Seconds(Duration):
    """Seconds, counted as a fraction of a minute (the calendar's finest unit), shown as seconds."""

    def __str__(self) -> str:
        n = round(self.amount * 60, 3)
        shown = int(n) if n == int(n) else n
        return f"{shown} second{'' if shown == 1 else 's'}"


_SECONDS = re.compile(r"^\s*(?P<n>\d+(?:\.\d+)?)\s*(?:s|secs?|seconds?)\s*$", re.IGNORECASE)


@lru_cache(maxsize=256)
def duration(text: str) -> Duration:
    """A duration of the config (``parse_duration``), or of seconds: ``"30 seconds"``, ``"30 sec"``
    and ``"30s"`` are elapsed time, kept as a fraction of a minute; ValueError when unreadable."""
    m = _SECONDS.match(text)
    if m:
        return _Seconds(float(m.group("n")) / 60, "minutes")
    return parse_duration(text)


def iso(at: datetime) -> str:
    return at.isoformat()


@dataclass(frozen=True)
class Context:
    """What every rule about one case gets."""

    case: Case
    events: tuple[Event, ...]
    clocks: Clocks
    route: Route
    now: datetime
    config: Config
    calendar: BusinessCalendar

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

    def after(self, start: datetime, text: str) -> tuple[datetime, Duration]:
        d = duration(text)
        return self.calendar.add(start, d, self.around_the_clock), d

    def basis(self, clock: str, since: datetime, what: str, threshold: Duration) -> Basis:
        return Basis(clock, since, what, str(threshold), threshold.business, self.around_the_clock)

    def title(self) -> str:
        return f' ("{self.case.title}")' if self.case.title else ""


def when(at: datetime, calendar: BusinessCalendar) -> str:
    return at.astimezone(calendar.tz).strftime("%a %Y-%m-%d %H:%M %Z")


def _priority_words(ctx: Context) -> str:
    if ctx.case.priority:
        return f"{ctx.priority.replace('_', '-')} priority"
    return "priority unknown, taken as normal"


# --------------------------------------------------------------------------- the ladder


def request_update(ctx: Context) -> list[Action]:
    """Step 1: the vendor has been silent too long; the owner asks for an update in the case."""
    rule = ctx.config.actions.request_update
    p = ctx.clocks.period
    if not rule.enabled or p is None or p.update_requested or p.escalation_requested:
        return []
    due, threshold = ctx.after(p.waiting_from, getattr(rule, ctx.priority))
    to, cc, note = ctx.route.owner_or_pm()
    reason = (
        f"Case {ctx.number}{ctx.title()} has had no response from Ex Libris since "
        f"{ctx.when(p.waiting_from)} ({p.waiting_what}). After {threshold} ({_priority_words(ctx)}) "
        f"the policy suggests asking for an update in the case comments."
    )
    return [
        Action(
            "request_update",
            ctx.number,
            to,
            due,
            _join(reason, note),
            f"request_update:{ctx.number}:{iso(p.since)}",
            cc=cc,
            area=ctx.route.area,
            basis=ctx.basis("vendor owes us", p.waiting_from, p.waiting_what, threshold),
        )
    ]


def escalate(ctx: Context) -> list[Action]:
    """Step 2: an update was asked for and the vendor stayed silent; request escalation."""
    rule = ctx.config.actions.escalate
    p = ctx.clocks.period
    if not rule.enabled or p is None or p.update_requested is None or p.escalation_requested:
        return []
    due, threshold = ctx.after(p.update_requested, getattr(rule, ctx.priority))
    to, cc, note = ctx.route.owner_or_pm()
    feedback_used = any(e.kind == "in_case_feedback" for e in ctx.events)
    reason = (
        f"An update on case {ctx.number}{ctx.title()} was requested on {ctx.when(p.update_requested)} "
        f"and Ex Libris has not responded in {threshold} ({_priority_words(ctx)}). The policy suggests "
        f"requesting escalation and adding the {ctx.route.area} PM to the case contacts."
    )
    return [
        Action(
            "escalate",
            ctx.number,
            to,
            due,
            _join(reason, note),
            f"escalate:{ctx.number}:{iso(p.since)}",
            cc=cc,
            area=ctx.route.area,
            basis=ctx.basis("vendor owes us", p.update_requested, "our update request", threshold),
            data={"pm_contacts": list(ctx.route.pms), "suggest_feedback": not feedback_used},
        )
    ]


def pm_assist(ctx: Context) -> list[Action]:
    """Step 3: escalation (or comment, in-case feedback and escalation) brought no update."""
    rule = ctx.config.actions.pm_assist
    p = ctx.clocks.period
    if not rule.enabled or p is None or p.escalation_requested is None:
        return []
    due, threshold = ctx.after(p.escalation_requested, getattr(rule, ctx.priority))
    since, what = p.escalation_requested, "our escalation request"
    commented = p.update_requested or p.waiting_what == "our comment"
    if p.feedback and commented:
        tried = max(t for t in (p.update_requested, p.feedback, p.escalation_requested, p.waiting_from) if t)
        if tried < due:
            due, since, what = tried, tried, "comment, in-case feedback and escalation all tried"
            threshold = Duration(0, "hours")
    to, cc, note = ctx.route.pm_cc_owner()
    reason = (
        f"Case {ctx.number}{ctx.title()} was escalated on {ctx.when(p.escalation_requested)} and Ex Libris "
        f"has not responded since {ctx.when(p.since)} ({p.since_what}). The owner "
        f"{ctx.case.owner or '(unknown)'} needs the {ctx.route.area} PM's help ({_priority_words(ctx)})."
    )
    return [
        Action(
            "pm_assist",
            ctx.number,
            to,
            due,
            _join(reason, _sentence(ctx.route.area_why), note),
            f"pm_assist:{ctx.number}:{iso(p.since)}",
            cc=cc,
            area=ctx.route.area,
            basis=ctx.basis("vendor owes us", since, what, threshold),
        )
    ]


# --------------------------------------------------------------------------- other rules


def pm_system_down(ctx: Context) -> list[Action]:
    """A case opened as, or raised to, System/Component Down: tell the area's PM at once."""
    if not ctx.config.actions.pm_system_down.enabled or ctx.clocks.state == "closed":
        return []
    since = since_in(ctx.clocks.priorities, ("system_down",))
    if since is None:
        return []
    to, cc, note = ctx.route.pm_cc_owner()
    reason = (
        f"Case {ctx.number}{ctx.title()} is a System/Component Down case since {ctx.when(since)} "
        f"(owner {ctx.case.owner or 'unknown'}); the policy asks that the {ctx.route.area} PM be told "
        "at once."
    )
    return [
        Action(
            "pm_system_down",
            ctx.number,
            to,
            since,
            _join(reason, _sentence(ctx.route.area_why), note),
            f"pm_system_down:{ctx.number}:{iso(since)}",
            cc=cc,
            area=ctx.route.area,
            basis=Basis("system down", since, "System/Component Down priority", "0 hours"),
        )
    ]


def pm_stalled_high(ctx: Context) -> list[Action]:
    """A high or system-down case without a vendor response for over a month."""
    rule = ctx.config.actions.pm_stalled_high
    c = ctx.clocks
    if not rule.enabled or c.turn != "vendor" or c.progress_since is None:
        return []
    if ctx.case.priority not in rule.priorities:
        return []
    threshold = duration(rule.after)
    due = ctx.calendar.add(c.progress_since, threshold)
    to, cc, note = ctx.route.pm_cc_owner()
    reason = (
        f"Case {ctx.number}{ctx.title()} ({_priority_words(ctx)}) has had no response from Ex Libris "
        f"since {ctx.when(c.progress_since)} ({c.progress_what}), over {threshold}: the policy asks the "
        f"{ctx.route.area} PM to step in."
    )
    return [
        Action(
            "pm_stalled_high",
            ctx.number,
            to,
            due,
            _join(reason, note),
            f"pm_stalled_high:{ctx.number}:{iso(c.progress_since)}",
            cc=cc,
            area=ctx.route.area,
            basis=Basis("no significant progress", c.progress_since, c.progress_what, str(threshold)),
        )
    ]


def customer_turn(ctx: Context) -> list[Action]:
    """The case waits for us (pending customer): remind the owner before the vendor closes it."""
    rule = ctx.config.actions.customer_turn
    since = ctx.clocks.pending_since
    if not rule.enabled or since is None:
        return []
    to, cc, note = ctx.route.owner_or_pm()
    steps = sorted(
        ((ctx.calendar.add(since, duration(t)), duration(t)) for t in rule.after), key=lambda s: s[0]
    )
    actions: list[Action] = []
    for due, threshold in steps:
        key = f"customer_turn:{ctx.number}:{iso(since)}:{threshold}"
        reason = (
            f"Ex Libris is waiting for our answer on case {ctx.number}{ctx.title()}: its status "
            f"({ctx.case.status or 'pending customer'}) has been pending since {ctx.when(since)}, "
            f"{threshold} or more. Ex Libris reminds after 7 days and closes the case after 28."
        )
        actions.append(
            Action(
                "customer_turn",
                ctx.number,
                to,
                due,
                _join(reason, note),
                key,
                cc=cc,
                area=ctx.route.area,
                basis=Basis("we owe the vendor", since, "the pending-customer status", str(threshold)),
            )
        )
    # When several are due at once (after a pause), only the latest is worth sending.
    due_now = [a for a in actions if a.due_at <= ctx.now]
    return [a for a in actions if a.due_at > ctx.now or (due_now and a is due_now[-1])]


def survey(ctx: Context) -> list[Action]:
    """A business day after the case closes: fill in the post-case survey."""
    rule = ctx.config.actions.survey
    closed = ctx.clocks.closed_at
    if not rule.enabled or closed is None:
        return []
    due, threshold = ctx.after(closed, rule.after)
    if ctx.now > ctx.calendar.add(due, duration(rule.window)):
        return []  # too late to be of use
    to, cc, note = ctx.route.owner_or_pm()
    reason = (
        f"Case {ctx.number}{ctx.title()} was closed on {ctx.when(closed)}. The post-case survey is the "
        f"place to thank the analyst or give constructive feedback."
    )
    return [
        Action(
            "survey",
            ctx.number,
            to,
            due,
            _join(reason, note),
            f"survey:{ctx.number}:{iso(closed)}",
            cc=cc,
            area=ctx.route.area,
            basis=ctx.basis("since closing", closed, "the case closing", threshold),
        )
    ]


def share_on_list(ctx: Context) -> list[Action]:
    """A high or system-down case nobody has mentioned on a list: share it with the Alliance."""
    rule = ctx.config.actions.share_on_list
    c = ctx.clocks
    if not rule.enabled or c.state == "closed" or c.listed_at is not None:
        return []
    severe = since_in(c.priorities, rule.priorities)
    if severe is None:
        return []
    start = max(severe, c.opened_at) if c.opened_at else severe
    what = "the case opened" if start == c.opened_at else f"its priority became {ctx.priority}"
    due, threshold = ctx.after(start, rule.after)
    to, cc, note = ctx.route.owner_or_pm()
    reason = (
        f"Case {ctx.number}{ctx.title()} ({_priority_words(ctx)}) has not been mentioned on any list "
        f"since {ctx.when(start)} ({what}). The policy suggests a brief summary with the case number on "
        f"the Alliance list for {ctx.route.area}."
    )
    return [
        Action(
            "share_on_list",
            ctx.number,
            to,
            due,
            _join(reason, note),
            f"share_on_list:{ctx.number}:{iso(start)}",
            cc=cc,
            area=ctx.route.area,
            basis=ctx.basis("not yet shared", start, what, threshold),
        )
    ]


_LABELS = {
    "steps": "steps to reproduce",
    "impact": "a statement of the impact",
    "troubleshooting": "troubleshooting tried and its results",
    "who_else": "who else can replicate it",
    "related_cases": "related case numbers",
    "category": "the Category field",
    "subcategory": "the Subcategory field",
}


@lru_cache(maxsize=64)
def _pattern(patterns: tuple[str, ...]) -> re.Pattern[str]:
    """One regular expression matching any of ``patterns`` (each kept as its own group)."""
    return re.compile("|".join(f"(?:{p})" for p in patterns) or "(?!)", re.IGNORECASE | re.MULTILINE)


def checklist_gaps(case: Case, config: Config) -> list[str]:
    """The checklist items a case's description and fields lack (names from ``CHECKLIST``)."""
    rule = config.actions.description_gaps
    text = case.description or ""
    missing = []
    for item in CHECKLIST:
        if item in ("category", "subcategory"):
            present = bool(getattr(case, item))
        else:
            present = _pattern(getattr(rule, item)).search(text) is not None
        if not present:
            missing.append(item)
    return missing


def description_gaps(ctx: Context) -> list[Action]:
    """A new case whose description lacks checklist items: suggest adding them."""
    rule = ctx.config.actions.description_gaps
    c = ctx.clocks
    if not rule.enabled or c.state == "closed" or c.describe_at is None:
        return []
    start = c.opened_at or c.describe_at
    due = max(start, c.describe_at)
    if ctx.now > ctx.calendar.add(due, duration(rule.window)):
        return []  # too late to be of use
    missing = checklist_gaps(ctx.case, ctx.config)
    if not any(m in rule.required for m in missing):
        return []
    to, cc, note = ctx.route.owner_or_pm()
    reason = (
        f"The description of case {ctx.number}{ctx.title()} lacks "
        f"{_and([_LABELS[m] for m in missing])}. Adding them helps the analyst understand it sooner."
    )
    return [
        Action(
            "description_gaps",
            ctx.number,
            to,
            due,
            _join(reason, note),
            f"description_gaps:{ctx.number}:{iso(start)}",
            cc=cc,
            area=ctx.route.area,
            basis=Basis("case opened", start, "the case opened", "0 hours"),
            data={"missing": missing},
        )
    ]


def handover(ctx: Context) -> list[Action]:
    """An owner leaving names a successor: the steps for both of them."""
    if not ctx.config.actions.handover.enabled:
        return []
    actions = []
    for e in ctx.clocks.handovers:
        successor = str(e.data.get("owner") or e.data.get("successor") or "")
        previous = str(e.data.get("previous_owner") or "")
        to = tuple(a for a in dict.fromkeys((previous, successor)) if a)
        if not successor:
            continue
        reason = (
            f"{previous or 'The owner'} hands case {ctx.number}{ctx.title()} over to {successor}: add "
            f"{successor} to the case's additional contacts and ask in a case comment for the primary "
            f"contact to change."
        )
        actions.append(
            Action(
                "handover",
                ctx.number,
                to,
                e.at,
                reason,
                f"handover:{ctx.number}:{iso(e.at)}:{successor}",
                area=ctx.route.area,
                basis=Basis("handover", e.at, "the handover command", "0 hours"),
                data={"successor": successor, "previous_owner": previous},
            )
        )
    return actions


@dataclass(frozen=True)
class Rule:
    kind: str
    description: str
    evaluate: Callable[[Context], list[Action]]


CASE_RULES: tuple[Rule, ...] = tuple(
    Rule(f.__name__, (f.__doc__ or "").strip(), f)
    for f in (
        request_update,
        escalate,
        pm_assist,
        pm_system_down,
        pm_stalled_high,
        customer_turn,
        survey,
        share_on_list,
        description_gaps,
        handover,
    )
)


def _join(*parts: str) -> str:
    return " ".join(p for p in parts if p)


def _and(items: Sequence[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:] + "." if text else ""
