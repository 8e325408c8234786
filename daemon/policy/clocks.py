"""Whose turn it is: the clocks of one case, read from its timeline (pure).

"Vendor owes us" runs from the case's opening, the vendor's latest response or
our latest comment, until a vendor response. A vendor response is a human
comment or a status change; acknowledgements, pending-customer reminders,
surveys, newsletters and list mail are not. "We owe the vendor" runs while the
status is a pending-customer one and we have not answered since.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from daemon.model import Event
from daemon.timeline import VENDOR_RESPONSES

#: Vendor events that are a response (they restart the ladder): the timeline's own list.
RESPONSES = VENDOR_RESPONSES
#: Our own mail into the case: comments, update and escalation requests, in-case feedback.
OURS = frozenset({"member_comment", "update_requested", "escalation_requested", "in_case_feedback"})
_WHAT = {
    "case_opened": "the case opened",
    "vendor_comment": "the vendor's comment",
    "status_changed": "the vendor's status change",
    "case_closed": "the vendor's closing of the case",
    "case_reopened": "the case reopening",
    "member_comment": "our comment",
    "update_requested": "our update request",
    "escalation_requested": "our escalation request",
    "in_case_feedback": "our in-case feedback",
}


@dataclass(frozen=True)
class Period:
    """One silence of the vendor: from ``since`` until the next vendor response."""

    since: datetime
    since_what: str
    waiting_from: datetime  # ``since`` or our latest comment after it
    waiting_what: str
    update_requested: datetime | None = None
    escalation_requested: datetime | None = None
    feedback: datetime | None = None


@dataclass(frozen=True)
class Command:
    """A reply command recorded on the timeline (snooze, mute, unmute, agenda ...)."""

    name: str
    at: datetime
    action: str | None = None  # the action kind it is about; None for all
    until: datetime | None = None
    actor: str = "member"


@dataclass(frozen=True, slots=True)
class Clocks:
    state: str = "unknown"
    turn: str | None = None  # "vendor", "customer" or None (closed, unknown)
    period: Period | None = None  # set when turn == "vendor"
    opened_at: datetime | None = None
    progress_since: datetime | None = None  # last vendor response, else opening
    progress_what: str = ""
    pending_since: datetime | None = None  # set when turn == "customer"
    closed_at: datetime | None = None  # set when state == "closed"
    priorities: tuple[tuple[datetime, str], ...] = ()  # (since, priority), each change
    listed_at: datetime | None = None  # first mention on a list
    commands: tuple[Command, ...] = ()
    handovers: tuple[Event, ...] = ()
    describe_at: datetime | None = None  # when the description was first given


def instant(value: object) -> datetime | None:
    """An aware datetime from an event's data (a datetime or an ISO 8601 string with an offset)."""
    if isinstance(value, datetime):
        return value
    if isinstance(value, str) and value:
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            return None
        return parsed if parsed.tzinfo else None
    return None


class _Silence:
    """A ``Period`` while the walk builds it (mutable, so the walk stays linear and cheap)."""

    __slots__ = ("escalation", "feedback", "since", "since_what", "update", "waiting_from", "waiting_what")

    def __init__(self, at: datetime, what: str) -> None:
        self.since = self.waiting_from = at
        self.since_what = self.waiting_what = what
        self.update: datetime | None = None
        self.escalation: datetime | None = None
        self.feedback: datetime | None = None

    def ours(self, e: Event) -> None:
        """Our comment, update request, escalation request or in-case feedback."""
        if e.at >= self.waiting_from:
            self.waiting_from, self.waiting_what = e.at, _WHAT[e.kind]
        if e.kind == "update_requested" and self.update is None:
            self.update = e.at
        elif e.kind == "escalation_requested" and self.escalation is None:
            self.escalation = e.at
        elif e.kind == "in_case_feedback" and self.feedback is None:
            self.feedback = e.at

    def freeze(self) -> Period:
        return Period(
            self.since,
            self.since_what,
            self.waiting_from,
            self.waiting_what,
            self.update,
            self.escalation,
            self.feedback,
        )


def read(events: Sequence[Event]) -> Clocks:
    """The clocks as the events (already limited to "now", in time order) leave them."""
    state = "unknown"
    priority: str | None = None
    opened = progress = pending = closed = listed = described = None
    history: list[tuple[datetime, str]] = []
    progress_what = ""
    silence: _Silence | None = None
    answered = False  # we have answered since the case became pending
    commands: list[Command] = []
    handovers: list[Event] = []
    for e in events:
        d = e.data
        kind = e.kind
        if d:
            if d.get("newsletter"):
                continue  # a vendor mailing citing the case: a mention, nothing more
            new_state = d.get("state") or ("closed" if kind == "case_closed" else state)
            new_priority = d.get("priority")
            if new_priority and new_priority != priority:
                priority = str(new_priority)
                history.append((e.at, priority))
            if described is None and d.get("description"):
                described = e.at
        else:
            new_state = "closed" if kind == "case_closed" else state
        if kind == "case_opened" and opened is None:
            opened = e.at
            if progress is None:
                progress, progress_what = e.at, _WHAT["case_opened"]
        elif kind in ("list_mention", "case_of_record") and listed is None and e.actor in ("list", "pm"):
            listed = e.at

        if new_state != state:
            pending = e.at if new_state == "pending_customer" else None
            closed = e.at if new_state == "closed" else None
            if new_state == "pending_customer":
                answered = False
            state = str(new_state)

        if e.actor == "vendor" and kind in RESPONSES:
            progress = e.at
            progress_what = _WHAT[kind]
            if state == "pending_customer" and answered:
                pending, answered = e.at, False  # the vendor asks again
            silence = _Silence(e.at, _WHAT[kind])
        elif kind in OURS and e.actor in ("member", "pm"):
            if silence is None or (state == "pending_customer" and not answered):
                silence = _Silence(e.at, _WHAT[kind])
            if state == "pending_customer":
                answered = True
            silence.ours(e)
        elif kind == "case_opened" and silence is None:
            silence = _Silence(e.at, _WHAT["case_opened"])
        elif kind == "command":
            command = _command(e)
            if command is not None:
                commands.append(command)
        elif kind == "handover":
            handovers.append(e)

    if state == "closed":
        turn = None
    elif state == "pending_customer" and not answered:
        turn = "customer"
    elif state in ("open", "pending_customer"):
        turn = "vendor"
    else:
        turn = None
    return Clocks(
        state=state,
        turn=turn,
        period=silence.freeze() if turn == "vendor" and silence else None,
        opened_at=opened,
        progress_since=progress,
        progress_what=progress_what,
        pending_since=pending if turn == "customer" else None,
        closed_at=closed if state == "closed" else None,
        priorities=tuple(history),
        listed_at=listed,
        commands=tuple(commands),
        handovers=tuple(handovers),
        describe_at=described,
    )


def _command(e: Event) -> Command | None:
    name = e.data.get("command")
    if not isinstance(name, str):
        return None
    action = e.data.get("action")
    return Command(
        name=name,
        at=e.at,
        action=action if isinstance(action, str) and action else None,
        until=instant(e.data.get("until")),
        actor=e.actor,
    )


def since_in(history: Sequence[tuple[datetime, str]], wanted: Sequence[str]) -> datetime | None:
    """Since when the priority has been one of ``wanted`` without a break; None if it is not now."""
    since = None
    for at, priority in history:
        since = (since or at) if priority in wanted else None
    return since
