"""The weekly digest of one program manager: what needs them, and how their areas stand (pure).

``read_week(snapshot, period_end, config)`` runs the engine at ``period_end`` (the weekly slot,
e.g. Monday 08:00) and keeps of each case only what the digests read (``Week``), so a streamed
snapshot is never held whole; ``digest(pm, week, config)`` returns one PM's digest as plain
data for the ``digest`` templates. The same inputs give the same digest, so any past period
can be rendered again (``casewatch digest --at``). A PM sees the cases routed to their areas.

Sections (each a list; an empty one is left out of the mail):
``needs_you``    system down, stalled high priority, help requested (pm_assist), with why; each
                 ``new`` (fell due since the last digest) or still open since ``since``. A case a
                 program manager already acted on (replied ``agenda``, ``done``, ``mute`` or
                 ``snooze`` on it, as the engine holds such commands) is left out and listed in
                 ``acted`` instead, with what was done;
``clusters``     widespread problems in the PM's areas, and whether a case of record exists;
                 ``new`` or still open since ``since``;
``support_call`` the next support call: when, the agenda cut-off, whether the agenda went out,
                 the cases on it, every area's (None when none of the PM's cases is on it and
                 the cut-off falls after the next digest);
``coming``       what falls due in the PM's areas before the next digest (the engine's
                 candidates, held as reply commands hold them), soonest first;
``escalations``  escalation requested, the vendor not yet answering;
``auto_close``   pending customer for 21 days or more: the vendor closes after 28 (``closes_on``);
``ladder``       the open cases, most urgent first (at most 40; ``ladder_more`` counts the rest):
                 where each stands on the ladder, and for how long;
``new`` / ``closed``  opened / closed (``closed_at``) during the week;
``response``     vendor response time in business hours: this week, the trailing 12 weeks, and
                 the weekly medians as a trend;
``attainment``   the share of vendor responses within the ``request_update`` thresholds of the
                 case's priority, overall, by area and by institution, this week and over the
                 trailing 12 weeks;
``institutions`` open cases per institution; ``ages``: open cases by age;
``snoozed`` / ``muted``  cases whose reminders are held;
``unread_since`` when the mailbox could not be read (in words; "" when it could): the digest
                 then opens with that, and never calls the week quiet;
``calendar``     the events of the iCalendar file sent with the digest (``daemon.ics.Entry``):
                 the next support calls, their agenda cut-offs, and ``coming``.

``response`` and ``attainment`` are computed in ``daemon.response_times``; ``coming`` and the
calendar's events in ``daemon.digest_calendar`` (``calendar_for`` is re-exported here).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from daemon.config import Config, ProgramManager
from daemon.digest_calendar import WHAT, among, calendar_entries, calendar_for, coming, falling_due
from daemon.model import Action, Event
from daemon.outbound.context import case_dict
from daemon.policy.calendar import BusinessCalendar
from daemon.policy.calls import calls_around, digest_slot
from daemon.policy.clocks import instant
from daemon.policy.engine import Snapshot, agenda_key, candidates, slim
from daemon.policy.rules import Context, when
from daemon.response_times import Answers, attainment, bar, response

__all__ = ["Weekly", "calendar_for", "coming", "digest", "for_pm"]

WEEK = timedelta(days=7)
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
#: Reply commands by which a PM has acted on a case that needs them.
ACTED = ("agenda", "done", "mute", "snooze")


@dataclass(frozen=True)
class _Acted:
    """A PM's reply command that takes a case off "needs you" (for now)."""

    name: str
    at: datetime
    by: str
    until: datetime | None = None  # snooze / mute until; the support call for ``agenda``


def _acted(commands: Sequence[Event], action: Action, now: datetime, config: Config) -> _Acted | None:
    """The last of a PM's ``commands`` on the case (its ``command`` events) that holds ``action``
    at ``now``, else None: ``done`` after it fell due, a ``mute`` or ``snooze`` still running
    (``unmute`` / ``resume`` end them), ``agenda`` until the support call it flagged the case
    for has been held."""
    found: _Acted | None = None
    for e in commands:
        name = e.data.get("command") if e.kind == "command" else None
        if e.actor != "pm" or name not in (*ACTED, "unmute", "resume") or e.at > now:
            continue
        kind = e.data.get("action")
        if kind and kind != action.kind:
            continue
        until = instant(e.data.get("until"))
        by = str(e.data.get("by") or "a program manager")
        if name in ("unmute", "resume"):
            found = None
        elif name == "done" and action.due_at <= e.at:
            found = _Acted("done", e.at, by)
        elif name == "mute" and (until is None or until > now):
            found = _Acted("mute", e.at, by, until)
        elif name == "snooze" and until is not None and until > now:
            found = _Acted("snooze", e.at, by, until)
        elif name == "agenda":
            call = calls_around(e.at, config)[1]
            if call > now:
                found = _Acted("agenda", e.at, by, call)
    return found


