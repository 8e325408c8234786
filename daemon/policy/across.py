"""The rules across cases (pure): what no one case's rule can see.

A problem shared by three or more institutions (``widespread``), an owner our mail can no longer
reach (``owner_unreachable``), the support call (its ``agenda``, the ``coordinator_contact`` for a
case flagged late, the ``post_call_followup``) and every PM's weekly ``digest``. The engine runs
them after the rules about one case (``daemon.policy.rules``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from daemon.config import Config, ProgramManager
from daemon.model import Action, Basis, Event, Link
from daemon.policy.calendar import BusinessCalendar
from daemon.policy.calls import calls_around, digest_slot
from daemon.policy.clusters import clusters, marks
from daemon.policy.context import Context, iso, joined, key, when
from daemon.policy.routing import pms_for

#: The case rules' actions that flag a case for the support call (``calls_for``).
FLAGGING = ("pm_assist", "pm_stalled_high")

PRIORITY_ORDER = {"system_down": 0, "high": 1, "normal": 2, "low": 3, None: 4}


def delivery_failures(ctx: Context) -> list[Event]:
    """The permanent delivery failures of our mail recorded on a case (see ``owner_unreachable``)."""
    return [
        e
        for e in ctx.events
        if e.kind == "reminder_sent" and e.data.get("delivery") == "failed" and e.data.get("permanent")
    ]


def owner_unreachable(ctxs: Sequence[Context], config: Config) -> list[Action]:
    """Our mail to a case's owner failed permanently (a 5.x.x delivery status): the owner has
    likely left. Tell the area's PM, with the owners of the institution's other open cases in copy;
    one action per owner, naming all of their open cases, once per owner's first failure."""
    if not config.actions.owner_unreachable.enabled:
        return []
    first: dict[str, tuple[Context, Event]] = {}
    for ctx in ctxs:
        owner = (ctx.case.owner or "").lower()
        for e in delivery_failures(ctx):
            named = owner and str(e.data.get("recipient", "")).lower() == owner
            if named and (owner not in first or e.at < first[owner][1].at):
                first[owner] = (ctx, e)
    if not first:
        return []
    # Each owner's open cases (in ``ctxs`` order) and each institution's open cases' owners,
    # indexed once: scanning every case for every failed owner grows with their product.
    open_of: dict[str, list[Context]] = {}
    owners_at: dict[str, set[str]] = {}
    for c in ctxs:
        if c.clocks.state in ("open", "pending_customer"):
            open_of.setdefault((c.case.owner or "").lower(), []).append(c)
            if c.case.institution and c.case.owner:
                owners_at.setdefault(c.case.institution, set()).add(c.case.owner.lower())
    actions = []
    for owner, (where, failure) in sorted(first.items()):
        theirs = open_of.get(owner, [])
        if not theirs:
            continue  # nothing open is left to hand over
        cases = tuple(c.number for c in theirs)
        to: list[str] = []
        notes: list[str] = []
        for c in theirs:
            to.extend(p for p in c.route.pms if p not in to)
            if c.route.pms_why:
                notes.append(c.route.pms_why)
        inst = where.case.institution
        colleagues = sorted(owners_at.get(inst or "", set()) - {owner} - {p.lower() for p in to})
        status = str(failure.data.get("dsn_status", ""))
        copy = f"the owners of {inst}'s other open cases" if colleagues else "nobody else"
        reason = (
            f"Mail from casewatch to {owner}, the owner of case{'s' if len(cases) > 1 else ''} "
            f"{', '.join(cases)}, failed permanently on {when(failure.at, where.calendar)}"
            f"{f' (delivery status {status})' if status else ''}: the owner has likely left"
            f"{f' {inst}' if inst else ''}. The policy asks whoever leaves to find the person to take over "
            f"each case; the {theirs[0].route.area} PM, with {copy} in copy, can find the successor, who "
            f'replies "owner their@address" to take the cases over.'
        )
        actions.append(
            Action(
                "owner_unreachable",
                cases[0],
                tuple(to),
                failure.at,
                " ".join([reason, *dict.fromkeys(notes)]),
                key("owner_unreachable", owner, failure.at),
                cc=tuple(colleagues),
                cases=cases,
                area=theirs[0].route.area,
                basis=Basis("delivery failed", failure.at, "the permanent delivery failure", "0 hours"),
                data={
                    "recipient": owner,
                    "status": status,
                    "failed_at": iso(failure.at),
                    "institution": inst or "",
                    "colleagues": colleagues,
                },
            )
        )
    return actions


