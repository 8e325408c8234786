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
from itertools import pairwise
from typing import Any

from daemon.config import CHECKLIST, Config
from daemon.model import Action, Basis, Case, Event
from daemon.policy.calendar import BusinessCalendar
from daemon.policy.clocks import Clocks, since_in
from daemon.policy.routing import Route

# Re-exported for the rules' callers (durations live in the leaf daemon.timeparts).
from daemon.timeparts import Duration as Duration  # noqa: PLC0414
from daemon.timeparts import duration as duration  # noqa: PLC0414


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

    def after(self, start: datetime, text: str, owner: bool = False) -> tuple[datetime, Duration]:
        """``text`` after ``start``; ``owner``: on the owner's institution's calendar."""
        d = duration(text)
        return (self.owners if owner else self.calendar).add(start, d, self.around_the_clock), d

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
    due, threshold = ctx.after(p.waiting_from, getattr(rule, ctx.priority), owner=True)
    to, cc, note = ctx.route.owner_or_pm()
    reason = (
        f"Case {ctx.number}{ctx.title()} has had no response from Ex Libris since "
        f"{ctx.when(p.waiting_from)} ({p.waiting_what}). After {threshold} ({_priority_words(ctx)}) "
        f"the policy suggests asking for an update in the case comments."
    )
    raised = priority_raised(ctx)
    data: dict[str, Any] = {}
    if raised:
        data = {"priority_raised": raised, "offer_escalation": True, "pm_contacts": list(ctx.route.pms)}
        reason += (
            f" Its priority was raised from {_words(raised['from'])} to {_words(raised['to'])} on "
            f"{ctx.when(datetime.fromisoformat(raised['at']))}: the policy says to use escalation when an "
            f"issue's priority is greater than first thought, so escalation can be requested now."
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
            data=data,
        )
    ]


