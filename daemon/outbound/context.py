"""What a template sees: the context of one action, built from the action and its case (pure).

Every template (``templates/<kind>.subject.txt``, ``<kind>.txt``, ``<kind>.html``) is rendered
from this context; a name it uses that is not here is an error (``StrictUndefined``). Instants
are strings in the consortium's time zone, e.g. ``"Fri 2026-11-20 10:00 PST"``.

=====================  ===================================================================
``kind``               the action kind, e.g. ``"request_update"``
``consortium``         the consortium's name
``now``                when the message is written
``due_at``             when the action fell due
``reason``             the engine's reason: one paragraph saying what happened and why
``to`` / ``cc``        lists of addresses
``reply_to``           where replies (commands) go
``commands``           the reply commands that apply: ``[{"syntax", "meaning"}]``
``case``               the case (below), or ``None`` (``widespread``, ``agenda``, ``digest``)
``cases``              the cases of a cluster or an agenda: ``[case]`` (else ``[]``)
``area``               the functional area, e.g. ``"fulfillment"``, or ``""``
``pm``                 the area's program managers: ``{"names": [...], "emails": [...]}``
``clock``              ``{"name", "since", "since_what", "threshold", "elapsed"}`` or ``None``
                       (the arithmetic of this action's due time; ``None`` for the agenda)
``silence``            the vendor's current silence: ``{"since", "since_what", "elapsed"}``
                       (elapsed in business time), or ``None`` when it is not the vendor's turn
``tried``              in the current silence: ``{"update_requested", "escalation_requested",
                       "feedback"}``, each a time or ``""``
``timeline``           the case's last events: ``[{"at", "kind", "actor", "summary"}]``
``suggest_feedback``   in-case feedback is unused on the case (it can be used once)
``missing``            the checklist items the description lacks, in words
``successor``          the new owner (``handover``), else ``""``
``previous_owner``     the leaving owner (``handover``), else ``""``
``institutions``       the institution codes of a widespread cluster, else ``[]``
``call_at``            the support call concerned, else ``""``
``coordinator``        the support-call coordinator's address, else ``""``
``escalation_address`` where escalation requests go, else ``""``
``digest``             the weekly digest (``daemon/digest.py``) for ``digest``, else ``None``
``items``              the actions a ``backlog`` summarizes: ``[{"kind", "case", "due_at",
                       "to", "reason"}]``, oldest first (else ``[]``)
``stale_after``        ``[sending] stale_after``, e.g. ``"7 days"``
``signer``             the name a draft is signed with: the one recipient's (the owner's, a
                       PM's), the leaving owner's for ``handover``; ``""`` when unknown
``successor_name``     the new owner's name (``handover``), else ``""``
``previous_owner_name`` the leaving owner's name (``handover``), else ``""``
``cluster``            the cases linked to the action's case or cluster, directly or through
                       others: ``{"cases": [{"number", "institution", "institution_name"}]``
                       (the other cases), ``"institutions"`` (codes, the case's own too),
                       ``"size"`` (how many institutions), ``"record"`` (the case of record's
                       number, or ``""``)``}``, or ``None`` when nothing is linked
``widespread_at``      when a ``widespread`` alert about the cluster was sent, else ``""``
=====================  ===================================================================

A case is ``{"number", "title", "institution", "institution_name", "owner", "owner_name",
"priority" (in words: "System/Component Down", "High", "Normal", "Low", "unknown"), "status",
"state", "opened_at", "last_vendor_response_at", "asset", "category", "subcategory",
"description", "impact", "related", "case_of_record", "record", "ask", "standing"}``; text
fields are ``""`` when unknown. ``owner_name`` is the owner's name as the vendor's Contact field
gives it ("Jane Doe (jdoe@wwu.edu)"); ``impact`` the impact statement of the description (the
sentence after "Impact:", else the first sentence the checklist's impact patterns find), one
line ending with a stop; ``case_of_record`` whether the case is the Alliance's case of record,
``record`` the number of the case of record linked to it (its own when it is one). ``ask`` is
what we ask of the vendor about it, ``standing`` a one-line status (both for the agenda).
Drafts fill in what these hold and keep a bracketed placeholder only where they are empty.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, NotRequired, TypedDict

from markupsafe import Markup

from daemon.config import Config
from daemon.model import Action, Case, Event, EventKind, MessageKind
from daemon.outbound.known import Cluster, cluster_of, impact_of, name_of, names_in, widespread_flagged
from daemon.policy.calendar import BusinessCalendar
from daemon.policy.routing import pms_for
from daemon.policy.rules import Context, when

PRIORITY_WORDS = {
    "system_down": "System/Component Down",
    "high": "High",
    "normal": "Normal",
    "low": "Low",
}
TIMELINE_LENGTH = 12

#: Reply commands (carried out by the reply handler), and the action kinds each applies to.
COMMANDS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("asked", "I asked for an update in the case: start the escalation clock", ("request_update",)),
    ("escalated", "I requested escalation: start the PM clock", ("request_update", "escalate")),
    ("feedback", "I used in-case feedback on the case", ("escalate", "pm_assist")),
    ("snooze 3d", "remind me again in 3 days (any duration: 4h, 2d, 1w)", ("*",)),
    ("done", "this is handled: no more of this reminder for now", ("*",)),
    ("mute", "no more reminders about this case", ("*",)),
    (
        "agenda",
        "put the case on the next support-call agenda",
        ("pm_assist", "pm_stalled_high", "widespread"),
    ),
    (
        "handover someone@example.edu",
        "I am leaving: hand this case to that person",
        ("request_update", "escalate", "customer_turn", "survey"),
    ),
)

MISSING_WORDS = {
    "steps": "steps to reproduce the problem",
    "impact": "a statement of the impact on your work",
    "troubleshooting": "what you have tried and what happened",
    "who_else": "who else can replicate it",
    "related_cases": "related case numbers",
    "category": "the Category field",
    "subcategory": "the Subcategory field",
}


class Command(TypedDict):
    syntax: str
    meaning: str


class CaseContext(TypedDict):
    """A case as the templates see it (see above); ``ask`` and ``standing`` only in ``cases``."""

    number: str
    title: str
    institution: str
    institution_name: str
    owner: str
    owner_name: str
    priority: str
    status: str
    state: str
    opened_at: str
    last_vendor_response_at: str
    asset: str
    category: str
    subcategory: str
    description: str
    impact: str
    related: list[str]
    case_of_record: bool
    record: str
    ask: NotRequired[str]
    standing: NotRequired[str]


class ClusterCase(TypedDict):
    number: str
    institution: str
    institution_name: str


class ClusterContext(TypedDict):
    cases: list[ClusterCase]
    institutions: list[str]
    size: int
    record: str


class PmContext(TypedDict):
    names: list[str]
    emails: list[str]


class ClockContext(TypedDict):
    name: str
    since: str
    since_what: str
    threshold: str
    elapsed: str


class SilenceContext(TypedDict):
    since: str
    since_what: str
    elapsed: str


class TimelineEntry(TypedDict):
    at: str
    kind: EventKind
    actor: str
    summary: str


class ActionContext(TypedDict):
    """The context of one action's templates: every key is always there (the table above).
    ``digest`` is ``Weekly.for_pm``'s value; ``items`` are a backlog's actions as it stores them."""

    kind: MessageKind
    consortium: str
    now: str
    due_at: str
    reason: str
    to: list[str]
    cc: list[str]
    reply_to: str
    commands: list[Command]
    case: CaseContext | None
    cases: list[CaseContext]
    area: str
    pm: PmContext
    clock: ClockContext | None
    silence: SilenceContext | None
    tried: dict[str, str]
    timeline: list[TimelineEntry]
    suggest_feedback: bool
    missing: list[str]
    successor: str
    previous_owner: str
    institutions: list[str]
    call_at: str
    coordinator: str
    escalation_address: str
    digest: dict[str, Any] | None
    items: list[dict[str, Any]]
    stale_after: str
    signer: str
    successor_name: str
    previous_owner_name: str
    cluster: ClusterContext | None
    widespread_at: str


class Part(TypedDict):
    """One action's part of a message, as ``mail.txt`` and ``mail.html`` see it."""

    kind: MessageKind
    subject: str
    text: str
    html: Markup


