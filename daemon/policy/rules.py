"""The rules about one case: each a small named function of a ``Context`` (pure); ``CASE_RULES``
lists them all, the ladder's (``daemon.policy.ladder``) too.

A rule returns every action its case is heading for, due or not yet due; the
engine keeps those due and not yet sent. Keys name the period an action belongs
to (the start of a silence, a pending stretch, an opening, a closing), so an
action can fall due once per period and never again on its own.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from daemon.config import CHECKLIST, Config
from daemon.model import Action, Basis, Case, Event, MessageKind, message_kind
from daemon.policy.clocks import since_in

# The ladder, and what every rule shares, live in modules of their own; their public names are
# re-exported here for the rules' callers (``from daemon.policy.rules import Context, when``).
from daemon.policy.context import MEMBER_WORDS, joined, listed, pattern, priority_words, sentence
from daemon.policy.context import Context as Context  # noqa: PLC0414
from daemon.policy.context import iso as iso  # noqa: PLC0414
from daemon.policy.context import key as key  # noqa: PLC0414
from daemon.policy.context import when as when  # noqa: PLC0414
from daemon.policy.ladder import LADDER_REMINDERS as LADDER_REMINDERS  # noqa: PLC0414
from daemon.policy.ladder import escalate as escalate  # noqa: PLC0414
from daemon.policy.ladder import owner_inactive as owner_inactive  # noqa: PLC0414
from daemon.policy.ladder import pm_assist as pm_assist  # noqa: PLC0414
from daemon.policy.ladder import pm_escalation as pm_escalation  # noqa: PLC0414
from daemon.policy.ladder import priority_raised as priority_raised  # noqa: PLC0414
from daemon.policy.ladder import request_update as request_update  # noqa: PLC0414

# Durations live in the leaf daemon.timeparts (re-exported likewise).
from daemon.timeparts import Duration as Duration  # noqa: PLC0414
from daemon.timeparts import duration as duration  # noqa: PLC0414

# --------------------------------------------------------------------------- the rules besides the ladder


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
            joined(reason, sentence(ctx.route.area_why), note),
            key("pm_system_down", ctx.number, since),
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
    threshold = rule.after
    due = ctx.calendar.add(since, threshold)
    to, cc, note = ctx.route.pm_cc_owner()
    reason = (
        f"Case {ctx.number}{ctx.title()} ({priority_words(ctx)}) has had no significant progress from "
        f"Ex Libris since {ctx.when(since)} ({what}), over {threshold}: the policy asks the "
        f"{ctx.route.area} PM to step in."
    )
    return [
        Action(
            "pm_stalled_high",
            ctx.number,
            to,
            due,
            joined(reason, note),
            key("pm_stalled_high", ctx.number, since),
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
    no_progress = pattern(ctx.config.actions.pm_stalled_high.no_progress)
    events = ctx.events
    priority_mail = {_mail_of(e) for e in events if e.kind == "priority_changed" and e.actor == "vendor"}
    # The latest progress wins: read from the end, the first found is it (most cases make some
    # progress lately, so the older comments need no matching).
    for e in reversed(events):
        if e.actor != "vendor" or e.data.get("newsletter"):
            continue
        if e.kind in ("status_changed", "case_closed", "case_reopened"):
            if e.data.get("state") == "pending_customer":
                continue
            return e.at, "the vendor's status change" if e.kind == "status_changed" else _PROGRESS[e.kind]
        if e.kind == "vendor_comment":
            if _mail_of(e) in priority_mail:
                continue  # a priority-change notice (a status change in it is an event of its own)
            text = " ".join(str(t) for t in (e.summary, e.data.get("text", "")) if t)
            if no_progress.search(text):
                continue
            return e.at, "the vendor's comment"
    # No progress at all: since the opening.
    opening = next((e for e in events if e.kind == "case_opened" and not e.data.get("newsletter")), None)
    return (opening.at, "the case opened") if opening is not None else None


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
    steps = sorted(((ctx.owners.add(since, t), t) for t in rule.after), key=lambda s: s[0])
    actions: list[Action] = []
    for due, threshold in steps:
        step_key = key("customer_turn", ctx.number, since, threshold)
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
                joined(reason, note),
                step_key,
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
    if ctx.now > ctx.owners.add(due, rule.window):
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
            joined(reason, note),
            key("survey", ctx.number, closed),
            cc=cc,
            area=ctx.route.area,
            basis=ctx.basis("since closing", closed, "the case closing", threshold),
            data=data,
        )
    ]


def _disputed(ctx: Context, closed: datetime) -> Event | None:
    """A member's mail on the case after it closed saying the problem is still there."""
    still = pattern(ctx.config.actions.survey.still_there)
    for e in ctx.events:
        if e.at < closed or e.actor not in ("member", "pm") or e.kind not in MEMBER_WORDS:
            continue
        text = " ".join(str(t) for t in (e.summary, e.data.get("text", "")) if t)
        if still.search(text):
            return e
    return None


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
        f"Case {ctx.number}{ctx.title()} ({priority_words(ctx)}) has not been mentioned on any list "
        f"since {ctx.when(start)} ({what}). The policy suggests a brief summary with the case number on "
        f"the Alliance list for {ctx.route.area}."
    )
    return [
        Action(
            "share_on_list",
            ctx.number,
            to,
            due,
            joined(reason, note),
            key("share_on_list", ctx.number, start),
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


def checklist_gaps(case: Case, config: Config) -> list[str]:
    """The checklist items a case's description and fields lack (names from ``CHECKLIST``)."""
    rule = config.actions.description_gaps
    text = case.description or ""
    missing = []
    for item in CHECKLIST:
        if item in ("category", "subcategory"):
            present = bool(getattr(case, item))
        else:
            present = pattern(getattr(rule, item)).search(text) is not None
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
    if ctx.now > ctx.owners.add(due, rule.window):
        return []  # too late to be of use
    missing = checklist_gaps(ctx.case, ctx.config)
    if not any(m in rule.required for m in missing):
        return []
    to, cc, note = ctx.route.owner_or_pm()
    reason = (
        f"The description of case {ctx.number}{ctx.title()} lacks "
        f"{listed([_LABELS[m] for m in missing])}. Adding them helps the analyst understand it sooner."
    )
    return [
        Action(
            "description_gaps",
            ctx.number,
            to,
            due,
            joined(reason, note),
            key("description_gaps", ctx.number, start),
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
                key("handover", ctx.number, e.at, successor),
                area=ctx.route.area,
                basis=Basis("handover", e.at, "the handover command", "0 hours"),
                data={"successor": successor, "previous_owner": previous},
            )
        )
    return actions


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
        said = listed(list(dict.fromkeys(_MOVES[e.kind] for e in events)))
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
                joined(reason, note),
                key("record_update", ctx.number, at),
                area=ctx.route.area,
                basis=Basis("case of record", at, said, "0 hours"),
                data={"moves": [e.kind for e in events], "status": status, "record_since": iso(named)},
            )
        )
    return actions


@dataclass(frozen=True)
class Rule:
    kind: MessageKind
    description: str
    evaluate: Callable[[Context], list[Action]]


CASE_RULES: tuple[Rule, ...] = tuple(
    Rule(message_kind(f.__name__), (f.__doc__ or "").strip(), f)
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