def widespread(ctxs: Sequence[Context], links: Iterable[Link], now: datetime, config: Config) -> list[Action]:
    """Three or more institutions linked to one problem: alert the area's PM, again when it grows."""
    rule = config.actions.widespread
    if not rule.enabled:
        return []
    by_number = {ctx.number: ctx for ctx in ctxs}
    links = [link for link in links if link.at is None or link.at <= now]
    linked = {n for link in links for n in (link.a, link.b)}
    known: dict[str, tuple[str, datetime | None]] = {}
    for ctx in ctxs:
        if ctx.case.institution and ctx.number in linked:
            since = next((e.at for e in ctx.events if e.data.get("institution")), ctx.events[0].at)
            known[ctx.number] = (ctx.case.institution, since)
    actions = []
    for cluster in clusters(known, links, now):
        n = len(cluster.institutions)
        members = [by_number[c] for c in cluster.cases if c in by_number]
        if n < rule.institutions or not any(m.clocks.state in ("open", "pending_customer") for m in members):
            continue
        areas = sorted(
            {m.route.area for m in members if m.case.source == "vendor"} or {config.areas.fallback}
        )
        to: list[str] = []
        notes = []
        for area in areas:
            pms, note = pms_for(area, config)
            to.extend(p for p in pms if p not in to)
            if note:
                notes.append(note)
        described = ", ".join(
            f"{m.number} ({m.case.institution})"
            if m.case.institution
            else (f"{m.number} (case of record)" if m.case.case_of_record else m.number)
            for m in members
        )
        reason = (
            f"{n} institutions ({', '.join(cluster.institutions)}) have linked cases about one problem: "
            f"{described}. Ex Libris treats a problem raised by three or four libraries as widespread; the "
            f"{' and '.join(areas)} PM may open or name an Alliance case of record and tell the community."
        )
        due = cluster.grown_at or now
        actions.append(
            Action(
                "widespread",
                None,
                tuple(to),
                due,
                " ".join([reason, *dict.fromkeys(notes)]),
                key("widespread", cluster.cases[0], n),
                cases=cluster.cases,
                area=areas[0],
                marks=marks(cluster.cases, n),
                basis=Basis("cluster", due, f"the cluster reached {n} institutions", "0 hours"),
                data={"institutions": list(cluster.institutions)},
            )
        )
    return actions


def _flags(
    ctxs: Sequence[Context], actions: Sequence[Action], start: datetime, end: datetime
) -> dict[str, datetime]:
    """Cases flagged for a support call between ``start`` and ``end``: by a reply command, or because
    the case needs a PM (pm_assist, pm_stalled_high due by then); the value is when."""
    flagged: dict[str, datetime] = {}
    for ctx in ctxs:
        for c in ctx.clocks.commands:
            if c.name == "agenda" and start < c.at <= end:
                flagged.setdefault(ctx.number, c.at)
    for a in actions:
        if a.kind in FLAGGING and a.case and a.due_at <= end:
            at = max(a.due_at, start)
            flagged[a.case] = min(flagged.get(a.case, at), at)  # the earliest flag counts
    return flagged


@dataclass(frozen=True)
class Calls:
    """The support calls around an instant and the cases flagged for them."""

    previous: datetime  # the latest call that has started
    following: datetime  # the next call
    flagged: dict[str, datetime]  # for the next call: case -> when it was flagged
    discussed: dict[str, datetime]  # at the previous call


def calls_for(ctxs: Sequence[Context], actions: Sequence[Action], now: datetime, config: Config) -> Calls:
    """The calls around ``now``: the cases flagged for the next (still open) and those discussed
    at the previous (not closed before it)."""
    previous, following = calls_around(now, config)
    before_previous, _ = calls_around(previous - timedelta(minutes=1), config)
    open_now = {ctx.number for ctx in ctxs if ctx.clocks.state != "closed"}
    closed_before = {
        ctx.number for ctx in ctxs if ctx.clocks.closed_at is not None and ctx.clocks.closed_at < previous
    }
    flagged = {n: at for n, at in _flags(ctxs, actions, previous, following).items() if n in open_now}
    discussed = {
        n: at for n, at in _flags(ctxs, actions, before_previous, previous).items() if n not in closed_before
    }
    return Calls(previous, following, flagged, discussed)