class MailContext(TypedDict):
    """The context of the ``mail.*`` wrappers."""

    parts: list[Part]
    consortium: str
    reply_to: str
    now: str
    commands: list[Command]
    subject: str


class ReplyContext(TypedDict):
    """The context of ``reply.*``: the answer to a reply of commands."""

    consortium: str
    done: list[str]
    problems: list[str]
    help: bool
    commands: list[Command]
    reply_to: str
    cases: list[str]
    headline: str
    sender: str
    copied: list[str]
    outsider: bool
    refused: bool


@dataclass(frozen=True)
class CaseView:
    """What the context needs of one case: the case, its events, the rules' context when known."""

    case: Case
    events: tuple[Event, ...] = ()
    rules: Context | None = None


def commands_for(kinds: Sequence[str], about_a_case: bool = True) -> list[Command]:
    """The commands that apply; the ones for any reminder only when the mail is about one case."""
    return [
        {"syntax": syntax, "meaning": meaning}
        for syntax, meaning, applies in COMMANDS
        if ("*" in applies and about_a_case) or any(k in applies for k in kinds)
    ]


def institution_name(case: Case, config: Config) -> str:
    inst = next((i for i in config.institutions if i.code == case.institution), None)
    return (inst.name if inst and inst.name else case.institution) or ""