@dataclass
class Week:
    """What the digests of the week ending at ``end`` read, whoever the PM (``read_week``): every
    case's context, slim (``slim``, with its whole case and clocks), the candidates, and what the digest
    reads of each case's events, taken as the engine read it: the vendor's answers
    (``Answers``), the PM's reply commands, the first event of the cases with no opening date."""

    end: datetime
    ctxs: list[Context]
    actions: list[Action]
    answers: Answers
    commands: dict[str, tuple[Event, ...]]
    first: dict[str, datetime]
    sent: frozenset[str] = frozenset()
    by_number: dict[str, Context] = field(default_factory=dict)
    by_case: dict[str, list[Action]] = field(default_factory=dict)  # the actions due by ``end``
    upcoming: list[Action] = field(default_factory=list)  # ``coming`` of every case
    cards: dict[str, dict[str, Any]] = field(default_factory=dict)  # each case's card, once made

    def __post_init__(self) -> None:
        self.by_number = {c.number: c for c in self.ctxs}
        for a in self.actions:
            if a.case and a.due_at <= self.end:
                self.by_case.setdefault(a.case, []).append(a)
        self.upcoming = falling_due(self.ctxs, self.actions, self.sent, self.end, self.end + WEEK)


def read_week(snapshot: Snapshot, end: datetime, config: Config) -> Week:
    """The engine's evaluation at ``end``, keeping of each case only what the digests read (a
    streamed snapshot, ``Store.streamed``, is never held whole)."""
    answers = Answers(end, BusinessCalendar.of(config))
    commands: dict[str, tuple[Event, ...]] = {}
    first: dict[str, datetime] = {}

    def keep(ctx: Context) -> Context:
        if ctx.case.source == "vendor":
            answers.add(ctx)
        mine = tuple(e for e in ctx.events if e.kind == "command" and e.actor == "pm")
        if mine:
            commands[ctx.number] = mine
        if ctx.clocks.opened_at is None:
            first[ctx.number] = ctx.events[0].at
        return replace(slim(ctx), case=ctx.case, clocks=ctx.clocks)

    ctxs, actions = candidates(snapshot, end, config, keep=keep)
    return Week(end, ctxs, actions, answers, commands, first, snapshot.sent)


