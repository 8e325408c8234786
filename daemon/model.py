"""Domain values: plain frozen dataclasses, no behaviour beyond small derivations.

These are what flows between the pure core (recognize, timeline) and the shell
(sources, store, cli). Instants are always timezone-aware ``datetime`` values.
"""

from __future__ import annotations

from dataclasses import dataclass, field, is_dataclass
from datetime import datetime
from typing import Any, Literal, TypeGuard, TypeVar, get_args

#: Event kinds of the outside contract (spec/contract.md); ``EVENT_KINDS`` lists them.
EventKind = Literal[
    "case_opened",
    "vendor_comment",
    "member_comment",
    "update_requested",
    "status_changed",
    "priority_changed",
    "pending_customer_reminder",
    "escalation_requested",
    "escalation_acknowledged",
    "in_case_feedback",
    "case_closed",
    "case_reopened",
    "survey_invited",
    "list_mention",
    "case_of_record",
    "reminder_sent",
    "command",
    "handover",
]
EVENT_KINDS: tuple[EventKind, ...] = get_args(EventKind)

PRIORITIES = ("system_down", "high", "normal", "low")

#: Action kinds of the outside contract (spec/contract.md), in ladder order first.
ActionKind = Literal[
    "request_update",
    "escalate",
    "pm_assist",
    "pm_system_down",
    "pm_stalled_high",
    "customer_turn",
    "survey",
    "share_on_list",
    "description_gaps",
    "widespread",
    "agenda",
    "coordinator_contact",
    "post_call_followup",
    "handover",
    "pm_escalation",
    "owner_inactive",
    "owner_unreachable",
    "record_update",
    "digest",
]
ACTION_KINDS: tuple[ActionKind, ...] = get_args(ActionKind)
#: Kinds no rule produces: ``backlog`` summarizes, per PM, actions too old to send one by one.
SummaryKind = Literal["backlog"]
SUMMARY_KINDS: tuple[SummaryKind, ...] = get_args(SummaryKind)
#: What an action (and so a message we send) can be: a rule's kind or a summary's.
MessageKind = Literal[ActionKind, SummaryKind]
MESSAGE_KINDS: tuple[MessageKind, ...] = get_args(MessageKind)
STATES = ("open", "pending_customer", "closed", "unknown")


def is_event_kind(text: str) -> TypeGuard[EventKind]:
    """Whether ``text`` (from outside: a database row, a reply) names an event kind."""
    return text in EVENT_KINDS


def is_message_kind(text: str) -> TypeGuard[MessageKind]:
    """Whether ``text`` (from outside: a database row, a function's name) names an action kind."""
    return text in MESSAGE_KINDS


def message_kind(text: str) -> MessageKind:
    """``text`` as an action (message) kind; ``ValueError`` if it names none."""
    if is_message_kind(text):
        return text
    raise ValueError(f"unknown action kind {text!r}")


@dataclass(frozen=True)
class RawMessage:
    """The bytes of one message and where they came from; sources produce these."""

    data: bytes
    origin: str  # a path, "path#3" inside an mbox, or "imap:FOLDER:UID"
    internaldate: datetime | None = None
    folder: str | None = None
    uid: int | None = None


@dataclass(frozen=True)
class Cursor:
    """How far a folder has been read: everything up to ``last_uid`` is stored."""

    folder: str
    uidvalidity: int
    last_uid: int


@dataclass(frozen=True)
class FetchFailure:
    """A message the source could not fetch at all (e.g. the server answers NO)."""

    origin: str
    reason: str
    folder: str | None = None
    uid: int | None = None


@dataclass(frozen=True)
class Batch:
    """What a source hands over for one transaction: messages, failures, new cursor."""

    messages: tuple[RawMessage, ...]
    failures: tuple[FetchFailure, ...] = ()
    cursor: Cursor | None = None


@dataclass(frozen=True)
class CaseFields:
    """What a message says about a case; ``None`` means it does not say."""

    title: str | None = None
    priority: str | None = None  # normalized: one of PRIORITIES
    status: str | None = None  # the vendor's own status text
    owner: str | None = None  # e-mail address
    institution: str | None = None  # institution code
    asset: str | None = None
    category: str | None = None
    subcategory: str | None = None
    description: str | None = None
    # The owner was not stated (no Contact label) but guessed from the notification's To:
    owner_guessed: bool = False
    # The owner's name beside their address ("Contact: Jane Doe (jdoe@wwu.edu)"), for drafts
    owner_name: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v is not None and v is not False}


@dataclass(frozen=True)
class Recognition:
    """What the recognizers make of one message (pure output, no case state).

    ``family`` is one of vendor, member, list, noise, other; ``kind`` names what
    the message is within its family (see ``daemon.recognize.classify``).
    """

    family: str
    kind: str
    cases: tuple[str, ...] = ()
    fields: CaseFields = field(default_factory=CaseFields)
    thread_keys: tuple[str, ...] = ()
    parent_ids: tuple[str, ...] = ()
    record_case: str | None = None
    sender: str | None = None
    summary: str = ""
    reason: str = ""
    token: str | None = None  # a reply to our mail: the Reply-To token it was sent to
    reply_text: str = ""  # a reply to our mail: its new text (above the quote)
    # A delivery report about a message of ours (its Message-ID first in ``parent_ids``): the
    # recipients that failed, with their status ("5.1.1"); ``cases`` are that message's cases.
    failed: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class Event:
    """One entry of a case's timeline."""

    case: str
    at: datetime
    kind: EventKind
    actor: str  # vendor, member, list, pm, system
    message_id: str | None
    summary: str
    data: dict[str, Any] = field(default_factory=dict, hash=False, compare=True)

    def to_json(self) -> dict[str, Any]:
        return {
            "at": self.at.isoformat(),
            "kind": self.kind,
            "actor": self.actor,
            "message_id": self.message_id,
            "summary": self.summary,
        }


