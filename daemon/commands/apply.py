"""What reply commands do: the events they add to the timelines, and what to confirm (pure).

``authorize`` says whether a sender may act on a case: its owner, staff of the same
institution, or a program manager. ``apply`` turns the commands of one reply into timeline
events (each carrying the reply's Message-ID, so ``undo`` can take them back), the lines
of the confirmation mail, its subject (what was done to which case, in a few words) and whom
to copy (the owner of a case someone else acted on). Nothing here reads the store, the clock
or the network.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from daemon.commands.grammar import SNOOZE_HOUR, Reading, Said
from daemon.config import Config
from daemon.model import Case, Event, EventKind, Link
from daemon.policy.calendar import BusinessCalendar
from daemon.policy.rules import when

#: "done" on a reminder of these kinds means the person did what it asked.
DONE_MEANS: dict[str, EventKind] = {"request_update": "update_requested", "escalate": "escalation_requested"}
PM_ONLY = frozenset({"agenda", "record"})
ONE_CASE = frozenset({"closed", "priority", "owner", "link", "record"})
PRIORITY_WORDS = {"system_down": "System/Component Down", "high": "High", "normal": "Normal", "low": "Low"}
#: A confirmation's subject lists what was done while it stays this short (else it counts).
HEADLINE_MAX = 90


@dataclass(frozen=True)
class Replied:
    """The message of ours a reply answers: the actions it carried and their cases; for a
    confirmation, the Message-ID of the reply it confirmed (what ``undo`` to it takes back)."""

    message_id: str
    kinds: tuple[str, ...]
    cases: tuple[str, ...]
    confirms: str | None = None


@dataclass(frozen=True)
class Applied:
    events: tuple[Event, ...] = ()
    links: tuple[Link, ...] = ()
    done: tuple[str, ...] = ()  # confirmation lines, one per command applied
    problems: tuple[str, ...] = ()  # why a command was not applied
    help: bool = False  # the sender asked for help, or wrote nothing casewatch understood
    touched: tuple[str, ...] = field(default=())  # cases whose timeline changed
    headline: str = ""  # what was done to which case, for the subject ("snoozed case N until Dec 15")
    copy: tuple[str, ...] = ()  # the owners of touched cases who did not send the reply (to Cc)


def authorize(sender: str, case: Case, config: Config) -> str | None:
    """Why ``sender`` may act on ``case`` (None when they may not)."""
    sender = sender.lower()
    if config.is_pm(sender):
        return "a program manager"
    if case.owner and case.owner.lower() == sender:
        return "its owner"
    domain = sender.rpartition("@")[2]
    inst = config.institution_for_domain(domain) if domain else None
    if inst is not None and case.institution and inst.code == case.institution:
        return f"staff of {inst.code}"
    return None


def may_own(address: str, config: Config) -> bool:
    """Whether ``address`` may be made a case's owner: staff of a member institution, or a PM."""
    domain = address.lower().rpartition("@")[2]
    return config.is_pm(address) or (bool(domain) and config.institution_for_domain(domain) is not None)


def apply(
    reading: Reading,
    replied: Replied,
    cases: Mapping[str, Case],
    sender: str,
    at: datetime,
    message_id: str,
    config: Config,
    own_open_cases: Sequence[Case] = (),
    feedback_used: frozenset[str] = frozenset(),
    last_reply: Mapping[str, str] | None = None,
) -> Applied:
    """The events and confirmations of one reply's commands; ``cases`` are those the sender may
    act on (the cases of ``replied`` and any named in a command), ``last_reply`` the Message-ID
    of the sender's latest applied reply per case (for ``undo``)."""
    run = _Run(replied, cases, sender, at, message_id, config, feedback_used, last_reply or {})
    for said in reading.commands:
        if said.name == "help":
            continue
        if said.name in PM_ONLY and run.actor != "pm":
            run.problems.append(f"{said.line}: only a program manager can do this")
        elif said.name == "handover":
            run.handover(said, own_open_cases)
        else:
            for number in run.targets(said):
                run.one(said, number)
    asked_help = any(s.name == "help" for s in reading.commands)
    helping = asked_help or (not reading.commands and (reading.prose or bool(reading.problems)))
    problems = (*reading.problems, *run.problems)
    return Applied(
        tuple(run.events),
        tuple(run.links),
        tuple(run.done),
        problems,
        helping,
        tuple(run.touched),
        headline(run.did, partly=bool(problems)),
        run.copy(),
    )