def escalate(ctx: Context) -> list[Action]:
    """Step 2: an update was asked for and the vendor stayed silent; request escalation."""
    rule = ctx.config.actions.escalate
    p = ctx.clocks.period
    if not rule.enabled or p is None or p.update_requested is None or p.escalation_requested:
        return []
    due, threshold = ctx.after(p.update_requested, getattr(rule, ctx.priority), owner=True)
    to, cc, note = ctx.route.owner_or_pm()
    feedback_used = any(e.kind == "in_case_feedback" for e in ctx.events)
    reason = (
        f"An update on case {ctx.number}{ctx.title()} was requested on {ctx.when(p.update_requested)} "
        f"and Ex Libris has not responded in {threshold} ({_priority_words(ctx)}). The policy suggests "
        f"requesting escalation and adding the {ctx.route.area} PM to the case contacts."
    )
    data: dict[str, Any] = {"pm_contacts": list(ctx.route.pms), "suggest_feedback": not feedback_used}
    raised = priority_raised(ctx)
    if raised:
        data["priority_raised"] = raised
        reason += (
            f" Its priority was raised from {_words(raised['from'])} to {_words(raised['to'])} on "
            f"{ctx.when(datetime.fromisoformat(raised['at']))}."
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
            data=data,
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
        # Everything was tried: still the threshold, after the last of the three ("unable to get
        # an update *after* submitting a comment, in-case feedback, and an escalation request").
        tried = max(t for t in (p.update_requested, p.feedback, p.escalation_requested, p.waiting_from) if t)
        if tried > since:
            due, threshold = ctx.after(tried, getattr(rule, ctx.priority))
            since, what = tried, "comment, in-case feedback and escalation all tried"
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
    """A high or system-down case without significant progress for over a month."""
    rule = ctx.config.actions.pm_stalled_high
    c = ctx.clocks
    if not rule.enabled or c.turn != "vendor":
        return []
    severe = since_in(c.priorities, rule.priorities)
    if severe is None:
        return []
    progress = last_progress(ctx)
    if progress is None:
        return []
    since, what = progress
    if severe > since:
        since, what = severe, f"the case became {ctx.priority.replace('_', '-')} priority"
    threshold = duration(rule.after)
    due = ctx.calendar.add(since, threshold)
    to, cc, note = ctx.route.pm_cc_owner()
    reason = (
        f"Case {ctx.number}{ctx.title()} ({_priority_words(ctx)}) has had no significant progress from "
        f"Ex Libris since {ctx.when(since)} ({what}), over {threshold}: the policy asks the "
        f"{ctx.route.area} PM to step in."
    )
    return [
        Action(
            "pm_stalled_high",
            ctx.number,
            to,
            due,
            _join(reason, note),
            f"pm_stalled_high:{ctx.number}:{iso(since)}",
            cc=cc,
            area=ctx.route.area,
            basis=Basis("no significant progress", since, what, str(threshold)),
        )
    ]


def last_progress(ctx: Context) -> tuple[datetime, str] | None:
    """When the case last made significant progress, and what it was (else its opening).

    Progress is a vendor status change to a status other than a pending-customer one, or a
    vendor comment that is not boilerplate. Acknowledgements, a vendor mail whose news is a
    priority change only, and comments matching ``[actions.pm_stalled_high] no_progress`` are not.
    """
    no_progress = _pattern(ctx.config.actions.pm_stalled_high.no_progress)
    priority_mail = {_mail_of(e) for e in ctx.events if e.kind == "priority_changed" and e.actor == "vendor"}
    found: tuple[datetime, str] | None = None
    for e in ctx.events:
        if e.data.get("newsletter"):
            continue
        if e.kind == "case_opened" and found is None:
            found = (e.at, "the case opened")
        if e.actor != "vendor":
            continue
        if e.kind in ("status_changed", "case_closed", "case_reopened"):
            if e.data.get("state") == "pending_customer":
                continue
            found = (e.at, "the vendor's status change" if e.kind == "status_changed" else _PROGRESS[e.kind])
        elif e.kind == "vendor_comment":
            if _mail_of(e) in priority_mail:
                continue  # a priority-change notice (a status change in it is an event of its own)
            text = " ".join(str(t) for t in (e.summary, e.data.get("text", "")) if t)
            if no_progress.search(text):
                continue
            found = (e.at, "the vendor's comment")
    return found


_PROGRESS = {"case_closed": "the vendor's closing of the case", "case_reopened": "the case reopening"}


def _mail_of(e: Event) -> str:
    """What identifies the mail an event came from (events of one mail share it)."""
    return e.message_id or iso(e.at)


def customer_turn(ctx: Context) -> list[Action]:
    """The case waits for us (pending customer): remind the owner before the vendor closes it."""
    rule = ctx.config.actions.customer_turn
    since = ctx.clocks.pending_since
    if not rule.enabled or since is None:
        return []
    to, cc, note = ctx.route.owner_or_pm()
    steps = sorted(
        ((ctx.owners.add(since, duration(t)), duration(t)) for t in rule.after), key=lambda s: s[0]
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
    due, threshold = ctx.after(closed, rule.after, owner=True)
    if ctx.now > ctx.owners.add(due, duration(rule.window)):
        return []  # too late to be of use
    to, cc, note = ctx.route.owner_or_pm()
    disputed = _disputed(ctx, closed)
    data: dict[str, Any] = {}
    if disputed is not None:
        data = {"disputed": True, "disputed_at": iso(disputed.at), "disputed_by": disputed.summary}
        reason = (
            f"Case {ctx.number}{ctx.title()} was closed on {ctx.when(closed)}, but on "
            f"{ctx.when(disputed.at)} a member wrote on it that the problem is still there "
            f'("{disputed.summary}"). Rather than the survey: ask Ex Libris to reopen the case (reply to '
            f"the closing notification or comment in the case), or open a new case citing {ctx.number}."
        )
    else:
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
            data=data,
        )
    ]