def case_dict(
    case: Case,
    config: Config,
    calendar: BusinessCalendar,
    names: Mapping[str, str] | None = None,
    record: str = "",
) -> CaseContext:
    def at(value: datetime | None) -> str:
        return when(value, calendar) if value else ""

    return {
        "number": case.number,
        "title": case.title or "",
        "institution": case.institution or "",
        "institution_name": institution_name(case, config),
        "owner": case.owner or "",
        "owner_name": name_of(case.owner or "", names or {}),
        "priority": PRIORITY_WORDS.get(case.priority or "", "unknown"),
        "status": case.status or "",
        "state": case.state,
        "opened_at": at(case.opened_at),
        "last_vendor_response_at": at(case.last_vendor_response_at),
        "asset": case.asset or "",
        "category": case.category or "",
        "subcategory": case.subcategory or "",
        "description": case.description or "",
        "impact": impact_of(case.description or "", config.actions.description_gaps.impact),
        "related": list(case.related),
        "case_of_record": case.case_of_record,
        "record": case.number if case.case_of_record else record,
    }


def cluster_dict(cluster: Cluster, config: Config) -> ClusterContext | None:
    """The ``cluster`` of the context (the first case of ``cluster`` is the action's own)."""
    if len(cluster.cases) < 2:
        return None
    return {
        "cases": [
            {
                "number": c.number,
                "institution": c.institution or "",
                "institution_name": institution_name(c, config),
            }
            for c in cluster.cases[1:]
        ],
        "institutions": list(cluster.institutions),
        "size": len(cluster.institutions),
        "record": cluster.record,
    }


def signer_of(action: Action, names: Mapping[str, str]) -> str:
    """Who signs the action's draft: the leaving owner of a handover, else its one recipient."""
    if action.kind == "handover":
        return name_of(str(action.data.get("previous_owner", "")), names)
    return name_of(action.to[0], names) if len(action.to) == 1 else ""


def ask_of(rules: Context) -> str:
    """What we ask of the vendor about a case, in a few words (for the support-call agenda)."""
    c = rules.clocks
    calendar = rules.calendar
    if c.turn == "customer":
        return "nothing yet: Ex Libris is waiting for our answer"
    if c.period and c.period.escalation_requested:
        return f"a response to our escalation of {when(c.period.escalation_requested, calendar)}"
    if c.period and c.period.update_requested:
        return f"a response to our update request of {when(c.period.update_requested, calendar)}"
    if rules.case.priority in ("system_down", "high"):
        return "significant progress: a fix, or a date for one"
    return "a status update and a timeline"


def standing_of(rules: Context) -> str:
    """One line: where the case stands."""
    c = rules.clocks
    words = PRIORITY_WORDS.get(rules.case.priority or "", "unknown")
    status = rules.case.status or rules.case.state.replace("_", " ")
    if c.turn == "vendor" and c.period:
        elapsed = rules.calendar.working_time(c.period.since, rules.now)
        silent = rules.calendar.describe_elapsed(elapsed, True, False)
        return f"{status}; {words} priority; no vendor response for {silent} ({c.period.since_what})"
    return f"{status}; {words} priority"