def agenda(ctxs: Sequence[Context], calls: Calls, now: datetime, config: Config) -> list[Action]:
    """Seven days before the call: the agenda draft, most critical cases first."""
    rule = config.actions.agenda
    if not rule.enabled:
        return []
    calendar = BusinessCalendar.of(config)
    by_number = {ctx.number: ctx for ctx in ctxs}
    due = calendar.subtract(calls.following, rule.before)
    on_agenda = sorted(
        (n for n, at in calls.flagged.items() if at <= due),
        key=lambda n: (
            PRIORITY_ORDER.get(by_number[n].case.priority, 4),
            by_number[n].case.opened_at or now,
            n,
        ),
    )
    coordinator = config.support_call.coordinator
    to = tuple(
        dict.fromkeys(
            [*([coordinator] if coordinator else []), *(pm.email for pm in config.program_managers)]
        )
    )
    if on_agenda:
        listed = f"{len(on_agenda)} case(s) are flagged for it, most critical first: {', '.join(on_agenda)}."
    else:
        listed = "No case is flagged for it yet."
    nobody = "" if to else " No coordinator or program manager is configured, so nobody can be told."
    return [
        Action(
            "agenda",
            None,
            to,
            due,
            f"The Alliance / Ex Libris support call is on {when(calls.following, calendar)}. "
            f"{listed}{nobody}",
            agenda_key(calls.following),
            cases=tuple(on_agenda),
            basis=Basis(
                "support call", calls.following, "the next support call", rule.before.as_written, before=True
            ),
            data={"call_at": calls.following.isoformat()},
        )
    ]


def agenda_key(call: datetime) -> str:
    return key("agenda", None, call.date())


def coordinator_contact(ctxs: Sequence[Context], calls: Calls, config: Config) -> list[Action]:
    """A case flagged less than a week before the call: the PM contacts the coordinator."""
    rule = config.actions.coordinator_contact
    if not rule.enabled:
        return []
    calendar = BusinessCalendar.of(config)
    by_number = {ctx.number: ctx for ctx in ctxs}
    window = calendar.subtract(calls.following, rule.within)
    coordinator = config.support_call.coordinator
    who = f" ({coordinator})" if coordinator else ""
    out = []
    for n, at in sorted(calls.flagged.items()):
        if at <= window:
            continue
        ctx = by_number[n]
        to, _, note = ctx.route.pm_cc_owner()
        reason = (
            f"Case {n} was flagged on {when(at, calendar)} for the support call on "
            f"{when(calls.following, calendar)}, less than {rule.within.as_written} before it: contact the "
            f"support-call coordinator{who} directly."
        )
        out.append(
            Action(
                "coordinator_contact",
                n,
                to,
                at,
                joined(reason, note),
                key("coordinator_contact", n, calls.following.date()),
                area=ctx.route.area,
                basis=Basis("flagged", at, "flagged for the next support call", "0 hours"),
                data={"call_at": calls.following.isoformat(), "coordinator": coordinator},
            )
        )
    return out


def post_call_followup(
    ctxs: Sequence[Context], calls: Calls, config: Config, mailed: Callable[[str], bool]
) -> list[Action]:
    """The day after the call: the PM tells each discussed case's owner what came of it; only
    for a call whose agenda went out (never after a first run that found the call past).

    ``mailed``: whether the action of a key went out in a message of its own (``Snapshot.mailed``)."""
    rule = config.actions.post_call_followup
    if not rule.enabled:
        return []
    if config.actions.agenda.enabled and not mailed(agenda_key(calls.previous)):
        return []
    calendar = BusinessCalendar.of(config)
    by_number = {ctx.number: ctx for ctx in ctxs}
    due = calendar.add(calls.previous, rule.after)
    out = []
    for n in sorted(calls.discussed):
        ctx = by_number[n]
        # The PM's to-do: the PM writes to the owner (the draft); the owner is not copied on it.
        to, _, note = ctx.route.pm_cc_owner()
        reason = (
            f"Case {n} was on the agenda of the support call on {when(calls.previous, calendar)}: tell its "
            f"owner {ctx.case.owner or '(unknown)'} what came out of the call, and check that Ex Libris "
            f"added it to the case comments."
        )
        out.append(
            Action(
                "post_call_followup",
                n,
                to,
                due,
                joined(reason, note),
                key("post_call_followup", n, calls.previous.date()),
                area=ctx.route.area,
                basis=Basis("support call", calls.previous, "the last support call", rule.after.as_written),
                data={"call_at": calls.previous.isoformat()},
            )
        )
    return out


def digest_action(pm: ProgramManager, slot: datetime) -> Action:
    """The digest of ``pm`` for the week ending at ``slot`` (a PM with at least one area)."""
    return Action(
        "digest",
        None,
        (pm.email,),
        slot,
        f"The weekly digest for {pm.name} ({', '.join(pm.areas)}).",
        key("digest", pm.email.lower(), slot.date()),
        area=pm.areas[0],
        data={"period_end": slot.isoformat()},
    )


def digests(now: datetime, config: Config) -> list[Action]:
    """Every PM's weekly digest, due at the weekly slot (Monday 08:00 by default); a slot missed
    by more than ``skip_after`` (a day) is skipped, never sent late."""
    rule = config.actions.digest
    if not rule.enabled:
        return []
    slot = digest_slot(now, config)
    if now > BusinessCalendar.of(config).add(slot, rule.skip_after):
        return []
    # A PM with no area has no cases to digest.
    return [digest_action(pm, slot) for pm in config.program_managers if pm.areas]