def _disputed(ctx: Context, closed: datetime) -> Event | None:
    """A member's mail on the case after it closed saying the problem is still there."""
    still = _pattern(ctx.config.actions.survey.still_there)
    for e in ctx.events:
        if e.at < closed or e.actor not in ("member", "pm") or e.kind not in _MEMBER_WORDS:
            continue
        text = " ".join(str(t) for t in (e.summary, e.data.get("text", "")) if t)
        if still.search(text):
            return e
    return None


_MEMBER_WORDS = frozenset({"member_comment", "update_requested", "escalation_requested", "in_case_feedback"})


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
    due, threshold = ctx.after(start, rule.after, owner=True)
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
    if ctx.now > ctx.owners.add(due, duration(rule.window)):
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


# --------------------------------------------------------------------------- rules added later

#: The ladder's reminders to the owner; one unanswered makes ``owner_inactive`` due.
LADDER_REMINDERS = ("request_update", "escalate")
_RANK = {"system_down": 0, "high": 1, "normal": 2, "low": 3}


def _words(priority: str) -> str:
    return {"system_down": "System/Component Down", "high": "high", "normal": "normal", "low": "low"}.get(
        priority, priority
    )


def priority_raised(ctx: Context) -> dict[str, str] | None:
    """The case's latest rise in priority when no ladder reminder has been sent since (what the
    owner's next ladder reminder must say): ``{"from", "to", "at"}``; None otherwise."""
    history = ctx.clocks.priorities
    rise: tuple[datetime, str, str] | None = None
    for (_, before), (at, after) in pairwise(history):
        if _RANK.get(after, 2) < _RANK.get(before, 2):
            rise = (at, before, after)
        elif rise is not None and _RANK.get(after, 2) >= _RANK.get(rise[1], 2):
            rise = None  # lowered back: nothing greater than first thought any more
    if rise is None:
        return None
    if any(
        e.kind == "reminder_sent" and e.data.get("action") in LADDER_REMINDERS and e.at >= rise[0]
        for e in ctx.events
    ):
        return None
    return {"from": rise[1], "to": rise[2], "at": iso(rise[0])}


def pm_escalation(ctx: Context) -> list[Action]:
    """An escalation was requested (in the case, or by an "escalated" reply): an FYI to the PM."""
    rule = ctx.config.actions.pm_escalation
    p = ctx.clocks.period
    if not rule.enabled or p is None or p.escalation_requested is None:
        return []
    at = p.escalation_requested
    by = next((e for e in ctx.events if e.kind == "escalation_requested" and e.at == at), None)
    if by is not None and by.actor == "pm":
        return []  # the PM escalated: they know
    to, cc, note = ctx.route.pm_cc_owner()
    around = ctx.around_the_clock
    silent = ctx.calendar.describe_elapsed(ctx.calendar.elapsed(p.since, at, True, around), True, around)
    tried = [
        f"{what} on {ctx.when(when_)}"
        for what, when_ in (("an update was requested", p.update_requested), ("in-case feedback", p.feedback))
        if when_ is not None and when_ <= at
    ]
    reason = (
        f"Escalation of case {ctx.number}{ctx.title()} ({_priority_words(ctx)}) was requested on "
        f"{ctx.when(at)}. Ex Libris had not responded since {ctx.when(p.since)} ({p.since_what}): "
        f"{silent} of silence. Tried before: {_and(tried) if tried else 'nothing else recorded'}. The "
        f"policy asks that the {ctx.route.area} PM be told when a case is escalated; nothing is asked of "
        f"the PM yet."
    )
    return [
        Action(
            "pm_escalation",
            ctx.number,
            to,
            at,
            _join(reason, note),
            f"pm_escalation:{ctx.number}:{iso(p.since)}",
            cc=cc,
            area=ctx.route.area,
            basis=Basis("escalation", at, "the escalation request", "0 hours"),
            data={
                "escalated_at": iso(at),
                "silence_since": iso(p.since),
                "update_requested": iso(p.update_requested) if p.update_requested else "",
                "feedback": iso(p.feedback) if p.feedback else "",
            },
        )
    ]