def build(
    action: Action,
    view: CaseView | None,
    members: Sequence[CaseView],
    now: datetime,
    reply_to: str,
    config: Config,
    digest: dict[str, Any] | None = None,
    views: Mapping[str, CaseView] | None = None,
) -> ActionContext:
    """The context of one action's templates; ``views`` (every case, by number) lets it name the
    linked cases and the case of record of the action's case."""
    calendar = BusinessCalendar.of(config)
    known = {**(views or {}), **{m.case.number: m for m in members}}
    if view is not None:
        known[view.case.number] = view

    def lookup(number: str) -> Case | None:
        found = known.get(number)
        return found.case if found else None

    if view is not None:
        cluster: Cluster | None = cluster_of(view.case, lookup)
    elif action.kind == "widespread" and members:  # the cluster's cases, the first one first
        first = members[0].case
        cluster = cluster_of(replace(first, related=tuple(m.case.number for m in members[1:])), lookup)
    else:
        cluster = None
    involved = [view, *members, *(known.get(c.number) for c in (cluster.cases if cluster else ()))]
    events = [v.events for v in {id(v): v for v in involved if v is not None}.values()]
    people = names_in((e for evs in events for e in evs), config)
    record = cluster.record if cluster else ""
    flagged = widespread_flagged(events) if cluster else None
    area = action.area or ""
    pm_emails = pms_for(area, config)[0] if area else ()
    if action.kind == "digest":
        pm_emails = action.to
    names = [pm.name for pm in config.program_managers if pm.email in pm_emails]
    clock: ClockContext | None = None
    if action.basis is not None and not action.basis.before:
        b = action.basis
        elapsed = calendar.elapsed(b.since, now, b.business, b.around_the_clock)
        clock = {
            "name": b.clock,
            "since": when(b.since, calendar),
            "since_what": b.since_what,
            "threshold": b.threshold,
            "elapsed": calendar.describe_elapsed(elapsed, b.business, b.around_the_clock),
        }
    tried = {"update_requested": "", "escalation_requested": "", "feedback": ""}
    silence: SilenceContext | None = None
    if view is not None and view.rules is not None and view.rules.clocks.period is not None:
        p = view.rules.clocks.period
        around = view.rules.around_the_clock
        silence = {
            "since": when(p.since, calendar),
            "since_what": p.since_what,
            "elapsed": calendar.describe_elapsed(calendar.elapsed(p.since, now, True, around), True, around),
        }
        for name, value in (
            ("update_requested", p.update_requested),
            ("escalation_requested", p.escalation_requested),
            ("feedback", p.feedback),
        ):
            tried[name] = when(value, calendar) if value else ""
    timeline: list[TimelineEntry] = [
        {"at": when(e.at, calendar), "kind": e.kind, "actor": e.actor, "summary": e.summary}
        for e in (view.events[-TIMELINE_LENGTH:] if view else ())
    ]
    data = action.data
    call_at = data.get("call_at")
    return {
        "kind": action.kind,
        "consortium": config.consortium.name,
        "now": when(now, calendar),
        "due_at": when(action.due_at, calendar),
        "reason": action.reason,
        "to": list(action.to),
        "cc": list(action.cc),
        "reply_to": reply_to,
        "commands": commands_for([action.kind], about_a_case=action.case is not None),
        "case": case_dict(view.case, config, calendar, people, record) if view else None,
        "cases": [
            {
                **case_dict(m.case, config, calendar, people, record or cluster_of(m.case, lookup).record),
                "ask": ask_of(m.rules) if m.rules else "",
                "standing": standing_of(m.rules) if m.rules else "",
            }
            for m in members
        ],
        "area": area,
        "pm": {"names": names, "emails": list(pm_emails)},
        "clock": clock,
        "silence": silence,
        "tried": tried,
        "timeline": timeline,
        "suggest_feedback": bool(data.get("suggest_feedback", False)),
        "missing": [MISSING_WORDS.get(m, m) for m in data.get("missing", [])],
        "successor": str(data.get("successor", "")),
        "previous_owner": str(data.get("previous_owner", "")),
        "institutions": list(data.get("institutions", [])),
        "call_at": when(datetime.fromisoformat(call_at), calendar) if isinstance(call_at, str) else "",
        "coordinator": config.support_call.coordinator,
        "escalation_address": config.vendor.escalation_address,
        "digest": digest,
        "items": [
            {**item, "due_at": when(datetime.fromisoformat(item["due_at"]), calendar)}
            for item in data.get("items", [])
        ],
        "stale_after": config.sending.stale_after.as_written,
        "signer": signer_of(action, people),
        "successor_name": name_of(str(data.get("successor", "")), people),
        "previous_owner_name": name_of(str(data.get("previous_owner", "")), people),
        "cluster": cluster_dict(cluster, config) if cluster else None,
        "widespread_at": when(flagged, calendar) if flagged else "",
    }
