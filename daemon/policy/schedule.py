"""Until when a decision stands: the next instant at which it can change without new data (pure).

A schedule is kept only by a cycle that evaluated every case at ``at`` and had nothing to queue
(mail queued adds ``reminder_sent`` events the rules read: the next cycle decides again). The
decision at a later instant ``t`` differs only if new data was written (the store's generation
counter says so) or if ``t`` has passed one of the instants below, at which ``now`` itself makes
a candidate appear, move or come due. ``next_change`` returns the earliest of them after ``at``
(``next_at``); until then a tick has nothing to decide and ``status`` nothing new to say.

How ``now`` enters the decision, rule by rule (an audit of ``rules``, ``ladder``, ``across``,
``backlog`` and the engine), and the instant that bounds each:

- every candidate's ``due_at``: an action comes due when ``now`` reaches it. Taken as ``held``
  leaves it (a snooze moves it to the snooze's end, under a key of its own) and as the rule
  gave it (``status`` lists the next raw candidate): both, when not sent. This covers the
  ladder (``request_update``, ``escalate``, ``pm_assist``, ``owner_inactive``), ``pm_stalled_high``,
  ``share_on_list``, ``survey``, ``record_update``, ``handover``, ``pm_system_down``,
  ``pm_escalation``, ``owner_unreachable``, ``widespread``, ``agenda``, ``coordinator_contact``
  (its due is a ``pm_assist``/``pm_stalled_high`` due when that flags the case) and
  ``post_call_followup``;
- ``customer_turn`` keeps its steps still to come and only the latest one due: a step appears
  as the previous one is dropped, when ``now`` passes the later step's ``due_at`` (above);
- a reply command's ``until``: a mute ends (the action is back, maybe due at once); a snooze's
  end is the held action's ``due_at``, taken too;
- the following support call (``calls_around``): past it, the calls ``agenda``,
  ``coordinator_contact`` and ``post_call_followup`` are about move on (new keys);
- the next digest slot (``digest_slot``), and the local midnight at which it looks at a new
  week: the ``digest`` of a new week appears;
- the earliest event, link or sent key dated after ``at`` (read by the store): ``contexts``
  leaves out events after ``now``, ``widespread`` links after it, the snapshot sent keys after
  it (a sent agenda lets ``post_call_followup`` appear);
- a closed case leaves the snapshot ``horizon`` after its last event (``CLOSED_HORIZON``): its
  delivery failures and cluster membership no longer count (``owner_unreachable`` may name a
  later failure, ``widespread`` a smaller cluster), so that instant bounds too.

Rules that only drop a candidate as time passes need no bound: ``survey`` and
``description_gaps`` after their window, a ``digest`` slot missed by more than ``skip_after``,
an action becoming stale (only an action due and unsent is summarized, and none is left).
A candidate due at ``at`` and left unsent (none should be: the cycle queues them all) makes
``next_at`` equal ``at``: the next tick decides again.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

import daemon
from daemon.config import Config
from daemon.model import Action
from daemon.policy import backlog
from daemon.policy.calendar import WEEKDAYS, BusinessCalendar, wall_time
from daemon.policy.calls import calls_around
from daemon.policy.context import Context
from daemon.policy.engine import Snapshot, candidates, due_among, held


@dataclass(frozen=True)
class Upcoming:
    """The next action ``status`` shows: its kind, case and due instant."""

    kind: str
    case: str | None
    due_at: datetime


@dataclass(frozen=True)
class Schedule:
    """What an evaluation at ``at`` leaves: until when it stands (None: until new data) and the
    next upcoming action."""

    at: datetime
    next_at: datetime | None
    upcoming: Upcoming | None

    def stands(self, now: datetime) -> bool:
        """Whether nothing can have changed by ``now`` without new data."""
        return self.at <= now and (self.next_at is None or now < self.next_at)


def fingerprint(config: Config) -> str:
    """What the decisions were made under: the config's every value and casewatch's version (an
    upgrade decides again)."""
    return hashlib.sha256(f"{daemon.__version__}\n{config!r}".encode()).hexdigest()


def decide(
    snapshot: Snapshot,
    now: datetime,
    config: Config,
    later: Iterable[datetime | None] = (),
    horizon: timedelta | None = None,
) -> tuple[list[Context], list[Action], Schedule]:
    """``engine.evaluate`` (the contexts and what a cycle mails at ``now``) and the schedule it
    leaves once that is queued; ``later`` and ``horizon`` as in ``next_change``."""
    ctxs, actions = candidates(snapshot, now, config)
    due = backlog.summarize(due_among(ctxs, actions, snapshot.sent, now), now, config)
    queued = snapshot.sent | {m for a in due for m in a.all_marks}
    return ctxs, due, next_change(snapshot, ctxs, actions, queued, now, config, later, horizon)


def next_change(
    snapshot: Snapshot,
    ctxs: Sequence[Context],
    actions: Sequence[Action],
    sent: frozenset[str],
    now: datetime,
    config: Config,
    later: Iterable[datetime | None] = (),
    horizon: timedelta | None = None,
) -> Schedule:
    """The schedule of an evaluation at ``now``: ``actions`` are its candidates (``candidates``),
    ``sent`` the keys used up once its due actions are queued; ``later`` the earliest event,
    link and sent key dated after ``now`` (None: there is none); ``horizon`` how long a closed
    case stays in the snapshot after its last event (None: for ever)."""
    bounds: list[datetime] = [at for at in later if at is not None]
    commands = {ctx.number: ctx.clocks.commands for ctx in ctxs}
    owners = {ctx.number: ctx.case.owner for ctx in ctxs}
    upcoming: list[Action] = []
    for action in actions:
        if action.due_at > now and not any(m in sent for m in action.all_marks):
            upcoming.append(action)
            bounds.append(action.due_at)
        case = action.case or ""
        kept = held(action, commands.get(case, ()), now, owners.get(case))
        if kept is None or any(m in sent for m in kept.all_marks):
            continue
        bounds.append(max(kept.due_at, now))  # due and unsent: decide again at once
    bounds.extend(c.until for cs in commands.values() for c in cs if c.until is not None)
    bounds.append(calls_around(now, config)[1])
    if config.actions.digest.enabled:
        bounds.extend(digest_bounds(now, config))
    if horizon is not None:
        for f in snapshot.files:
            if f.events and (f.case is None or f.case.state == "closed"):
                bounds.append(f.events[-1].at + horizon)
    ahead = [b for b in bounds if b >= now]  # one at ``now``: decide again at the next tick
    nxt = min(upcoming, key=lambda a: a.due_at) if upcoming else None
    return Schedule(
        now,
        min(ahead) if ahead else None,
        Upcoming(nxt.kind, nxt.case, nxt.due_at) if nxt else None,
    )


def digest_bounds(now: datetime, config: Config) -> list[datetime]:
    """The instants after ``now`` at which ``digest_slot`` can change: the slots of this week's
    and the next weeks' digest days (moved off holidays as it moves them), and the local
    midnights at which it starts looking at a new week."""
    calendar = BusinessCalendar.of(config)
    tz = calendar.tz
    rule = config.actions.digest
    weekday = WEEKDAYS.index(rule.weekday.lower())
    local = now.astimezone(tz)
    first = local.date() - timedelta(days=(local.weekday() - weekday) % 7)
    out = []
    for week in range(3):
        day: date = first + timedelta(days=7 * week)
        if calendar.holiday(day):
            out.append(wall_time(calendar.next_business_day(day), calendar.day_start, tz))
        else:
            out.append(wall_time(day, rule.time, tz))
        out.append(wall_time(day, time(0, 0), tz))
    return [b for b in out if b > now]
