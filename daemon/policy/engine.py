"""``decide``: every action due at an instant, from the case files (pure).

The engine projects each case as of ``now`` from its events, runs the case
rules, then the rules across cases (widespread clusters, the support call,
digests), drops what was already sent or is snoozed or muted, and returns the
rest. Nothing here reads a clock, a file or the network.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

from daemon.config import Config
from daemon.model import MESSAGE_KINDS, Action, Case, Event, Link, evolve, stored_event
from daemon.policy import backlog
from daemon.policy import clocks as clocks_mod
from daemon.policy.across import (
    FLAGGING,
    agenda,
    calls_for,
    coordinator_contact,
    owner_unreachable,
    post_call_followup,
    widespread,
)

# Re-exported for their callers (the digest, the weekly planner, preflight).
from daemon.policy.across import agenda_key as agenda_key  # noqa: PLC0414
from daemon.policy.across import digest_action as digest_action  # noqa: PLC0414
from daemon.policy.across import digests as digests  # noqa: PLC0414
from daemon.policy.calendar import BusinessCalendar
from daemon.policy.clocks import Clocks
from daemon.policy.context import Context, iso
from daemon.policy.routing import Router
from daemon.policy.rules import CASE_RULES
from daemon.timeline import effective, project


@dataclass(frozen=True)
class CaseFile:
    """One case's timeline, as the store holds it (events in time order)."""

    number: str
    events: tuple[Event, ...]
    related: tuple[str, ...] = ()
    # The projection of all of ``events`` when the caller has it (the store caches it);
    # used when every event is at or before ``now``, else the case is projected again.
    case: Case | None = None


@dataclass(frozen=True)
class Snapshot:
    """Everything ``decide`` reads: the case files, the links between cases, what was sent."""

    # A tuple (``Store.snapshot``), or read from the store as iterated (``Store.streamed``).
    files: Iterable[CaseFile]
    links: tuple[Link, ...] = ()
    sent: frozenset[str] = frozenset()
    # Of ``sent``, the keys a ``backlog`` message used up: handled, but never mailed on their own.
    summarized: frozenset[str] = frozenset()

    def mailed(self, key: str) -> bool:
        """Whether the action of ``key`` went out in a message of its own kind."""
        return key in self.sent and key not in self.summarized


@contextmanager
def collector_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while making many acyclic objects that stay (each full
    collection would walk all of them made so far: a fifth of ``decide`` at 50,000 cases)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def contexts(snapshot: Snapshot, now: datetime, config: Config) -> list[Context]:
    """Each case as of ``now``, with its clocks and routing (cases with no event by then are left out)."""
    return list(each_context(snapshot.files, now, config))


def each_context(files: Iterable[CaseFile], now: datetime, config: Config) -> Iterator[Context]:
    """``contexts``, one case file at a time (``files`` may be read from the store as it goes)."""
    calendar = BusinessCalendar.of(config)
    owners = {
        inst.code: BusinessCalendar.of_institution(config, inst.code)
        for inst in config.institutions
        if inst.holidays_subdivision or inst.closures
    }
    router = Router(config)
    for f in files:
        whole = bool(f.events) and f.events[-1].at <= now
        events = f.events if whole else tuple(e for e in f.events if e.at <= now)
        if not events:
            continue
        events = tuple(effective(events))
        case = f.case if whole and f.case is not None else project(f.number, events, f.related)
        own = owners.get(case.institution or "")
        yield Context(case, events, clocks_mod.read(events), router(case), now, config, calendar, own)


def slim(ctx: Context) -> Context:
    """``ctx`` with only what the rules across cases and ``due_among`` read, what ``decide`` keeps
    of each case while it reads the next (it renders nothing, so the rest is let go):

    - of its events, the first naming the institution (else the first event), cut to its time
      and that institution (``widespread``), and the failed deliveries (``owner_unreachable``);
    - of its case, the number, owner, institution, priority, state, source, case of record and
      opening: not the title, status, category, links or description (often long);
    - of its clocks, the state, the closing and the reply commands."""
    events, case, clocks = ctx.events, ctx.case, ctx.clocks
    first = next((e for e in events if e.data.get("institution")), None)
    if first is None:
        head = stored_event(case.number, events[0].at, events[0].kind, events[0].actor, None, "", {})
    else:
        data = {"institution": first.data["institution"]}
        head = stored_event(case.number, first.at, first.kind, first.actor, None, "", data)
    failed = tuple(e for e in events if e.kind == "reminder_sent" and e.data.get("delivery") == "failed")
    kept = Case(
        case.number,
        institution=case.institution,
        owner=case.owner,
        priority=case.priority,
        state=case.state,
        source=case.source,
        case_of_record=case.case_of_record,
        opened_at=case.opened_at,
    )
    kept_clocks = Clocks(clocks.state, clocks.turn, closed_at=clocks.closed_at, commands=clocks.commands)
    return evolve(ctx, case=kept, events=(head, *failed), clocks=kept_clocks)