def digest(
    pm: ProgramManager,
    week: Week,
    config: Config,
    unread_since: datetime | None = None,
    snapshot: Snapshot | None = None,
) -> dict[str, Any]:
    """The digest of ``pm`` for ``week`` (``read_week``). ``unread_since``: since when casewatch
    has failed to read the mailbox, as the digest is written (None: it reads it). ``snapshot``:
    what was sent by the week's end (whether the agenda went out; what is no longer coming);
    without it, nothing was."""
    period_end, ctxs, actions = week.end, week.ctxs, week.actions
    calendar = BusinessCalendar.of(config)
    start = period_end - WEEK
    # The last digest: "new" is what fell due after it (a week ago, or a day later after a holiday).
    last_digest = digest_slot(period_end - timedelta(microseconds=1), config)
    horizon = period_end + WEEK
    mine = [c for c in ctxs if c.route.area in pm.areas and c.case.source == "vendor"]
    numbers = {c.number for c in mine}
    mine_by_number = {c.number: c for c in mine}  # a case's context, not a scan of ``mine`` per action

    def card(ctx: Context, **extra: Any) -> dict[str, Any]:
        made = week.cards.get(ctx.number)
        if made is None:  # the same for every PM: made once a week
            made = week.cards[ctx.number] = {**case_dict(ctx.case, config, calendar), "area": ctx.route.area}
        return {**made, **extra}

    by_case = week.by_case
    open_cases = [c for c in mine if c.clocks.state in ("open", "pending_customer")]

    needs_you, acted = [], []
    for ctx in open_cases:
        found = [a for a in by_case.get(ctx.number, []) if a.kind in NEEDS_YOU]
        if not found:
            continue
        first = min(found, key=lambda a: NEEDS_YOU.index(a.kind))
        item = card(
            ctx,
            kind=first.kind,
            why=first.reason,
            since=when(first.due_at, calendar),
            new=first.due_at > last_digest,
            weeks=(period_end - first.due_at) // WEEK,
        )
        did = _acted(week.commands.get(ctx.number, ()), first, period_end, config)
        if did is None:
            needs_you.append(item)
        else:
            until = when(did.until, calendar) if did.until else ""
            acted.append(
                {**item, "did": did.name, "did_at": when(did.at, calendar), "by": did.by, "until": until}
            )
    needs_you.sort(key=lambda c: (NEEDS_YOU.index(c["kind"]), c["number"]))
    acted.sort(key=lambda c: (NEEDS_YOU.index(c["kind"]), c["number"]))

    clusters = []
    for a in actions:
        if a.kind == "widespread" and a.due_at <= period_end and numbers & set(a.cases):
            of = [week.by_number.get(n) for n in a.cases]
            record = [x.number for x in of if x is not None and x.case.case_of_record]
            clusters.append(
                {
                    "cases": list(a.cases),
                    "institutions": list(a.data.get("institutions", [])),
                    "record": record[0] if record else "",
                    "since": when(a.due_at, calendar),
                    "new": a.due_at > last_digest,
                    "weeks": (period_end - a.due_at) // WEEK,
                }
            )

    escalations, auto_close, snoozed, muted = [], [], [], []
    standing: list[tuple[tuple[int, int, str], Context, str, datetime]] = []
    order = {"PM help due": 0, "escalation due": 1, "update request due": 2, "waiting on us": 3}
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
        step, since = _step(ctx, by_case.get(ctx.number, []), period_end)
        standing.append(((order.get(step, 4), -(period_end - since).days, ctx.number), ctx, step, since))
        for command in c.commands:
            if command.at > period_end:
                continue
            if command.name == "snooze" and command.until and command.until > period_end:
                snoozed.append(card(ctx, until=when(command.until, calendar)))
            if command.name == "mute" and not any(
                x.name in ("unmute", "resume") and x.at > command.at for x in c.commands
            ):
                muted.append(card(ctx))
    # Sorted before the cards are made: only the ladder's first LADDER_LIMIT are shown.
    standing.sort(key=lambda row: row[0])
    ladder = []
    for _, ctx, step, since in standing[:LADDER_LIMIT]:
        around = ctx.around_the_clock
        elapsed = calendar.elapsed(since, period_end, True, around)
        silent = calendar.describe_elapsed(elapsed, True, around)
        ladder.append(
            card(ctx, step=step, since=when(since, calendar), silent=silent, days=(period_end - since).days)
        )

    new = [card(c) for c in mine if c.clocks.opened_at and start < c.clocks.opened_at <= period_end]
    closed = [
        card(c, closed_at=when(c.clocks.closed_at, calendar))
        for c in mine
        if c.clocks.closed_at and start < c.clocks.closed_at <= period_end
    ]

    call_section = _support_call(week, numbers, period_end, horizon, snapshot, config, card)
    upcoming = among(week.upcoming, numbers)
    coming_items = [
        {
            "kind": a.kind,
            "what": WHAT.get(a.kind, a.kind.replace("_", " ")),
            "due": when(a.due_at, calendar),
            "cases": [a.case] if a.case else list(a.cases),
            "institution": _institution(mine_by_number.get(a.case or "")),
            "to": _whom(a, pm, mine_by_number),
        }
        for a in upcoming
    ]

    per_inst = Counter(c.case.institution or "unknown" for c in open_cases)
    top_inst = max(per_inst.values(), default=0)
    names = {i.code: i.name or i.code for i in config.institutions}
    institutions = [
        {"code": code, "name": names.get(code, code), "open": n, "bar": bar(n, top_inst)}
        for code, n in sorted(per_inst.items(), key=lambda kv: (-kv[1], kv[0]))
    ]
    ages_count: Counter[str] = Counter()
    for ctx in open_cases:
        age = (period_end - (ctx.clocks.opened_at or week.first[ctx.number])).days
        label = next(lbl for lbl, limit in AGE_BUCKETS if limit is None or age < limit)
        ages_count[label] += 1
    top_age = max(ages_count.values(), default=0)
    ages = [
        {"label": lbl, "count": ages_count[lbl], "bar": bar(ages_count[lbl], top_age)}
        for lbl, _ in AGE_BUCKETS
    ]

    busy = needs_you or clusters or escalations or auto_close or new or closed or snoozed or muted
    late = any(row[2] != "vendor's turn, on time" for row in standing)
    return {
        "pm": {"name": pm.name, "email": pm.email, "areas": list(pm.areas)},
        "period": {
            "start": when(start, calendar),
            "end": when(period_end, calendar),
            "at": period_end.isoformat(),
        },
        "open_count": len(open_cases),
        "unread_since": when(unread_since, calendar) if unread_since else "",
        "quiet": not (unread_since or busy or late),
        "needs_you": needs_you,
        "acted": acted,
        "clusters": clusters,
        "support_call": call_section,
        "coming": coming_items,
        "escalations": escalations,
        "auto_close": auto_close,
        "ladder": ladder,
        "ladder_more": max(0, len(standing) - LADDER_LIMIT),
        "new": new,
        "closed": closed,
        "response": response(week.answers, pm.areas),
        "attainment": attainment(week.answers, pm.areas, config),
        "institutions": institutions,
        "ages": ages if open_cases else [],
        "snoozed": snoozed,
        "muted": muted,
        "calendar": calendar_entries(week.by_number, actions, upcoming, period_end, config),
    }


