"""What a recognized message means for the cases (pure: no I/O, no clock).

``interpret`` turns one ``Recognition`` into timeline events, links between
cases, and thread keys to remember; ``project`` folds a case's events into the
``Case`` it is at any instant. The store keeps events, never derived fields, as
the truth: a case is always ``project(its events)``, so mail read out of order
still gives the same case, and a later vendor mail wins over an earlier one.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from daemon.config import Config
from daemon.model import Case, CaseFields, Event, EventKind, Link, Recognition

#: Events that are a vendor response: they stop the "vendor owes us" clock.
VENDOR_RESPONSES: frozenset[EventKind] = frozenset(
    {"vendor_comment", "status_changed", "case_closed", "case_reopened"}
)

_VENDOR_EVENT: dict[str, EventKind] = {
    "created": "case_opened",
    "comment": "vendor_comment",
    "status": "status_changed",
    "closed": "case_closed",
    "escalation_ack": "escalation_acknowledged",
    "pending_reminder": "pending_customer_reminder",
    "survey": "survey_invited",
}
_MEMBER_EVENT: dict[str, EventKind] = {
    "comment": "member_comment",
    "update_request": "update_requested",
    "escalation_request": "escalation_requested",
}
#: Vendor events that are themselves the status news of their mail.
_STATUS_EVENTS: frozenset[EventKind] = frozenset({"status_changed", "case_closed", "case_opened"})
#: Fields a later vendor mail may change without it being a conflict worth a log line.
_MUTABLE = frozenset({"status", "priority", "title", "description"})


@dataclass(frozen=True)
class Outcome:
    """What one message adds: events, links, thread keys -> case, and log notes."""

    events: tuple[Event, ...] = ()
    links: tuple[Link, ...] = ()
    keys: tuple[str, ...] = ()
    ignored: str = ""  # why nothing was recorded, when nothing was
    notes: tuple[str, ...] = ()


def state_of(status: str | None, config: Config) -> str | None:
    """open, pending_customer or closed for a vendor status text; None when unknown."""
    if not status:
        return None
    r = config.recognize
    if any(re.search(p, status, re.IGNORECASE) for p in r.closed_statuses):
        return "closed"
    if any(re.search(p, status, re.IGNORECASE) for p in r.pending_customer_statuses):
        return "pending_customer"
    return "open"


def _pairs(numbers: Sequence[str], reason: str) -> list[Link]:
    """Links that tie all the numbers into one group (a star on the first)."""
    first, *rest = numbers
    return [Link.of(first, n, reason) for n in rest if n != first]


def interpret(
    rec: Recognition,
    at: datetime,
    message_id: str | None,
    resolved: str | None,
    current: Mapping[str, Case],
    config: Config,
) -> Outcome:
    """The events one message adds.

    ``resolved`` is the case its thread keys or parent messages point to (looked
    up by the caller); ``current`` holds the cases it names as they are now.
    """
    if rec.family == "noise" and rec.failed and rec.cases:
        return _delivery_failed(rec, at, message_id)
    if rec.family == "noise":
        return Outcome(ignored=f"{rec.kind}: {rec.reason}")
    if rec.family == "other":
        return Outcome(ignored=rec.reason or "not case mail")
    if rec.family == "reply":
        return Outcome(ignored="a reply to casewatch: read for commands, not a case comment")
    if rec.family == "list":
        return _list(rec, at, message_id, current, config)
    if rec.family == "vendor" and rec.kind == "newsletter":
        events = tuple(
            Event(n, at, "list_mention", "vendor", message_id, rec.summary, {"newsletter": True})
            for n in rec.cases
        )
        return Outcome(events=events, ignored="" if events else "vendor mailing citing no case")

    case = rec.cases[0] if rec.cases else resolved
    if case is None:
        return Outcome(ignored=f"{rec.family} mail with no case number and no known thread")
    related = [n for n in rec.cases if n != case]
    links = tuple(_pairs([case, *related], "cited together")) if related else ()
    before = current.get(case)
    if rec.family == "member":
        actor = "pm" if rec.sender and config.is_pm(rec.sender) else "member"
        kind = _MEMBER_EVENT[rec.kind]
        data = {} if before and before.state != "unknown" else {"state": "open"}
        event = Event(case, at, kind, actor, message_id, rec.summary, data)
        return Outcome(events=(event,), links=links)
    return _vendor(rec, case, at, message_id, before, links, config)


def _vendor(
    rec: Recognition,
    case: str,
    at: datetime,
    message_id: str | None,
    before: Case | None,
    links: tuple[Link, ...],
    config: Config,
) -> Outcome:
    fields = rec.fields
    state = state_of(fields.status, config)
    kind: EventKind = _VENDOR_EVENT.get(rec.kind, "vendor_comment")
    if kind == "status_changed" and state == "closed":
        kind = "case_closed"
    if kind == "case_closed":
        state = "closed"
    if kind == "case_opened" and state in (None, "closed"):
        state = "open"
    data: dict[str, object] = dict(fields.as_dict())
    if state:
        data["state"] = state
    summary = rec.summary
    if kind == "status_changed" and fields.status:
        summary = f"status: {fields.status}"
    events = []
    notes = []
    if before is not None:
        if before.state == "closed" and state in ("open", "pending_customer"):
            events.append(Event(case, at, "case_reopened", "vendor", message_id, "case reopened"))
        if fields.priority and before.priority and fields.priority != before.priority:
            events.append(
                Event(
                    case,
                    at,
                    "priority_changed",
                    "vendor",
                    message_id,
                    f"priority {before.priority} -> {fields.priority}",
                    {"priority": fields.priority},
                )
            )
        for name, value in fields.as_dict().items():
            old = getattr(before, name, None)
            if name not in _MUTABLE and old and value != old:
                notes.append(f"case {case}: {name} {old!r} -> {value!r} (the later mail wins)")
        if (
            kind not in _STATUS_EVENTS
            and fields.status
            and before.status
            and fields.status.casefold() != before.status.casefold()
        ):
            # Whatever the mail is (a comment, an acknowledgement, a reminder), a Status that
            # differs from the case's last one is a status change: an event of its own, so an
            # acknowledgement carrying one still counts as no response while the change does.
            events.append(
                Event(
                    case,
                    at,
                    "case_closed" if state == "closed" else "status_changed",
                    "vendor",
                    message_id,
                    f"status: {fields.status}",
                    {"status": fields.status, **({"state": state} if state else {})},
                )
            )
            data.pop("status", None)
            data.pop("state", None)
    events.insert(0, Event(case, at, kind, "vendor", message_id, summary, data))
    return Outcome(events=tuple(events), links=links, keys=rec.thread_keys, notes=tuple(notes))


def _delivery_failed(rec: Recognition, at: datetime, message_id: str | None) -> Outcome:
    """A delivery report for a message of ours: on each of its cases, who could not be reached.
    Recorded as a system ``reminder_sent`` event with ``delivery = "failed"`` (what the
    ``owner_unreachable`` rule reads); a delay (4.x.x) is kept too, marked not permanent."""
    original = rec.parent_ids[0]
    events = tuple(
        Event(
            case,
            at,
            "reminder_sent",
            "system",
            message_id,
            f"delivery failed: {recipient} ({status or 'no status'})",
            {
                "delivery": "failed",
                "recipient": recipient,
                "dsn_status": status,
                "permanent": status.startswith("5") or not status,
                "original": original,
            },
        )
        for case in rec.cases
        for recipient, status in rec.failed
    )
    return Outcome(events=events, ignored="" if events else "delivery report naming no recipient")


def _list(
    rec: Recognition, at: datetime, message_id: str | None, current: Mapping[str, Case], config: Config
) -> Outcome:
    """Mentions (and a case of record) from a list post.

    A post citing more than ``[lists] max_citations`` numbers (a pasted report, a dump of IDs)
    is no discussion of those cases: it records mentions of the cases already known (those in
    ``current``) only, and links nothing, so it opens no list-only case."""
    numbers = list(rec.cases)
    if rec.record_case and rec.record_case not in numbers:
        numbers.insert(0, rec.record_case)
    if not numbers:
        return Outcome(ignored="list post citing no case")
    limit = config.lists.max_citations
    if len(numbers) > limit:
        known = [n for n in numbers if n in current]
        note = f"cites {len(numbers)} case numbers (more than [lists] max_citations = {limit})"
        mentions = tuple(Event(n, at, "list_mention", "list", message_id, rec.summary) for n in known)
        return Outcome(
            events=mentions,
            ignored="" if mentions else f"list post that {note}, none of them a known case",
            notes=(f"{note}: mentions of {len(known)} known case(s) only, no new case, no link",),
        )
    actor = "pm" if rec.sender and config.is_pm(rec.sender) else "list"
    events = []
    for n in numbers:
        if n == rec.record_case:
            events.append(Event(n, at, "case_of_record", actor, message_id, rec.summary))
        else:
            events.append(Event(n, at, "list_mention", "list", message_id, rec.summary))
    if rec.record_case:
        links = [Link.of(rec.record_case, n, "case of record") for n in numbers if n != rec.record_case]
    else:
        links = _pairs(numbers, "cited together on a list") if len(numbers) > 1 else []
    return Outcome(events=tuple(events), links=tuple(links))


# The owner's name stays in the events (drafts read it beside its address); no case field.
_FIELDS = frozenset(CaseFields.__dataclass_fields__) - {"owner_guessed", "owner_name"}


def visible(events: Iterable[Event]) -> bool:
    """A case is known once any mail other than a vendor mailing names it."""
    return any(not e.data.get("newsletter") for e in events)


def is_undo(event: Event) -> bool:
    """An ``undo`` reply command: it takes back events before it (``effective``)."""
    return event.kind == "command" and event.data.get("command") == "undo"


def effective(events: Sequence[Event]) -> Sequence[Event]:
    """The events that stand: those of a reply command undone by a later ``undo`` are left out."""
    undone = {e.data.get("target") for e in events if is_undo(e)}
    if not undone:
        return events
    return [e for e in events if e.message_id not in undone or is_undo(e)]


class Fold:
    """What ``project`` keeps while it reads a case's events: give it the effective events in time
    order (``add``), and ``case`` is the case they make so far. The store keeps one per case
    within a transaction, so that a case's new events are added to it, not read again."""

    __slots__ = ("handed_over", "last_response", "opened", "record", "source", "state", "values")

    def __init__(self) -> None:
        self.values: dict[str, str] = {}  # CaseFields text fields (_FIELDS), from the events' data
        self.handed_over = False  # the owner was last set by a handover (a reply command)
        self.state = "unknown"
        self.source = "list"
        self.record = False
        self.opened: datetime | None = None
        self.last_response: datetime | None = None

    def add(self, event: Event) -> None:
        data = event.data
        kind = event.kind
        if data:
            values = self.values
            for name, value in data.items():
                if value is not None and name in _FIELDS:
                    if name == "owner" and self.handed_over and data.get("owner_guessed"):
                        continue  # a notification to the old contact does not undo a handover
                    values[name] = value
            if kind == "handover":
                self.handed_over = True
            elif data.get("owner") and not data.get("owner_guessed"):
                self.handed_over = False  # the vendor states the contact: it wins
            if "state" in data:
                self.state = str(data["state"])
            elif kind == "case_closed":
                self.state = "closed"
            newsletter = bool(data.get("newsletter"))
        else:
            if kind == "case_closed":
                self.state = "closed"
            newsletter = False
        if kind == "case_of_record":
            self.record = True
        elif event.actor in ("vendor", "member", "pm") and not newsletter and kind != "list_mention":
            self.source = "vendor"
        if kind == "case_opened" and self.opened is None:
            self.opened = event.at
        if event.actor == "vendor" and kind in VENDOR_RESPONSES:
            self.last_response = event.at

    def case(self, number: str, related: Iterable[str] = ()) -> Case:
        return Case(
            number=number,
            related=tuple(sorted(set(related))),
            state=self.state,
            source=self.source,
            case_of_record=self.record,
            opened_at=self.opened,
            last_vendor_response_at=self.last_response,
            **self.values,
        )


def folded(events: Sequence[Event]) -> Fold:
    """The effective events folded in time order (ties keep their given order)."""
    fold = Fold()
    for event in sorted(effective(events), key=lambda e: e.at):
        fold.add(event)
    return fold


def project(number: str, events: Sequence[Event], related: Iterable[str] = ()) -> Case:
    """The case its events make (events in time order; ties keep their given order)."""
    return folded(events).case(number, related)