_T = TypeVar("_T")
#: Per class: its fields' names, and each slot's getter and setter (``evolve``).
_SLOTS: dict[type, tuple[frozenset[str], tuple[tuple[str, Any, Any], ...]]] = {}


def evolve(obj: _T, **changes: Any) -> _T:
    """``dataclasses.replace(obj, **changes)`` for a frozen dataclass with slots and no
    ``__post_init__`` (Event, Case, Action, the engine's Context ...), copying slot by slot instead
    of calling ``__init__`` with every field: the same value in about a third of the time."""
    cls = type(obj)
    known = _SLOTS.get(cls)
    if known is None:
        names = getattr(cls, "__slots__", None)
        if not is_dataclass(cls) or names is None or hasattr(cls, "__post_init__"):
            raise TypeError(f"evolve: {cls.__name__} is not a dataclass with slots and no __post_init__")
        slots = tuple((n, cls.__dict__[n].__get__, cls.__dict__[n].__set__) for n in names)
        known = _SLOTS[cls] = (frozenset(names), slots)
    if not known[0].issuperset(changes):
        raise TypeError(f"evolve: {cls.__name__} has no field {sorted(set(changes) - known[0])[0]!r}")
    new: _T = object.__new__(cls)
    for name, get, put in known[1]:
        put(new, changes[name] if name in changes else get(obj))
    return new


#: Event's slot setters, in field order (``stored_event``).
_EVENT_SETTERS = tuple(Event.__dict__[name].__set__ for name in Event.__slots__)


def stored_event(
    case: str,
    at: datetime,
    kind: EventKind,
    actor: str,
    message_id: str | None,
    summary: str,
    data: dict[str, Any],
) -> Event:
    """``Event(case, at, kind, actor, message_id, summary, data)`` made without the frozen
    dataclass's ``__init__`` (which sets each field through ``object.__setattr__``): the same
    value in about a third of the time, for the store's reads of thousands of rows."""
    event: Event = object.__new__(Event)
    c, a, k, w, m, s, d = _EVENT_SETTERS
    c(event, case)
    a(event, at)
    k(event, kind)
    w(event, actor)
    m(event, message_id)
    s(event, summary)
    d(event, data)
    return event


@dataclass(frozen=True, slots=True)
class Link:
    """Two cases about the same problem; stored once with ``a < b``."""

    a: str
    b: str
    reason: str
    at: datetime | None = None  # when the mail that made the link was sent

    @staticmethod
    def of(x: str, y: str, reason: str, at: datetime | None = None) -> Link:
        a, b = sorted((x, y))
        return Link(a, b, reason, at)


@dataclass(frozen=True, slots=True)
class Case:
    """A case as its timeline makes it, at some instant."""

    number: str
    title: str | None = None
    institution: str | None = None
    owner: str | None = None
    priority: str | None = None
    status: str | None = None
    state: str = "unknown"
    source: str = "list"
    case_of_record: bool = False
    related: tuple[str, ...] = ()
    opened_at: datetime | None = None
    last_vendor_response_at: datetime | None = None
    asset: str | None = None
    category: str | None = None
    subcategory: str | None = None
    description: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "case": self.number,
            "title": self.title,
            "institution": self.institution,
            "owner": self.owner,
            "priority": self.priority,
            "status": self.status,
            "state": self.state,
            "source": self.source,
            "case_of_record": self.case_of_record,
            "related": list(self.related),
            "opened_at": self.opened_at.isoformat() if self.opened_at else None,
            "last_vendor_response_at": (
                self.last_vendor_response_at.isoformat() if self.last_vendor_response_at else None
            ),
            "asset": self.asset,
            "category": self.category,
            "subcategory": self.subcategory,
        }


@dataclass(frozen=True, slots=True)
class Basis:
    """The arithmetic behind an action's due time, for people (``casewatch explain``)."""

    clock: str  # e.g. "vendor owes us"
    since: datetime  # when the clock started running
    since_what: str  # what started it, e.g. "the vendor's status change"
    threshold: str  # e.g. "2 business days"
    business: bool = False  # measured in working time
    around_the_clock: bool = False  # the 24x7 clock of system-down cases
    before: bool = False  # due ``threshold`` before ``since`` (the agenda before a call)


@dataclass(frozen=True, slots=True)
class Action:
    """Something due to someone: a reminder, an alert, a draft, a digest.

    ``key`` is the idempotency key (kind, case or cluster, and the start of the
    period it belongs to); ``marks`` are the keys that sending it uses up, so a
    grown cluster alerts again but the same cluster never does.
    """

    kind: MessageKind
    case: str | None
    to: tuple[str, ...]
    due_at: datetime
    reason: str
    key: str
    cc: tuple[str, ...] = ()
    cases: tuple[str, ...] = ()
    area: str | None = None
    marks: tuple[str, ...] = ()
    basis: Basis | None = None
    data: dict[str, Any] = field(default_factory=dict, hash=False, compare=True)
    urgent: bool = False  # about a case on the 24x7 clock: sent outside working hours too
    stale: bool = False  # due more than ``[sending] stale_after`` ago: summarized, not mailed alone

    @property
    def all_marks(self) -> tuple[str, ...]:
        return (self.key, *self.marks)

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "case": self.case,
            "to": list(self.to),
            "due_at": self.due_at.isoformat(),
            "reason": self.reason,
            "cc": list(self.cc),
            "cases": list(self.cases) if self.cases else ([self.case] if self.case else []),
            "area": self.area,
            "key": self.key,
            "stale": self.stale,
        }