def owner_inactive(ctx: Context) -> list[Action]:
    """A ladder reminder went unanswered: nobody acted and the vendor stayed silent; tell the PM."""
    rule = ctx.config.actions.owner_inactive
    p = ctx.clocks.period
    if not rule.enabled or p is None:
        return []
    sent = [
        e
        for e in ctx.events
        if e.kind == "reminder_sent" and e.data.get("action") in LADDER_REMINDERS and e.at >= p.since
    ]
    if not sent:
        return []
    reminder = sent[-1]
    acted = any(
        e.at > reminder.at and e.actor in ("member", "pm") and (e.kind in _MEMBER_WORDS or e.kind in _ACTS)
        for e in ctx.events
    )
    if acted:
        return []
    kind = str(reminder.data["action"])
    due, threshold = ctx.after(reminder.at, rule.after, owner=True)
    to, cc, note = ctx.route.pm_cc_owner()
    reason = (
        f"The {kind.replace('_', ' ')} reminder about case {ctx.number}{ctx.title()} went to "
        f"{ctx.case.owner or 'the PM (no owner known)'} on {ctx.when(reminder.at)}; since then nobody "
        f"has acted on the case (no update request, escalation, comment or reply) and Ex Libris has "
        f"stayed silent ({threshold}; silent since {ctx.when(p.since)}, {p.since_what}). The ladder now "
        f"waits on the {ctx.route.area} PM: check with the owner or their colleagues, or act on the case."
    )
    return [
        Action(
            "owner_inactive",
            ctx.number,
            to,
            due,
            _join(reason, note),
            f"owner_inactive:{ctx.number}:{iso(reminder.at)}",
            cc=cc,
            area=ctx.route.area,
            basis=ctx.basis("nobody acted", reminder.at, f"the {kind} reminder", threshold),
            data={"reminder": kind, "reminded_at": iso(reminder.at), "silence_since": iso(p.since)},
        )
    ]


#: Events by which someone acts on a case besides writing in it: reply commands, a handover.
_ACTS = frozenset({"command", "handover"})
#: Vendor events that move a case of record, as the community update names them.
_MOVES = {
    "status_changed": "status changed",
    "case_closed": "closed",
    "case_reopened": "reopened",
    "vendor_comment": "a comment from Ex Libris",
}


def record_update(ctx: Context) -> list[Action]:
    """The case of record changed status, closed or got a vendor comment: tell the PM, so the
    community hears of it."""
    if not ctx.config.actions.record_update.enabled:
        return []
    named = next((e.at for e in ctx.events if e.kind == "case_of_record"), None)
    if named is None:
        return []
    moves: dict[datetime, list[Event]] = {}
    for e in ctx.events:
        if e.at > named and e.actor == "vendor" and e.kind in _MOVES and not e.data.get("newsletter"):
            moves.setdefault(e.at, []).append(e)
    pms, note = ctx.route.pms, ctx.route.pms_why
    actions = []
    for at, events in moves.items():
        said = _and(list(dict.fromkeys(_MOVES[e.kind] for e in events)))
        status = next((str(e.data["status"]) for e in events if e.data.get("status")), "")
        news = "; ".join(dict.fromkeys(e.summary for e in events if e.summary))
        reason = (
            f"Case {ctx.number}{ctx.title()}, the Alliance's case of record since {ctx.when(named)}, moved "
            f"on {ctx.when(at)}: {said}{f' (status: {status})' if status else ''}"
            f"{f' - {news}' if news else ''}. The policy strongly recommends community updates as a case "
            f"of record progresses: tell the affected communities."
        )
        actions.append(
            Action(
                "record_update",
                ctx.number,
                pms,
                at,
                _join(reason, note),
                f"record_update:{ctx.number}:{iso(at)}",
                area=ctx.route.area,
                basis=Basis("case of record", at, said, "0 hours"),
                data={"moves": [e.kind for e in events], "status": status, "record_since": iso(named)},
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
        pm_escalation,
        owner_inactive,
        record_update,
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