def _step(ctx: Context, due: Sequence[Action], end: datetime) -> tuple[str, datetime]:
    """Where an open case stands on the ladder at ``end`` (``due``: its actions due by then), and
    since when."""
    c = ctx.clocks
    steps = [a.kind for a in due if a.kind in LADDER_STEPS]
    since = c.period.since if c.period else end
    if c.turn == "customer" and c.pending_since:
        return "waiting on us", c.pending_since
    if steps:
        return LADDER_STEPS[max(steps, key=list(LADDER_STEPS).index)], since
    if c.period and c.period.escalation_requested:
        return "escalated, waiting for the vendor", since
    if c.period and c.period.update_requested:
        return "update requested, waiting for the vendor", since
    return "vendor's turn, on time", since


def _institution(ctx: Context | None) -> str:
    return (ctx.case.institution or "") if ctx is not None else ""


def _whom(action: Action, pm: ProgramManager, mine: Mapping[str, Context]) -> str:
    """To whom the action goes, in a few words: "you", "the owner", or the addresses."""
    to = [t.lower() for t in action.to]
    if pm.email.lower() in to:
        return "you"
    ctx = mine.get(action.case or "")
    owner = ctx.case.owner if ctx is not None else None
    if owner and to == [owner.lower()]:
        return "the owner"
    return ", ".join(action.to) or "nobody"


def _support_call(
    week: Week,
    mine_numbers: Collection[str],
    now: datetime,
    horizon: datetime,
    snapshot: Snapshot | None,
    config: Config,
    card: Any,
) -> dict[str, Any] | None:
    """The next support call: when, the agenda cut-off, whether the agenda went out, the cases
    on it (flagged by the cut-off, then those flagged later, for the coordinator; ``yours``: of
    the PM's areas). None when no case of the PM's areas is on it and its cut-off comes after
    ``horizon``."""
    calendar = BusinessCalendar.of(config)
    call = calls_around(now, config)[1]
    agenda = next((a for a in week.actions if a.kind == "agenda"), None)
    cutoff = agenda.due_at if agenda else calendar.subtract(call, config.actions.agenda.before)
    by_number = week.by_number
    listed = list(agenda.cases) if agenda else []
    late = sorted(
        a.case
        for a in week.actions
        if a.kind == "coordinator_contact" and a.case and a.data.get("call_at") == call.isoformat()
    )
    flagged_late = set(late)
    cases = [
        card(by_number[n], late=n in flagged_late, yours=n in mine_numbers)
        for n in dict.fromkeys([*listed, *late])
        if n in by_number
    ]
    if cutoff > horizon and not any(c["yours"] for c in cases):
        return None
    if not config.actions.agenda.enabled:
        status = "off"
    elif snapshot is not None and snapshot.mailed(agenda_key(call)):
        status = "sent"
    elif cutoff > now:
        status = "due"
    else:
        status = "not sent"
    return {
        "at": when(call, calendar),
        "cutoff": when(cutoff, calendar),
        "agenda": status,
        "cases": cases,
    }


class Weekly:
    """The digests of one snapshot: the engine runs once per week's end, however many PMs, and
    keeps of each case only what the digests read (``read_week``)."""

    def __init__(self, snapshot: Snapshot, config: Config, unread_since: datetime | None = None) -> None:
        self.snapshot, self.config, self.unread_since = snapshot, config, unread_since
        self._weeks: dict[datetime, Week] = {}

    def for_pm(self, pm: ProgramManager, period_end: datetime) -> dict[str, Any]:
        """The digest of ``pm`` for the week ending at ``period_end``."""
        if period_end not in self._weeks:
            self._weeks[period_end] = read_week(self.snapshot, period_end, self.config)
        return digest(pm, self._weeks[period_end], self.config, self.unread_since, self.snapshot)


def for_pm(pm: ProgramManager, snapshot: Snapshot, period_end: datetime, config: Config) -> dict[str, Any]:
    """The digest of ``pm`` for the week ending at ``period_end``, from the store's snapshot."""
    return Weekly(snapshot, config).for_pm(pm, period_end)
