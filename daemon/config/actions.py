"""The ``[actions]`` tables: one frozen dataclass per action kind, whether it is on and its
thresholds (durations are ``Duration`` values, read once when the config is loaded)."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field

from daemon.timeparts import Duration, duration

#: What a case description is checked for (``[actions.description_gaps]``).
CHECKLIST = ("steps", "impact", "troubleshooting", "who_else", "related_cases", "category", "subcategory")
PRIORITY_NAMES = ("system_down", "high", "normal", "low")


@dataclass(frozen=True)
class Ladder:
    """Thresholds of one step of the ladder, by priority (a case of no known priority is normal)."""

    enabled: bool = True
    system_down: Duration = duration("4 hours")
    high: Duration = duration("1 business day")
    normal: Duration = duration("2 business days")
    low: Duration = duration("3 business days")


@dataclass(frozen=True)
class RequestUpdate(Ladder):
    pass


@dataclass(frozen=True)
class Escalate(Ladder):
    pass


@dataclass(frozen=True)
class PmAssist(Ladder):
    system_down: Duration = duration("3 business days")
    high: Duration = duration("3 business days")
    normal: Duration = duration("3 business days")
    low: Duration = duration("3 business days")


@dataclass(frozen=True)
class PmSystemDown:
    enabled: bool = True


@dataclass(frozen=True)
class PmStalledHigh:
    enabled: bool = True
    after: Duration = duration("30 days")
    priorities: tuple[str, ...] = ("system_down", "high")
    # A vendor comment matching one of these (regular expressions, any case) is no progress.
    no_progress: tuple[str, ...] = (
        r"\bstill (investigating|looking into|working on|reviewing|checking)\b",
        r"\bno (new )?update(s)? (at this time|yet|so far)\b",
        r"\b(continu|keep)\w* to (investigate|look into|work on)\b",
        r"\bwe will (update|get back to) you\b",
        r"\b(priority|severity) (has been |was )?(changed|raised|increased|updated|set)\b",
    )


@dataclass(frozen=True)
class CustomerTurn:
    enabled: bool = True
    after: tuple[Duration, ...] = (duration("5 days"), duration("21 days"))


@dataclass(frozen=True)
class Survey:
    enabled: bool = True
    after: Duration = duration("1 business day")
    window: Duration = duration("14 days")  # after this long past its due time, a survey reminder is dropped
    # A member writing on the closed case one of these (regular expressions, any case) disputes
    # the closing: the reminder suggests reopening instead of the survey.
    still_there: tuple[str, ...] = (
        r"\b(happening|occurring|failing|broken) again\b",
        r"\bstill (happening|occurring|there|broken|failing|not working|an issue|a problem|see)",
        r"\b(is|are|has|have) (come )?back\b",
        r"\bnot (been )?(fixed|resolved)\b",
        r"\brecurr",
        r"\breopen",
    )


@dataclass(frozen=True)
class ShareOnList:
    enabled: bool = True
    after: Duration = duration("1 business day")
    priorities: tuple[str, ...] = ("system_down", "high")


@dataclass(frozen=True)
class DescriptionGaps:
    """The case-description checklist: each item is found by any of its patterns."""

    enabled: bool = True
    window: Duration = duration("14 days")  # after this long past the opening, the reminder is dropped
    # Items whose absence raises the reminder; the others are only suggested in it.
    required: tuple[str, ...] = ("steps", "impact", "category", "subcategory")
    steps: tuple[str, ...] = (
        r"\bsteps?\b",
        r"\breproduc",
        r"^\s*\d+[.)]\s",
        r"\s\d[.)]\s+\S",
        r"\bscreen ?shots?\b",
        r"\bvideo\b",
        r"\bgo to\b",
        r"\bclick",
        r"\bnavigate\b",
    )
    impact: tuple[str, ...] = (
        r"\bimpact",
        r"\baffect",
        r"\bblock",
        r"\bprevent",
        r"\b\d[\d,]*\+? (patrons|users|students|staff|courses|titles|records|items|requests|orders"
        r"|invoices|libraries|loans|people)\b",
        r"\b(whole|entire) (campus|library|institution|consortium)\b",
        r"\b(all|every|no) (users?|patrons?|staff|students?)\b",
        r"\bunable to\b",
        r"\bcannot (work|serve|process|fulfil)",
    )
    troubleshooting: tuple[str, ...] = (
        r"\btried\b",
        r"\btroubleshoot",
        r"\bwe (checked|tested|cleared|re-?ran|restarted|verified|confirmed)\b",
        r"\bworkaround\b",
        r"\bno change\b",
    )
    who_else: tuple[str, ...] = (
        r"\b(colleague|others?|also|who else|several|multiple) .{0,40}"
        r"(replicat|reproduc|see|seen|encounter|report)",
        r"\b(can|could) (also )?(replicate|reproduce)\b",
    )
    related_cases: tuple[str, ...] = (
        r"\b(case|cases|SF|salesforce)\s*#?\s*\d{6,8}\b",
        r"\bsame as\b",
        r"\bother (alliance )?(schools|libraries|institutions)\b",
    )


@dataclass(frozen=True)
class Widespread:
    enabled: bool = True
    institutions: int = 3


@dataclass(frozen=True)
class AgendaRule:
    enabled: bool = True
    before: Duration = duration("7 days")


@dataclass(frozen=True)
class CoordinatorContact:
    enabled: bool = True
    within: Duration = duration("7 days")


@dataclass(frozen=True)
class PostCallFollowup:
    enabled: bool = True
    after: Duration = duration("1 day")


@dataclass(frozen=True)
class HandoverRule:
    enabled: bool = True


@dataclass(frozen=True)
class PmEscalation:
    enabled: bool = True


@dataclass(frozen=True)
class OwnerInactive:
    enabled: bool = True
    after: Duration = duration("2 business days")


@dataclass(frozen=True)
class OwnerUnreachable:
    enabled: bool = True


@dataclass(frozen=True)
class RecordUpdate:
    enabled: bool = True


@dataclass(frozen=True)
class DigestRule:
    enabled: bool = True
    weekday: str = "monday"
    time: datetime.time = datetime.time(8, 0)
    skip_after: Duration = duration("1 day")  # a slot missed by more than this is skipped, never sent late


@dataclass(frozen=True)
class Actions:
    """One table per action kind: whether it is on, and its thresholds."""

    request_update: RequestUpdate = field(default_factory=RequestUpdate)
    escalate: Escalate = field(default_factory=Escalate)
    pm_assist: PmAssist = field(default_factory=PmAssist)
    pm_system_down: PmSystemDown = field(default_factory=PmSystemDown)
    pm_stalled_high: PmStalledHigh = field(default_factory=PmStalledHigh)
    customer_turn: CustomerTurn = field(default_factory=CustomerTurn)
    survey: Survey = field(default_factory=Survey)
    share_on_list: ShareOnList = field(default_factory=ShareOnList)
    description_gaps: DescriptionGaps = field(default_factory=DescriptionGaps)
    widespread: Widespread = field(default_factory=Widespread)
    agenda: AgendaRule = field(default_factory=AgendaRule)
    coordinator_contact: CoordinatorContact = field(default_factory=CoordinatorContact)
    post_call_followup: PostCallFollowup = field(default_factory=PostCallFollowup)
    handover: HandoverRule = field(default_factory=HandoverRule)
    pm_escalation: PmEscalation = field(default_factory=PmEscalation)
    owner_inactive: OwnerInactive = field(default_factory=OwnerInactive)
    owner_unreachable: OwnerUnreachable = field(default_factory=OwnerUnreachable)
    record_update: RecordUpdate = field(default_factory=RecordUpdate)
    digest: DigestRule = field(default_factory=DigestRule)