def candidates(
    snapshot: Snapshot,
    now: datetime,
    config: Config,
    keep: Callable[[Context], Context] | None = None,
    wanted: Callable[[Action], Action | None] | None = None,
) -> tuple[list[Context], list[Action]]:
    """Every action the cases are heading for, due or not yet, before sent/snooze filtering.

    The case rules run on each case as it is read; ``keep`` (e.g. ``slim``) makes what is kept of
    each case for the rules across cases and the caller (default: the whole context); ``wanted``
    makes what is kept of each action of the case rules, None for nothing (default: all of it)."""
    ctxs: list[Context] = []
    actions: list[Action] = []
    for ctx in each_context(snapshot.files, now, config):
        for rule in CASE_RULES:
            found = rule.evaluate(ctx)
            if not found:
                continue
            if wanted is not None:
                found = [w for w in map(wanted, found) if w is not None]
            if ctx.around_the_clock:
                found = [evolve(a, urgent=True) for a in found]
            actions.extend(found)
        ctxs.append(ctx if keep is None else keep(ctx))
    actions.extend(widespread(ctxs, snapshot.links, now, config))
    actions.extend(owner_unreachable(ctxs, config))
    calls = calls_for(ctxs, actions, now, config)
    actions.extend(agenda(ctxs, calls, now, config))
    actions.extend(coordinator_contact(ctxs, calls, config))
    actions.extend(post_call_followup(ctxs, calls, config, snapshot.mailed))
    actions.extend(digests(now, config))
    return ctxs, actions


def decide(snapshot: Snapshot, now: datetime, config: Config) -> list[Action]:
    """The actions due at ``now`` and not yet sent, most urgent first; stale ones marked, each
    PM's ``backlog`` summary of them after (what ``casewatch due`` lists). It keeps only a slim
    context of each case (``slim``), so a streamed snapshot (``Store.streamed``) is never held
    whole, and only the case rules' actions due by ``now`` (``due_by``)."""
    with collector_paused():
        ctxs, actions = candidates(snapshot, now, config, keep=slim, wanted=due_by(now))
        due = due_among(ctxs, actions, snapshot.sent, now)
        del ctxs, actions  # let the slim contexts go before the backlog is written
        return backlog.listed(due, now, config)


def due_by(now: datetime) -> Callable[[Action], Action | None]:
    """What ``decide`` keeps of a case rule's action: all of it when due by ``now``; of one due
    later, nothing (reply commands only ever hold an action later, never sooner), except what
    ``calls_for`` reads of an action that flags its case for the support call (``FLAGGING``)."""

    def kept(action: Action) -> Action | None:
        if action.due_at <= now:
            return action
        if action.kind in FLAGGING:
            return Action(action.kind, action.case, (), action.due_at, "", action.key)
        return None

    return kept


def evaluate(snapshot: Snapshot, now: datetime, config: Config) -> tuple[list[Context], list[Action]]:
    """What a cycle mails at ``now``, with each case's context (what the mail is written from):
    the due actions, except that stale ones travel in one ``backlog`` action per PM."""
    ctxs, actions = candidates(snapshot, now, config)
    return ctxs, backlog.summarize(due_among(ctxs, actions, snapshot.sent, now), now, config)


def due_among(
    ctxs: Sequence[Context], actions: Sequence[Action], sent: frozenset[str], now: datetime
) -> list[Action]:
    """Of the candidate actions, those due at ``now``, not sent, as reply commands leave them."""
    commands = {ctx.number: ctx.clocks.commands for ctx in ctxs}
    owners = {ctx.number: ctx.case.owner for ctx in ctxs}
    due = []
    for action in actions:
        case = action.case or ""
        kept = held(action, commands.get(case, ()), now, owners.get(case))
        if kept is None or kept.due_at > now:
            continue
        if any(m in sent for m in kept.all_marks):
            continue
        due.append(kept)
    return sorted(due, key=sort_key)


def sort_key(a: Action) -> tuple[datetime, int, str]:
    return (a.due_at, MESSAGE_KINDS.index(a.kind), a.case or "")


def _matches(command: clocks_mod.Command, action: Action) -> bool:
    return command.action is None or command.action == action.kind


def for_owner(action: Action, owner: str | None) -> bool:
    """Whether the action is addressed to the case's owner (else to a PM, the coordinator ...)."""
    return bool(owner) and (owner or "").lower() in {a.lower() for a in action.to}


def held(
    action: Action, commands: Sequence[clocks_mod.Command], now: datetime, owner: str | None = None
) -> Action | None:
    """The action as reply commands leave it: None when muted or done, moved when snoozed.

    A PM's command holds any action of the case; the owner's or their colleagues' commands hold
    only the actions addressed to the owner (``owner``: the case's owner)."""
    muted = False
    snoozes: list[clocks_mod.Command] = []
    mine = for_owner(action, owner)
    for c in commands:
        if not _matches(c, action) or c.at > now:
            continue
        if c.actor != "pm" and not mine:
            continue
        if c.name == "mute":
            muted = c.until is None or now < c.until
        elif c.name in ("unmute", "resume"):
            muted = False
            snoozes = []  # resume also ends the snoozes before it
        elif c.name == "snooze" and c.until:
            snoozes.append(c)
        elif c.name == "done" and action.due_at <= c.at:
            return None
    if muted:
        return None
    if snoozes:
        s = snoozes[-1]
        assert s.until is not None
        if action.due_at <= s.until:
            # Held until the snooze ends, then due once more (even if sent before).
            return evolve(action, due_at=s.until, key=f"{action.key}@{iso(s.until)}", marks=())
    return action