def headline(did: Sequence[tuple[str, str, str]], partly: bool = False) -> str:
    """The subject of a confirmation: each command's phrase with its cases ("snoozed case
    10712345 until Dec 15"); when that is too long, how many commands on which cases.
    ``did`` holds ``(command, phrase with "{cases}", case)`` in the order applied."""
    if not did:
        return ""
    grouped: dict[tuple[str, str], list[str]] = {}
    for command, phrase, case in did:
        numbers = grouped.setdefault((command, phrase), [])
        if case not in numbers:
            numbers.append(case)
    text = "; ".join(phrase.format(cases=_cases(numbers)) for (_, phrase), numbers in grouped.items())
    if len(text) > HEADLINE_MAX:
        commands = list(dict.fromkeys(command for command, _ in grouped))
        cases = list(dict.fromkeys(case for _, _, case in did))
        text = f"{len(grouped)} commands applied to {_cases(cases)} ({', '.join(commands)})"
    return f"{text}; not all of it applied" if partly else text


def _cases(numbers: Sequence[str]) -> str:
    if len(numbers) > 3:
        return f"{len(numbers)} cases"
    return f"case{'s' if len(numbers) > 1 else ''} {', '.join(numbers)}"


class _Run:
    """The state of applying one reply: what it adds, confirms and refuses."""

    def __init__(
        self,
        replied: Replied,
        cases: Mapping[str, Case],
        sender: str,
        at: datetime,
        message_id: str,
        config: Config,
        feedback_used: frozenset[str],
        last_reply: Mapping[str, str],
    ) -> None:
        self.replied, self.cases, self.sender = replied, cases, sender.lower()
        self.at, self.message_id = at, message_id
        self.calendar = BusinessCalendar.of(config)
        self.actor = "pm" if config.is_pm(sender) else "member"
        self.feedback_used, self.last_reply = feedback_used, last_reply
        self.events: list[Event] = []
        self.links: list[Link] = []
        self.done: list[str] = []
        self.problems: list[str] = []
        self.touched: list[str] = []
        self.did: list[tuple[str, str, str]] = []  # (command, phrase with "{cases}", case)

    def copy(self) -> tuple[str, ...]:
        """The owners of the touched cases, when someone else acted on them."""
        owners = (self.cases[n].owner if n in self.cases else None for n in self.touched)
        found = {o.lower(): None for o in owners if o and o.lower() != self.sender}
        return tuple(found)

    def said(self, said: Said, phrase: str, number: str) -> None:
        self.did.append((said.name, phrase, number))

    def add(self, case: str, kind: EventKind, summary: str, **data: object) -> None:
        data = {"via": "reply", "by": self.sender, **data}
        self.events.append(Event(case, self.at, kind, self.actor, self.message_id, summary, data))
        if case not in self.touched:
            self.touched.append(case)

    def targets(self, said: Said) -> list[str]:
        if said.case:
            if said.case not in self.cases:
                self.problems.append(f"{said.line}: case {said.case} is not one you may act on here")
                return []
            return [said.case]
        mine = [n for n in self.replied.cases if n in self.cases]
        if not mine:
            self.problems.append(f"{said.line}: this message is about no case you may act on")
            return []
        if said.name in ONE_CASE and len(mine) > 1:
            self.problems.append(f"{said.line}: this message is about several cases; add the case number")
            return []
        return mine

    def one(self, said: Said, number: str) -> None:
        name, add, done = said.name, self.add, self.done
        if name == "done":
            meant = [DONE_MEANS[k] for k in self.replied.kinds if k in DONE_MEANS]
            if meant:
                add(number, meant[-1], f"{meant[-1].replace('_', ' ')} (reply: done)")
                done.append(f"Case {number}: noted, {WHAT[meant[-1]]}.")
                self.said(said, NOTED[meant[-1]], number)
            else:
                for k in self.replied.kinds:
                    add(number, "command", f"done: {k}", command="done", action=k)
                done.append(f"Case {number}: noted as done; that reminder will not come again for now.")
                self.said(said, "marked the reminder on {cases} done", number)
        elif name == "commented":
            add(number, "update_requested", "update requested (reply: commented)")
            done.append(f"Case {number}: noted, {WHAT['update_requested']}.")
            self.said(said, NOTED["update_requested"], number)
        elif name == "escalated":
            add(number, "escalation_requested", "escalation requested (reply: escalated)")
            done.append(f"Case {number}: noted, {WHAT['escalation_requested']}.")
            self.said(said, NOTED["escalation_requested"], number)
        elif name == "feedback":
            if number in self.feedback_used:
                self.problems.append(
                    f"{said.line}: in-case feedback is already recorded for case {number} (once per case)"
                )
                return
            add(number, "in_case_feedback", "in-case feedback used (reply)")
            done.append(
                f"Case {number}: noted that you used in-case feedback (it can be used once per case)."
            )
            self.said(said, "noted in-case feedback on {cases}", number)
        elif name == "snooze":
            assert said.until is not None
            until = when(said.until, self.calendar)
            add(number, "command", f"snoozed until {until}", command="snooze", until=said.until.isoformat())
            done.append(f"Case {number}: snoozed until {until}; reminders due by then wait.")
            self.said(said, "snoozed {cases} until " + _short(said.until, self.at, self.calendar), number)
        elif name == "resume":
            add(number, "command", "reminders resumed", command="resume")
            done.append(f"Case {number}: reminders resumed (mute and snooze ended).")
            self.said(said, "resumed reminders on {cases}", number)
        elif name == "mute":
            add(number, "command", "muted", command="mute")
            done.append(f'Case {number}: muted, no more reminders about it (reply "resume" to undo).')
            self.said(said, "muted {cases}", number)
        elif name == "closed":
            add(number, "case_closed", "closed (reply)", state="closed")
            done.append(f"Case {number}: marked closed; its reminders stop.")
            self.said(said, "marked {cases} closed", number)
        elif name == "priority":
            assert said.priority is not None
            add(number, "priority_changed", f"priority -> {said.priority} (reply)", priority=said.priority)
            done.append(f"Case {number}: priority set to {PRIORITY_WORDS[said.priority]}.")
            self.said(said, f"set {{cases}} to {PRIORITY_WORDS[said.priority]} priority", number)
        elif name == "owner":
            assert said.address is not None
            previous = self.cases[number].owner or ""
            add(
                number,
                "handover",
                f"owner -> {said.address} (reply)",
                owner=said.address,
                previous_owner=previous,
            )
            done.append(
                f"Case {number}: the owner is now {said.address}; both of you get the handover steps."
            )
            self.said(said, f"made {said.address} the owner of {{cases}}", number)
        elif name == "link":
            assert said.other is not None
            if said.other == number:
                self.problems.append(f"{said.line}: a case cannot be linked to itself")
                return
            self.links.append(Link.of(number, said.other, "linked by reply", self.at))
            add(number, "command", f"linked to case {said.other}", command="link", other=said.other)
            done.append(f"Case {number} is now linked to case {said.other}.")
            self.said(said, f"linked {{cases}} to case {said.other}", number)
        elif name == "agenda":
            add(number, "command", "flagged for the support call", command="agenda")
            done.append(f"Case {number}: flagged for the next support call's agenda.")
            self.said(said, "put {cases} on the call agenda", number)
        elif name == "record":
            add(number, "case_of_record", "case of record (reply)")
            done.append(f"Case {number}: marked as the Alliance's case of record.")
            self.said(said, "marked {cases} as the case of record", number)
        elif name == "undo":
            # In answer to a confirmation: what it confirmed, whoever sent that; else the
            # sender's own previous reply.
            confirmed = self.replied.confirms
            target = confirmed or self.last_reply.get(number)
            if target is None:
                self.problems.append(f"{said.line}: nothing of yours to undo on case {number}")
                return
            add(number, "command", "undid the previous reply", command="undo", target=target)
            if confirmed:
                done.append(f"Case {number}: the commands this confirmation was about are undone.")
                self.said(said, "undid the confirmed reply on {cases}", number)
            else:
                done.append(f"Case {number}: your previous reply's commands are undone.")
                self.said(said, "undid your previous reply on {cases}", number)
        else:
            self.problems.append(f"{said.line}: not understood")

    def handover(self, said: Said, own: Sequence[Case]) -> None:
        assert said.address is not None
        if said.address == self.sender:
            self.problems.append(f"{said.line}: that is your own address")
            return
        if not own:
            self.problems.append(f"{said.line}: you own no open case")
            return
        for case in own:
            self.said(said, f"handed {{cases}} over to {said.address}", case.number)
            self.add(
                case.number,
                "handover",
                f"handover -> {said.address} (reply)",
                owner=said.address,
                previous_owner=self.sender,
            )
        numbers = ", ".join(c.number for c in own)
        self.done.append(
            f"Your {len(own)} open case(s) ({numbers}) are handed over to {said.address}; each of you "
            f"gets the policy's handover steps for every case."
        )


def _short(at: datetime, now: datetime, calendar: BusinessCalendar) -> str:
    """A snooze's end in a subject: "Dec 15", with the time unless 09:00 and the year unless
    that of ``now`` (in the consortium's zone)."""
    local, today = at.astimezone(calendar.tz), now.astimezone(calendar.tz)
    text = f"{local:%b} {local.day}"
    if local.year != today.year:
        text += f", {local.year}"
    if (local.hour, local.minute) != (SNOOZE_HOUR.hour, SNOOZE_HOUR.minute):
        text += f" {local:%H:%M}"
    return text


NOTED = {
    "update_requested": "noted the update request on {cases}",
    "escalation_requested": "noted the escalation on {cases}",
}
WHAT = {
    "update_requested": "you asked Ex Libris for an update; if it stays silent, casewatch will suggest "
    "escalation",
    "escalation_requested": "you requested escalation; if Ex Libris stays silent, casewatch will ask the "
    "program manager to help",
}
