"""What falls due soon, and the events of the iCalendar file sent with the digest (pure).

``coming(...)`` lists the candidates falling due before a horizon, as reply commands leave
them; ``calendar_entries(...)`` turns the next support calls, their agenda cut-offs and those
actions into ``daemon.ics.Entry`` values; ``calendar_for(snapshot, now, config, pm)`` is the
calendar file of ``casewatch calendar`` (``daemon.digest`` re-exports it).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta

from daemon.config import Config, ProgramManager
from daemon.ics import Entry
from daemon.model import Action
from daemon.policy.calendar import BusinessCalendar
from daemon.policy.calls import calls_around
from daemon.policy.engine import Snapshot, candidates, due_among
from daemon.policy.rules import Context, when

WEEK = timedelta(days=7)
#: Candidates that are not "something falling due in a case": listed elsewhere or not at all.
NOT_COMING = ("digest", "backlog", "agenda")
CALLS_AHEAD = 3  # support calls in the calendar file
CALL_LENGTH = timedelta(hours=1)  # how long a support call is shown in the calendar file
#: What each action kind is, in a few words (the kinds a rule may add later show as their name).
WHAT = {
    "request_update": "update request due",
    "escalate": "escalation due",
    "pm_assist": "PM help due",
    "pm_system_down": "System/Component Down alert",
    "pm_stalled_high": "stalled high-priority alert",
    "customer_turn": "our answer owed to Ex Libris",
    "survey": "survey reminder",
    "share_on_list": "share on the list",
    "description_gaps": "description gaps",
    "widespread": "widespread problem",
    "coordinator_contact": "contact the coordinator",
    "post_call_followup": "follow-up after the call",
    "handover": "handover",
    "pm_escalation": "escalation requested (FYI)",
    "owner_inactive": "owner did not act",
    "owner_unreachable": "owner unreachable",
    "record_update": "case of record update",
}


def _uid(*parts: str, config: Config) -> str:
    domain = config.outbound.from_address.rpartition("@")[2].lower() or "casewatch.invalid"
    return f"{'-'.join(parts)}@{domain}"


def coming(
    ctxs: Sequence[Context],
    actions: Sequence[Action],
    sent: frozenset[str],
    now: datetime,
    horizon: datetime,
    wanted: Iterable[str] | None = None,
) -> list[Action]:
    """The candidates falling due after ``now`` and by ``horizon``, not sent, as reply commands
    leave them (a snoozed one at its snooze's end), soonest first; only those of the cases
    ``wanted`` (by number), when given."""
    return among(falling_due(ctxs, actions, sent, now, horizon), wanted)


def falling_due(
    ctxs: Sequence[Context], actions: Sequence[Action], sent: frozenset[str], now: datetime, horizon: datetime
) -> list[Action]:
    """``coming`` of every case (what the digests of one week share, whoever the PM)."""
    return [a for a in due_among(ctxs, actions, sent, horizon) if a.due_at > now and a.kind not in NOT_COMING]


def among(actions: Iterable[Action], wanted: Iterable[str] | None) -> list[Action]:
    """Of ``actions``, those of the cases ``wanted`` (by number); all of them without ``wanted``."""
    if wanted is None:
        return list(actions)
    numbers = set(wanted)
    return [a for a in actions if {a.case, *a.cases} & numbers]


def calendar_entries(
    by_number: Mapping[str, Context],
    actions: Sequence[Action],
    due: Sequence[Action],
    now: datetime,
    config: Config,
) -> list[Entry]:
    """The events of the calendar file: the next support calls and their agenda cut-offs, then
    the actions ``due`` (from ``coming``); ``by_number``: each case's context. Each UID is what
    the event is (a call's date, an action's key), so the same call or action keeps its UID
    from one file to the next."""
    calendar = BusinessCalendar.of(config)
    entries = []
    agenda_on = config.actions.agenda.enabled
    on_agenda = next((a.cases for a in actions if a.kind == "agenda"), ())
    call = now
    for i in range(CALLS_AHEAD):
        call = calls_around(call, config)[1]
        day = call.astimezone(calendar.tz).date().isoformat()
        cutoff = calendar.subtract(call, config.actions.agenda.before)
        cases = f" Cases on the agenda so far: {', '.join(on_agenda)}." if i == 0 and on_agenda else ""
        entries.append(
            Entry(
                _uid("support-call", day, config=config),
                call,
                "Alliance / Ex Libris support call",
                (f"The monthly support call. Agenda cut-off: {when(cutoff, calendar)}." if agenda_on else "")
                + cases,
                CALL_LENGTH,
                ("support call",),
            )
        )
        if agenda_on:
            entries.append(
                Entry(
                    _uid("agenda-cutoff", day, config=config),
                    cutoff,
                    f"Agenda cut-off for the support call of {call.astimezone(calendar.tz):%a %b %d}",
                    f"casewatch sends the agenda draft of the support call on {when(call, calendar)}; "
                    "a case flagged after this goes to the coordinator directly.",
                    categories=("support call",),
                )
            )
    for a in due:
        ctx = by_number.get(a.case or "")
        what = WHAT.get(a.kind, a.kind.replace("_", " "))
        about = f"case {a.case}" if a.case else f"cases {', '.join(a.cases)}"
        inst = f" ({ctx.case.institution})" if ctx and ctx.case.institution else ""
        key = hashlib.sha256(a.key.encode()).hexdigest()[:20]
        entries.append(
            Entry(
                _uid(a.kind.replace("_", "-"), key, config=config),
                a.due_at,
                f"{what[:1].upper()}{what[1:]}: {about}{inst}",
                f"{a.reason}\n\nTo: {', '.join(a.to) or 'nobody'}",
                categories=(a.kind,),
            )
        )
    return entries


def calendar_for(
    snapshot: Snapshot, now: datetime, config: Config, pm: ProgramManager | None = None
) -> list[Entry]:
    """The calendar file's events as of ``now``: the next support calls, their agenda cut-offs,
    and what falls due in the coming week in ``pm``'s areas (every area without ``pm``)."""
    ctxs, actions = candidates(snapshot, now, config)
    numbers = None
    if pm is not None:
        numbers = {c.number for c in ctxs if c.route.area in pm.areas and c.case.source == "vendor"}
    due = coming(ctxs, actions, snapshot.sent, now, now + WEEK, numbers)
    return calendar_entries({c.number: c for c in ctxs}, actions, due, now, config)
