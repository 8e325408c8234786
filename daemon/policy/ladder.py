"""The ladder: what a vendor's silence on one case calls for, step by step (pure).

Request an update, then escalation, then the PM's help (``request_update``, ``escalate``,
``pm_assist``); beside them the PM's notice of an escalation (``pm_escalation``) and the PM's
turn when the owner let a ladder reminder go unanswered (``owner_inactive``). Each rule is a
function of a ``Context``, as in ``daemon.policy.rules``, which lists them in ``CASE_RULES``.
"""

from __future__ import annotations

from datetime import datetime
from itertools import pairwise
from typing import Any

from daemon.model import Action, Basis
from daemon.policy.context import (
    MEMBER_WORDS,
    Context,
    iso,
    joined,
    key,
    listed,
    priority_words,
    sentence,
)

#: The ladder's reminders to the owner; one unanswered makes ``owner_inactive`` due.
LADDER_REMINDERS = ("request_update", "escalate")

#: Events by which someone acts on a case besides writing in it: reply commands, a handover.
_ACTS = frozenset({"command", "handover"})

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


def _raised_words(ctx: Context, raised: dict[str, str]) -> str:
    """``Its priority was raised from high to system-down on ...`` (of ``priority_raised``)."""
    return (
        f"Its priority was raised from {_words(raised['from'])} to {_words(raised['to'])} on "
        f"{ctx.when(datetime.fromisoformat(raised['at']))}"
    )


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
        f"{ctx.when(p.waiting_from)} ({p.waiting_what}). After {threshold} ({priority_words(ctx)}) "
        f"the policy suggests asking for an update in the case comments."
    )
    raised = priority_raised(ctx)
    data: dict[str, Any] = {}
    if raised:
        data = {"priority_raised": raised, "offer_escalation": True, "pm_contacts": list(ctx.route.pms)}
        reason += (
            f" {_raised_words(ctx, raised)}: the policy says to use escalation when an "
            f"issue's priority is greater than first thought, so escalation can be requested now."
        )
    return [
        Action(
            "request_update",
            ctx.number,
            to,
            due,
            joined(reason, note),
            key("request_update", ctx.number, p.since),
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
        f"and Ex Libris has not responded in {threshold} ({priority_words(ctx)}). The policy suggests "
        f"requesting escalation and adding the {ctx.route.area} PM to the case contacts."
    )
    data: dict[str, Any] = {"pm_contacts": list(ctx.route.pms), "suggest_feedback": not feedback_used}
    raised = priority_raised(ctx)
    if raised:
        data["priority_raised"] = raised
        reason += f" {_raised_words(ctx, raised)}."
    return [
        Action(
            "escalate",
            ctx.number,
            to,
            due,
            joined(reason, note),
            key("escalate", ctx.number, p.since),
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
        f"{ctx.case.owner or '(unknown)'} needs the {ctx.route.area} PM's help ({priority_words(ctx)})."
    )
    return [
        Action(
            "pm_assist",
            ctx.number,
            to,
            due,
            joined(reason, sentence(ctx.route.area_why), note),
            key("pm_assist", ctx.number, p.since),
            cc=cc,
            area=ctx.route.area,
            basis=ctx.basis("vendor owes us", since, what, threshold),
        )
    ]


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
        f"Escalation of case {ctx.number}{ctx.title()} ({priority_words(ctx)}) was requested on "
        f"{ctx.when(at)}. Ex Libris had not responded since {ctx.when(p.since)} ({p.since_what}): "
        f"{silent} of silence. Tried before: {listed(tried) if tried else 'nothing else recorded'}. The "
        f"policy asks that the {ctx.route.area} PM be told when a case is escalated; nothing is asked of "
        f"the PM yet."
    )
    return [
        Action(
            "pm_escalation",
            ctx.number,
            to,
            at,
            joined(reason, note),
            key("pm_escalation", ctx.number, p.since),
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
        e.at > reminder.at and e.actor in ("member", "pm") and (e.kind in MEMBER_WORDS or e.kind in _ACTS)
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
            joined(reason, note),
            key("owner_inactive", ctx.number, reminder.at),
            cc=cc,
            area=ctx.route.area,
            basis=ctx.basis("nobody acted", reminder.at, f"the {kind} reminder", threshold),
            data={"reminder": kind, "reminded_at": iso(reminder.at), "silence_since": iso(p.since)},
        )
    ]
