"""Configuration: a TOML file read with ``tomllib`` into frozen dataclasses.

Every key has a default except the few the contract names; unknown keys are
errors; every problem is collected and reported at once (``ConfigError``), each
with its key and a hint. Secrets never live in the file: a setting ending in
``_env`` names an environment variable, one ending in ``_command`` a command
whose first output line is the secret.

The defaults below are documented, line by line, in ``config.example.toml``.
"""

from __future__ import annotations

import dataclasses
import math
import os
import shlex
import subprocess
import tomllib
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from daemon.errors import ConfigError, Problem, UsageError

DEFAULT_PATH = "config.toml"
ENV_VAR = "CASEWATCH_CONFIG"


@dataclass(frozen=True)
class Consortium:
    name: str = "Orbis Cascade Alliance"
    timezone: str = "America/Los_Angeles"


@dataclass(frozen=True)
class State:
    db: str = "state/casewatch.db"


@dataclass(frozen=True)
class Institution:
    code: str
    name: str = ""
    domains: tuple[str, ...] = ()
    # Its own business calendar for its owners' reminders ("" / [] = the consortium's [calendar]).
    holidays_subdivision: str = ""
    closures: tuple[str, ...] = ()


@dataclass(frozen=True)
class ProgramManager:
    name: str
    email: str
    areas: tuple[str, ...] = ()


@dataclass(frozen=True)
class Outbound:
    from_address: str = "casewatch@orbiscascade.org"
    transport: str = "file"
    folder: str = "state/outbox"


@dataclass(frozen=True)
class Smtp:
    """The SMTP server of ``[outbound] transport = "smtp"``."""

    host: str = "localhost"
    port: int = 0  # 0: 465 for tls, 587 for starttls, 25 for plain
    security: str = "starttls"  # tls (implicit), starttls, or plain (loopback only)
    verify_tls: bool = True
    username: str = ""  # "": no AUTH
    password_env: str = "CASEWATCH_SMTP_PASSWORD"
    password_command: str = ""
    # A command printing a current OAuth 2 access token (SASL XOAUTH2); "": log in with the password.
    oauth2_token_command: str = ""
    timeout: float = 30.0


@dataclass(frozen=True)
class Sending:
    """How the outbox sends: caps, quiet hours, folding, retries, templates."""

    daily_cap: int = 20  # messages per recipient per local day; the rest wait for the next day
    quiet_hours: bool = True  # send only in working hours ([calendar]); system-down mail any time
    fold: bool = True  # several actions due for the same people in one cycle: one message
    retry_for: str = "2 days"  # a temporary failure (4xx, network) is retried this long
    # An action due more than this before the cycle's instant is never mailed on its own:
    # it goes into the PM's one `backlog` message instead.
    stale_after: str = "7 days"
    templates: str = ""  # a folder of site templates overriding the built-in ones ("" for none)


@dataclass(frozen=True)
class Daemon:
    """``casewatch run``: how often it looks, how it waits, whom it tells when things fail."""

    poll_every: str = "5 minutes"  # a full UID SEARCH of every folder at least this often
    idle: bool = True  # use IMAP IDLE (when the server has it) to wake up early for new mail
    idle_restart: str = "9 minutes"  # IDLE is restarted this often (servers drop it at ~30)
    backoff_max: str = "5 minutes"  # the longest wait between reconnection attempts
    admin: str = ""  # told by mail after `alert_after` failures in a row, and on recovery
    alert_after: int = 3
    metrics_file: str = ""  # a Prometheus text file written after every cycle ("" for none)


@dataclass(frozen=True)
class Replies:
    """Reply commands: who is believed, and how often a confused sender gets help."""

    # Act only on replies whose Authentication-Results (added by our own mail server) say
    # dmarc=pass or dkim=pass.
    require_authentication: bool = False
    # Trust only Authentication-Results headers from this server (authserv-id); "" for any.
    authserv_id: str = ""
    help_per_day: int = 3  # help replies to one sender per day, at most
    help_per_hour: int = 10  # help and refusal replies to anyone in an hour, at most (then only logged)
    token_days: int = 60  # a reply to a message of ours older than this is refused


@dataclass(frozen=True)
class Mailbox:
    """The shared IMAP mailbox. No host: nothing to poll (``poll`` reads nothing)."""

    host: str = ""
    port: int = 0  # 0: 993 for tls, 143 otherwise
    security: str = "tls"  # tls (implicit), starttls, or plain (loopback only)
    verify_tls: bool = True
    username: str = ""
    password_env: str = "CASEWATCH_IMAP_PASSWORD"
    password_command: str = ""
    # A command printing a current OAuth 2 access token (SASL XOAUTH2); "": log in with the password.
    oauth2_token_command: str = ""
    folders: tuple[str, ...] = ("INBOX",)
    timeout: float = 60.0
    batch_size: int = 50
    fetch_retries: int = 2


@dataclass(frozen=True)
class Vendor:
    """Who the vendor is: its sender domains and the addresses members write to."""

    sender_domains: tuple[str, ...] = (
        "proquest.com",
        "exlibrisgroup.com",
        "exlibris.com",
        "clarivate.com",
        "exlibris.co.il",
    )
    # Mail from a vendor address whose local part matches one of these is a human
    # or workflow notification; anything else from the vendor may be a newsletter.
    escalation_local_parts: tuple[str, ...] = ("escalation", "escalations")
    # Where members request escalation (shown in escalation drafts); "" when not known.
    escalation_address: str = ""


@dataclass(frozen=True)
class Recognize:
    """Patterns the recognizers use (Python regular expressions, case-insensitive).

    Each list extends nothing: setting one replaces its default.
    """

    created_subjects: tuple[str, ...] = (
        r"\bhas been (created|opened|submitted|logged)\b",
        r"\bcase\s*#?\s*\d{6,8}\b.*\breceived\b",
        r"\bnew case\b",
    )
    comment_subjects: tuple[str, ...] = (
        r"\bnew comment\b",
        r"\bcomment (added|posted)\b",
        r"\bhas been updated\b",
        r"\bupdate on your\b",
        r"\bresponse (on|to) (your )?case\b",
    )
    status_subjects: tuple[str, ...] = (r"\bstatus (changed|updated|change)\b",)
    closed_subjects: tuple[str, ...] = (
        r"\bhas been (closed|resolved)\b",
        r"[-–:]\s*(closed|resolved)\s*$",
        r"\bcase closed\b",
    )
    escalation_ack_subjects: tuple[str, ...] = (
        r"\bescalation (request )?(received|acknowledged|confirmation)\b",
        r"\bescalat\w* .*\b(received|acknowledged)\b",
    )
    pending_reminder_subjects: tuple[str, ...] = (
        r"\bawaiting (your|customer) (response|input|reply)\b",
        r"\bpending (your|customer) (response|input)\b",
        r"^\s*reminder\b",
        r"\bwill be closed\b",
    )
    survey_subjects: tuple[str, ...] = (
        r"\bsurvey\b",
        r"\bhow did we do\b",
        r"\bfeedback (on|about) (your )?(case|support)\b",
        r"\brate (your|our|the) support\b",
        r"\bcustomer satisfaction\b",
    )
    newsletter_subjects: tuple[str, ...] = (
        r"\bnewsletter\b",
        r"\brelease notes?\b",
        r"\bresolved (cases|issues)\b",
        r"\bfixed (cases|issues)\b",
        r"\bwebinar\b",
        r"\bdigest\b",
    )
    comment_body: tuple[str, ...] = (
        r"\bnew comment has been added\b",
        r"\bcomment (was|has been) (added|posted)\b",
        r"\bhas responded\b",
        r"\bhas been updated\b",
    )
    update_request_phrases: tuple[str, ...] = (
        r"\b(provide|give|send|share)( us| me)? (an |any )?(update|status)\b",
        r"\bany (update|news|progress)s?\b",
        r"\b(status|progress) update\b",
        r"\brequest(ing)? (an )?update\b",
        r"\bfollow(ing)?[- ]up on (this|the|our|my) case\b",
        r"\bupdate on (this|the|our|my) case\b",
        r"\bwhere (do )?(things|we) stand\b",
        r"\bhaven'?t (heard|received)\b",
    )
    escalation_phrases: tuple[str, ...] = (r"\bescalat(e|ion|ed)\b",)
    case_of_record_phrases: tuple[str, ...] = (r"\bcase of record\b",)
    pending_customer_statuses: tuple[str, ...] = (
        r"pending customer",
        r"awaiting customer",
        r"waiting (for|on) customer",
        r"customer (input|response) (needed|required)",
    )
    closed_statuses: tuple[str, ...] = (r"\bclosed\b", r"\bresolved\b", r"\bcancell?ed\b")
    # The vendor's own sentences that carry the case number in a notification's body, each with
    # one group: the number ("A new comment has been added to case  08197740.", "Direct Link:").
    case_number_body: tuple[str, ...] = (
        r"\bnew comment has been added to (?:your )?case\s*#?\s*(\d{6,8})\b",
        r"^[ \t>*]*direct link[ \t*]*:[ \t]*(?:\S*?[/=#])?(\d{6,8})\b",
    )
    # Where the comment of a notification starts (it runs from the end of the match up to the
    # notification's own Status / Priority / Description block, or its footer).
    comment_starts: tuple[str, ...] = (
        r"^[ \t>*]*(?:last|latest) comment[ \t*]*:",
        r"\b(?:new comment has been added to|commented on) your case\b[^\n]*:[ \t]*$",
    )
    # Lines of a notification's footer: the comment and the description end before them.
    notification_footer: tuple[str, ...] = (
        r"^[ \t>*]*direct link[ \t*]*:",
        r"^\s*clarivate support\s*$",
        r"^\s*clarivate\W{0,3}(?:\(tm\))?\s+is home for\b",
        r"^\s*reply to this (?:e-?mail|message)\b",
        r"^\s*(?:you can (?:view|update)|to view|view (?:and update )?(?:your|the) case)\b",
        r"thread::",
        r"ref:[_!]00d",
    )
    # Bodies of the vendor's automatic acknowledgements of an escalation request (no comment).
    escalation_ack_body: tuple[str, ...] = (
        r"\byour (?:request to escalate|escalation request)\b[^.]{0,120}\b(?:has been|was|is) "
        r"(?:received|acknowledged)\b",
        r"\b(?:we )?(?:have )?(?:received|acknowledge)d? your (?:request to escalate|escalation)\b",
        r"\byour escalation of case\b[^.]{0,120}\bwas received\b",
    )
    # Bodies of the vendor's automatic "waiting for your reply" reminders (no comment).
    pending_reminder_body: tuple[str, ...] = (
        r"\bis (?:awaiting|pending) your (?:response|input|reply)\b",
        r"\bwill be closed automatically\b",
        r"\bwe have not (?:yet )?(?:heard|received a (?:response|reply)) from you\b",
    )
    # Bodies of satisfaction-survey invitations (no comment).
    survey_body: tuple[str, ...] = (
        r"\b(?:take|complete|fill out) (?:a |our |the |this )?(?:short |brief |quick )?"
        r"(?:customer )?(?:satisfaction )?survey\b",
        r"\brate the support you received\b",
        r"\bhow (?:did we do|satisfied were you)\b",
    )
    # Bodies of "your case was received / created" notifications (no comment).
    created_body: tuple[str, ...] = (
        r"\byour (?:new )?case\b[^.\n]{0,200}\bhas been (?:received|created|opened|logged)\b",
    )
    # Lines that say nothing of their own (greetings, sign-offs, headings of the vendor's
    # templates): a mail with a Status and only such lines besides its labels is a status change.
    boilerplate: tuple[str, ...] = (
        r"^(?:hi|hello|dear|greetings)\b",
        r"^(?:thank you|thanks|kind regards|best regards|regards|sincerely)\b",
        r"^(?:ex libris|clarivate|proquest)\b",
        r"^(?:case|status) (?:update|updated|status changed|notification)\W*$",
        r"^the status of your case\b",
        r"^your case\b[^.]{0,200}\bhas been updated\b",
        r"^(?:please )?do not reply\b",
        r"^(?:this is an automated|this message was sent automatically)\b",
    )


@dataclass(frozen=True)
class Labels:
    """Synonyms of the field labels in vendor notifications (matched case-insensitively)."""

    title: tuple[str, ...] = ("Subject", "Case Subject", "Title", "Case Title")
    priority: tuple[str, ...] = ("Priority", "Case Priority", "Severity")
    status: tuple[str, ...] = ("Status", "Current status", "Case Status", "New Status")
    owner: tuple[str, ...] = ("Contact", "Case Contact", "Contact Name", "Primary Contact")
    account: tuple[str, ...] = ("Account", "Institution", "Account Name", "Customer")
    asset: tuple[str, ...] = ("Asset", "Product", "Product/Service")
    category: tuple[str, ...] = ("Category", "Case Category")
    subcategory: tuple[str, ...] = ("Sub-Category", "Subcategory", "Sub Category")
    description: tuple[str, ...] = ("Description", "Case Description", "Problem Description")


@dataclass(frozen=True)
class PriorityNames:
    """The vendor's priority words, each mapped to one of four normalized priorities."""

    system_down: tuple[str, ...] = (
        "system/component down",
        "system down",
        "component down",
        "critical",
        "urgent",
        "p1",
    )
    high: tuple[str, ...] = ("high", "p2", "major")
    normal: tuple[str, ...] = ("normal", "medium", "p3", "moderate")
    low: tuple[str, ...] = ("low", "p4", "minor")


@dataclass(frozen=True)
class Lists:
    """Mailing lists; detected from headers. These addresses count as lists too."""

    addresses: tuple[str, ...] = ()
    # Domains of list servers whose rewritten senders hide the poster (DMARC).
    listserv_markers: tuple[str, ...] = ("listserv",)
    # A post citing more case numbers than this records mentions of known cases only, and
    # links none: a pasted report of thousands of numbers creates no list-only case.
    max_citations: int = 25


@dataclass(frozen=True)
class Areas:
    """Routing of a case to a functional area, from its asset / category."""

    fallback: str = "systems"
    # Matched against "asset / category / subcategory", lower-cased, first match wins.
    by_category: Mapping[str, str] = field(
        default_factory=lambda: types.MappingProxyType(
            {
                "fulfillment": "fulfillment",
                "course reserves": "fulfillment",
                "resource sharing": "fulfillment",
                "acquisitions": "technical services",
                "resource management": "technical services",
                "electronic resources": "technical services",
                "analytics": "systems",
                "primo": "discovery",
                "search": "discovery",
                "discovery": "discovery",
            }
        )
    )


@dataclass(frozen=True)
class Calendar:
    """Business time: working days and hours in the consortium's time zone, minus holidays."""

    workdays: tuple[str, ...] = ("monday", "tuesday", "wednesday", "thursday", "friday")
    day_starts: str = "08:00"
    day_ends: str = "17:00"
    # Public holidays from the `holidays` package: an ISO country code and, optionally,
    # a subdivision (a state such as "WA"); "" for no holidays.
    holidays_country: str = "US"
    holidays_subdivision: str = ""
    # Extra closure dates, "YYYY-MM-DD" (e.g. the day after Thanksgiving, winter closure).
    closures: tuple[str, ...] = ()
    # Priorities whose cases run on the calendar clock, 24x7 (a business day is 24 hours).
    around_the_clock: tuple[str, ...] = ("system_down",)


@dataclass(frozen=True)
class SupportCall:
    """The monthly Alliance / Ex Libris support call (first Wednesday of each month)."""

    weekday: str = "wednesday"
    week: int = 1  # 1-4: which one of the month; -1: the last
    time: str = "10:00"
    coordinator: str = ""  # the support-call coordinator's address; "" if none
    # A call falling on a holiday or closure moves to the next working one of its weekday.
    move_off_holidays: bool = True


@dataclass(frozen=True)
class Ladder:
    """Thresholds of one step of the ladder, by priority (a case of no known priority is normal)."""

    enabled: bool = True
    system_down: str = "4 hours"
    high: str = "1 business day"
    normal: str = "2 business days"
    low: str = "3 business days"


@dataclass(frozen=True)
class RequestUpdate(Ladder):
    pass


@dataclass(frozen=True)
class Escalate(Ladder):
    pass


@dataclass(frozen=True)
class PmAssist(Ladder):
    system_down: str = "3 business days"
    high: str = "3 business days"
    normal: str = "3 business days"
    low: str = "3 business days"


@dataclass(frozen=True)
class PmSystemDown:
    enabled: bool = True


@dataclass(frozen=True)
class PmStalledHigh:
    enabled: bool = True
    after: str = "30 days"
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
    after: tuple[str, ...] = ("5 days", "21 days")


@dataclass(frozen=True)
class Survey:
    enabled: bool = True
    after: str = "1 business day"
    window: str = "14 days"  # after this long past its due time, a survey reminder is dropped
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
    after: str = "1 business day"
    priorities: tuple[str, ...] = ("system_down", "high")


@dataclass(frozen=True)
class DescriptionGaps:
    """The case-description checklist: each item is found by any of its patterns."""

    enabled: bool = True
    window: str = "14 days"  # after this long past the opening, the reminder is dropped
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
    before: str = "7 days"


@dataclass(frozen=True)
class CoordinatorContact:
    enabled: bool = True
    within: str = "7 days"


@dataclass(frozen=True)
class PostCallFollowup:
    enabled: bool = True
    after: str = "1 day"


@dataclass(frozen=True)
class HandoverRule:
    enabled: bool = True


@dataclass(frozen=True)
class PmEscalation:
    enabled: bool = True


@dataclass(frozen=True)
class OwnerInactive:
    enabled: bool = True
    after: str = "2 business days"


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
    time: str = "08:00"
    skip_after: str = "1 day"  # a slot missed by more than this is skipped, never sent late


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


@dataclass(frozen=True)
class Config:
    consortium: Consortium = field(default_factory=Consortium)
    state: State = field(default_factory=State)
    institutions: tuple[Institution, ...] = ()
    program_managers: tuple[ProgramManager, ...] = ()
    outbound: Outbound = field(default_factory=Outbound)
    smtp: Smtp = field(default_factory=Smtp)
    sending: Sending = field(default_factory=Sending)
    replies: Replies = field(default_factory=Replies)
    daemon: Daemon = field(default_factory=Daemon)
    mailbox: Mailbox = field(default_factory=Mailbox)
    vendor: Vendor = field(default_factory=Vendor)
    recognize: Recognize = field(default_factory=Recognize)
    labels: Labels = field(default_factory=Labels)
    priorities: PriorityNames = field(default_factory=PriorityNames)
    lists: Lists = field(default_factory=Lists)
    areas: Areas = field(default_factory=Areas)
    calendar: Calendar = field(default_factory=Calendar)
    support_call: SupportCall = field(default_factory=SupportCall)
    actions: Actions = field(default_factory=Actions)
    # Where the file was read from (None: the built-in defaults). Relative paths of a file
    # read are made relative to its folder by ``load`` (see ``PATH_KEYS``).
    path: str | None = None

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.consortium.timezone)

    def institution_for_domain(self, domain: str) -> Institution | None:
        domain = domain.lower()
        for inst in self.institutions:
            for inst_domain in inst.domains:
                d = inst_domain.lower()
                if domain == d or domain.endswith("." + d):
                    return inst
        return None

    def is_pm(self, address: str) -> bool:
        address = address.lower()
        return any(pm.email.lower() == address for pm in self.program_managers)

    def is_ours(self, address: str) -> bool:
        """An address of the consortium's own: casewatch's, the shared mailbox's, or a list's
        (``[lists] addresses``). Never a case owner, never sent a reply of casewatch's."""
        address = address.lower()
        own = (self.outbound.from_address, self.mailbox.username, *self.lists.addresses)
        local, _, domain = self.outbound.from_address.lower().partition("@")
        base = address.partition("@")[0].partition("+")[0]
        plus_of_ours = address.endswith("@" + domain) and base == local  # casewatch+token@...
        return plus_of_ours or any(address == a.lower() for a in own if a)


# --------------------------------------------------------------------------- loading

T = TypeVar("T")

_HINTS = {
    "consortium.timezone": "an IANA zone name such as America/Los_Angeles",
    "outbound.transport": 'either "smtp" or "file"',
    "mailbox.security": 'one of "tls", "starttls", "plain"',
    "smtp.security": 'one of "tls", "starttls", "plain"',
}


def _describe(tp: Any) -> str:
    origin = typing.get_origin(tp)
    if origin is tuple:
        item = _describe(typing.get_args(tp)[0]).removeprefix("a ").removeprefix("an ")
        return f"a list of {item}s"
    if dataclasses.is_dataclass(tp):
        return "a table"
    if origin in (Mapping, dict):
        return "a table of strings"
    if origin in (types.UnionType, typing.Union):
        return " or ".join(_describe(a) for a in typing.get_args(tp) if a is not type(None))
    return {str: "a string", int: "an integer", float: "a number", bool: "true or false"}.get(tp, str(tp))


def _convert(tp: Any, value: Any, key: str, problems: list[Problem]) -> Any:
    origin = typing.get_origin(tp)
    if origin in (types.UnionType, typing.Union):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        return _convert(args[0], value, key, problems)
    if dataclasses.is_dataclass(tp) and isinstance(tp, type):
        if not isinstance(value, dict):
            problems.append(Problem(key, f"must be {_describe(tp)}", f"write [{key}]"))
            return None
        return _build(tp, value, key, problems)
    if origin is tuple:
        (item_tp, *_rest) = typing.get_args(tp)
        if not isinstance(value, list):
            problems.append(Problem(key, f"must be {_describe(tp)}", 'e.g. ["a", "b"]'))
            return None
        items = [_convert(item_tp, v, f"{key}[{i}]", problems) for i, v in enumerate(value)]
        return tuple(item for item in items if item is not None)
    if origin in (Mapping, dict):
        if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
            problems.append(Problem(key, "must be a table of strings", 'e.g. "x" = "y"'))
            return None
        return types.MappingProxyType({str(k).lower(): v for k, v in value.items()})
    if tp is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if tp in (str, int, float, bool) and (
        not isinstance(value, tp) or (tp is int and isinstance(value, bool))
    ):
        problems.append(Problem(key, f"must be {_describe(tp)}, not {value!r}"))
        return None
    return value


def _build(cls: type[T], table: dict[str, Any], prefix: str, problems: list[Problem]) -> T:
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls) if f.name != "path"}  # type: ignore[arg-type]
    kwargs: dict[str, Any] = {}
    for name, value in table.items():
        key = f"{prefix}.{name}" if prefix else name
        if name not in fields:
            close = [f for f in fields if f.startswith(name[:3])]
            hint = f"did you mean {close[0]!r}?" if close else f"known keys: {', '.join(fields)}"
            problems.append(Problem(key, "unknown key", hint))
            continue
        converted = _convert(hints[name], value, key, problems)
        if converted is not None:
            kwargs[name] = converted
    missing = [
        n
        for n, f in fields.items()
        if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING and n not in kwargs
    ]
    for name in missing:
        key = f"{prefix}.{name}" if prefix else name
        if name not in table:
            problems.append(Problem(key, "is required", "add it to this table"))
    if missing:
        return None  # type: ignore[return-value]
    return cls(**kwargs)


def _validate(cfg: Config, problems: list[Problem]) -> None:
    import re

    try:
        ZoneInfo(cfg.consortium.timezone)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        problems.append(
            Problem(
                "consortium.timezone",
                f"unknown time zone {cfg.consortium.timezone!r}",
                _HINTS["consortium.timezone"],
            )
        )
    if cfg.outbound.transport not in ("smtp", "file"):
        problems.append(
            Problem(
                "outbound.transport",
                f"unknown transport {cfg.outbound.transport!r}",
                _HINTS["outbound.transport"],
            )
        )
    if "@" not in cfg.outbound.from_address:
        problems.append(
            Problem("outbound.from_address", "must be an e-mail address", "e.g. casewatch@example.org")
        )
    if cfg.mailbox.security not in ("tls", "starttls", "plain"):
        problems.append(
            Problem(
                "mailbox.security",
                f"unknown value {cfg.mailbox.security!r}",
                _HINTS["mailbox.security"],
            )
        )
    if not math.isfinite(cfg.mailbox.timeout) or cfg.mailbox.timeout <= 0:
        problems.append(Problem("mailbox.timeout", "must be more than 0 seconds"))
    if cfg.smtp.security not in ("tls", "starttls", "plain"):
        problems.append(
            Problem("smtp.security", f"unknown value {cfg.smtp.security!r}", _HINTS["smtp.security"])
        )
    if not math.isfinite(cfg.smtp.timeout) or cfg.smtp.timeout <= 0:
        problems.append(Problem("smtp.timeout", "must be more than 0 seconds"))
    if not 0 <= cfg.smtp.port <= 65535:
        problems.append(Problem("smtp.port", "must be a TCP port (0 for the default)"))
    if cfg.outbound.transport == "smtp" and not cfg.smtp.host:
        problems.append(Problem("smtp.host", 'is required when outbound.transport = "smtp"'))
    if cfg.replies.help_per_day < 0:
        problems.append(Problem("replies.help_per_day", "must not be negative", "0 sends no help replies"))
    if cfg.replies.help_per_hour < 0:
        problems.append(Problem("replies.help_per_hour", "must not be negative", "0 sends no help replies"))
    if cfg.replies.token_days < 1:
        problems.append(
            Problem("replies.token_days", "must be at least 1", "days a message's reply address stays valid")
        )
    if cfg.replies.require_authentication and not cfg.replies.authserv_id:
        problems.append(
            Problem(
                "replies.authserv_id",
                "is required with replies.require_authentication = true: without it a forged "
                "Authentication-Results header written by the sender would be believed",
                'set it to the authserv-id your own mail server writes, e.g. "mx.orbiscascade.org"',
            )
        )
    if cfg.lists.max_citations < 1:
        problems.append(
            Problem(
                "lists.max_citations",
                f"must be at least 1, not {cfg.lists.max_citations}",
                "the most case numbers one list post may cite and still open cases (default 25)",
            )
        )
    if cfg.sending.daily_cap < 1:
        problems.append(Problem("sending.daily_cap", "must be at least 1", "messages per recipient per day"))
    if cfg.sending.templates and not Path(cfg.sending.templates).is_dir():
        problems.append(
            Problem(
                "sending.templates",
                f"not a folder: {cfg.sending.templates}",
                "a folder of .txt/.html templates",
            )
        )
    if not 1 <= cfg.mailbox.batch_size <= 1000:
        problems.append(Problem("mailbox.batch_size", "must be between 1 and 1000"))
    if cfg.mailbox.fetch_retries < 0:
        problems.append(Problem("mailbox.fetch_retries", "must not be negative"))
    if not 0 <= cfg.mailbox.port <= 65535:
        problems.append(Problem("mailbox.port", "must be a TCP port (0 for the default)"))
    if cfg.mailbox.host and not cfg.mailbox.username:
        problems.append(Problem("mailbox.username", "is required when mailbox.host is set"))
    _validate_oauth2("mailbox", cfg.mailbox, problems, username_reported=bool(cfg.mailbox.host))
    _validate_oauth2("smtp", cfg.smtp, problems, username_reported=False)
    seen: set[str] = set()
    for i, inst in enumerate(cfg.institutions):
        if inst.code in seen:
            problems.append(Problem(f"institutions[{i}].code", f"duplicate code {inst.code!r}"))
        seen.add(inst.code)
    for i, pm in enumerate(cfg.program_managers):
        if "@" not in pm.email:
            problems.append(Problem(f"program_managers[{i}].email", "must be an e-mail address"))
    for section, obj in (
        ("recognize", cfg.recognize),
        ("actions.description_gaps", cfg.actions.description_gaps),
    ):
        for f in dataclasses.fields(obj):
            if section != "recognize" and f.name in ("enabled", "required", "window"):
                continue
            for j, pattern in enumerate(getattr(obj, f.name)):
                try:
                    re.compile(pattern)
                except re.error as exc:
                    problems.append(
                        Problem(
                            f"{section}.{f.name}[{j}]",
                            f"not a valid regular expression: {exc}",
                            "use single quotes in TOML so backslashes stay as written",
                        )
                    )


def _validate_oauth2(
    section: str, table: Mailbox | Smtp, problems: list[Problem], *, username_reported: bool
) -> None:
    """An OAuth 2 token command replaces the password: not both, and only with a login name."""
    if not table.oauth2_token_command:
        return
    if table.password_command:
        problems.append(
            Problem(
                f"{section}.oauth2_token_command",
                f"cannot be combined with {section}.password_command",
                "set one of them: with a token command the password is not used",
            )
        )
    if not table.username and not username_reported:
        problems.append(
            Problem(
                f"{section}.username",
                f"is required when {section}.oauth2_token_command is set",
                "the account the token was issued for, e.g. casewatch@example.org",
            )
        )


#: What a case description is checked for (``[actions.description_gaps]``).
CHECKLIST = ("steps", "impact", "troubleshooting", "who_else", "related_cases", "category", "subcategory")
PRIORITY_NAMES = ("system_down", "high", "normal", "low")


def _validate_policy(cfg: Config, problems: list[Problem]) -> None:
    """The calendar, the support call and the action thresholds."""
    import re
    from datetime import date

    from daemon.timeparts import WEEKDAYS, check_holidays, parse_clock
    from daemon.timeparts import duration as parse_duration

    def duration(key: str, text: str, *, elapsed: bool = False) -> None:
        """``elapsed``: a timer of the daemon, which counts real time (no business time)."""
        try:
            parsed = parse_duration(text)
        except ValueError as exc:
            units = (
                'seconds, minutes, hours, days or weeks, e.g. "30 seconds", "5 minutes"'
                if elapsed
                else 'seconds, minutes, hours, days, weeks, business hours or business days, e.g. "4 hours", '
                '"2 business days"'
            )
            problems.append(Problem(key, str(exc).split(" (write")[0], f"a number and a unit: {units}"))
            return
        if elapsed and parsed.business:
            problems.append(
                Problem(
                    key,
                    f"{text!r}: business time does not apply here, the daemon's timers run on the clock",
                    'write elapsed time, e.g. "30 seconds", "5 minutes" or "2 hours"',
                )
            )

    def clock(key: str, text: str) -> None:
        try:
            parse_clock(text)
        except ValueError as exc:
            problems.append(Problem(key, str(exc), 'a 24-hour local time, e.g. "08:00"'))

    def weekday(key: str, name: str) -> None:
        if name.lower() not in WEEKDAYS:
            problems.append(Problem(key, f"not a weekday: {name!r}", 'e.g. "monday"'))

    def priorities(key: str, names: tuple[str, ...]) -> None:
        for i, name in enumerate(names):
            if name not in PRIORITY_NAMES:
                problems.append(
                    Problem(f"{key}[{i}]", f"not a priority: {name!r}", f"one of {', '.join(PRIORITY_NAMES)}")
                )

    cal = cfg.calendar
    for i, name in enumerate(cal.workdays):
        weekday(f"calendar.workdays[{i}]", name)
    if not cal.workdays:
        problems.append(Problem("calendar.workdays", "must name at least one weekday"))
    clock("calendar.day_starts", cal.day_starts)
    clock("calendar.day_ends", cal.day_ends)
    try:
        if parse_clock(cal.day_ends) <= parse_clock(cal.day_starts):
            problems.append(Problem("calendar.day_ends", "must be later than calendar.day_starts"))
    except ValueError:
        pass
    why = check_holidays(cal.holidays_country, cal.holidays_subdivision)
    if why:
        key = "calendar.holidays_subdivision" if "subdivision" in why else "calendar.holidays_country"
        problems.append(
            Problem(key, f"the holidays package does not know it: {why}", 'e.g. "US", or "" for no holidays')
        )
    for i, text in enumerate(cal.closures):
        try:
            date.fromisoformat(text)
        except ValueError:
            problems.append(Problem(f"calendar.closures[{i}]", f"not a date: {text!r}", 'e.g. "2026-11-27"'))
    priorities("calendar.around_the_clock", cal.around_the_clock)
    for n, inst in enumerate(cfg.institutions):
        why = check_holidays(cal.holidays_country, inst.holidays_subdivision)
        if why:
            problems.append(
                Problem(
                    f"institutions[{n}].holidays_subdivision",
                    f"the holidays package does not know it: {why}",
                    'a subdivision of calendar.holidays_country such as "WA", or "" for the consortium\'s',
                )
            )
        for i, text in enumerate(inst.closures):
            try:
                date.fromisoformat(text)
            except ValueError:
                problems.append(
                    Problem(f"institutions[{n}].closures[{i}]", f"not a date: {text!r}", 'e.g. "2026-11-27"')
                )

    call = cfg.support_call
    weekday("support_call.weekday", call.weekday)
    if call.week not in (1, 2, 3, 4, -1):
        problems.append(Problem("support_call.week", "must be 1, 2, 3, 4 or -1 (the last)"))
    clock("support_call.time", call.time)
    if call.coordinator and "@" not in call.coordinator:
        problems.append(Problem("support_call.coordinator", 'must be an e-mail address, or "" for none'))

    acts = cfg.actions
    for name in ("request_update", "escalate", "pm_assist"):
        ladder = getattr(acts, name)
        for prio in PRIORITY_NAMES:
            duration(f"actions.{name}.{prio}", getattr(ladder, prio))
    duration("actions.pm_stalled_high.after", acts.pm_stalled_high.after)
    duration("actions.owner_inactive.after", acts.owner_inactive.after)
    for key, patterns in (
        ("actions.pm_stalled_high.no_progress", acts.pm_stalled_high.no_progress),
        ("actions.survey.still_there", acts.survey.still_there),
    ):
        for i, pattern in enumerate(patterns):
            try:
                re.compile(pattern)
            except re.error as exc:
                problems.append(
                    Problem(
                        f"{key}[{i}]",
                        f"not a valid regular expression: {exc}",
                        "use single quotes in TOML so backslashes stay as written",
                    )
                )
    priorities("actions.pm_stalled_high.priorities", acts.pm_stalled_high.priorities)
    for i, text in enumerate(acts.customer_turn.after):
        duration(f"actions.customer_turn.after[{i}]", text)
    duration("actions.survey.after", acts.survey.after)
    duration("actions.survey.window", acts.survey.window)
    duration("actions.share_on_list.after", acts.share_on_list.after)
    priorities("actions.share_on_list.priorities", acts.share_on_list.priorities)
    duration("actions.description_gaps.window", acts.description_gaps.window)
    for i, item in enumerate(acts.description_gaps.required):
        if item not in CHECKLIST:
            problems.append(
                Problem(
                    f"actions.description_gaps.required[{i}]",
                    f"not a checklist item: {item!r}",
                    f"one of {', '.join(CHECKLIST)}",
                )
            )
    if acts.widespread.institutions < 2:
        problems.append(Problem("actions.widespread.institutions", "must be at least 2"))
    duration("sending.retry_for", cfg.sending.retry_for)
    duration("sending.stale_after", cfg.sending.stale_after)
    for name in ("poll_every", "idle_restart", "backoff_max"):
        duration(f"daemon.{name}", getattr(cfg.daemon, name), elapsed=True)
    if cfg.daemon.admin and "@" not in cfg.daemon.admin:
        problems.append(Problem("daemon.admin", 'must be an e-mail address, or "" for none'))
    if cfg.daemon.alert_after < 1:
        problems.append(Problem("daemon.alert_after", "must be at least 1"))
    duration("actions.agenda.before", acts.agenda.before)
    duration("actions.coordinator_contact.within", acts.coordinator_contact.within)
    duration("actions.post_call_followup.after", acts.post_call_followup.after)
    weekday("actions.digest.weekday", acts.digest.weekday)
    clock("actions.digest.time", acts.digest.time)
    duration("actions.digest.skip_after", acts.digest.skip_after)


#: The keys holding a file or folder path, as (section, key). In a config read from a file, a
#: relative one (a default one too) is relative to the folder of that file, not to the working
#: directory; an absolute one, or one starting with ``~``, is used as is.
PATH_KEYS = (("state", "db"), ("outbound", "folder"), ("sending", "templates"), ("daemon", "metrics_file"))


def relative_to(cfg: Config, base: Path) -> Config:
    """``cfg`` with each relative path of ``PATH_KEYS`` joined to ``base`` ("" stays "")."""
    for section, key in PATH_KEYS:
        table = getattr(cfg, section)
        value: str = getattr(table, key)
        if not value:
            continue
        path = Path(os.path.expanduser(value))
        if not path.is_absolute():
            path = base / path
        if str(path) != value:
            cfg = dataclasses.replace(cfg, **{section: dataclasses.replace(table, **{key: str(path)})})
    return cfg


def file_in_the_way(path: str | Path) -> Path | None:
    """The first existing folder of ``path`` (its parent, its parent's parent ...) that is no
    folder but a file, so that nothing can be created there; None when there is none."""
    for part in reversed(Path(path).parents):
        try:
            if not part.is_dir():
                return part if part.exists() else None
        except OSError:  # a folder on the way this user may not enter: not for us to judge
            return None
    return None


def _validate_paths(cfg: Config, problems: list[Problem]) -> None:
    """Paths that cannot be created because a folder on the way is a file (the rest is found on use)."""
    under_a_folder = "choose a path under a folder, e.g. /var/lib/casewatch/casewatch.db"
    # (key, the path, a path inside whose folders must all be folders, hint)
    checks = [("state.db", cfg.state.db, cfg.state.db, under_a_folder)]
    if cfg.outbound.transport == "file":
        inside = str(Path(cfg.outbound.folder) / "message.eml")
        checks.append(
            (
                "outbound.folder",
                cfg.outbound.folder,
                inside,
                "choose a folder, e.g. /var/lib/casewatch/outbox",
            )
        )
    if cfg.daemon.metrics_file:
        checks.append(
            (
                "daemon.metrics_file",
                cfg.daemon.metrics_file,
                cfg.daemon.metrics_file,
                'a path under a folder, or "" for none',
            )
        )
    for key, path, inside, hint in checks:
        blocker = file_in_the_way(inside)
        if blocker is not None:
            problems.append(
                Problem(key, f"{blocker} is a file, not a folder, so {path} cannot be created", hint)
            )
    try:
        is_folder = Path(cfg.state.db).is_dir()
    except OSError:
        is_folder = False
    if is_folder:
        example = Path(cfg.state.db) / "casewatch.db"
        problems.append(
            Problem("state.db", f"{cfg.state.db} is a folder", f"name the database file, e.g. {example}")
        )


def parse(data: Mapping[str, Any], source: str = "config", base: Path | None = None) -> Config:
    """Build a ``Config`` from a parsed TOML table, or raise ``ConfigError`` with every problem.

    With ``base`` (the folder of the file read), relative paths are made relative to it.
    """
    problems: list[Problem] = []
    cfg = _build(Config, dict(data), "", problems)
    if cfg is not None:
        if base is not None:
            cfg = relative_to(cfg, base)
        _validate(cfg, problems)
        _validate_paths(cfg, problems)
        _validate_policy(cfg, problems)
    if problems:
        raise ConfigError(problems, source)
    return cfg


def load(path: str | None = None) -> Config:
    """Read the config named by ``path``, ``$CASEWATCH_CONFIG`` or ``./config.toml``.

    Relative paths in it are relative to its folder (``PATH_KEYS``). With none given and no
    ``./config.toml``, the built-in defaults are used, their paths relative to the working
    directory.
    """
    explicit = path or os.environ.get(ENV_VAR)
    chosen = Path(explicit or DEFAULT_PATH)
    try:
        found = chosen.exists()
    except OSError as exc:  # e.g. a folder on the way that this user may not enter
        raise UsageError(f"cannot read config file {chosen}: {exc.strerror or exc}") from None
    if not found:
        if explicit:
            raise UsageError(f"config file not found: {chosen} (hint: check --config / ${ENV_VAR})")
        return Config()
    try:
        data = tomllib.loads(chosen.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([Problem("(file)", f"not valid TOML: {exc}")], str(chosen)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read config file {chosen}: {exc}") from None
    cfg = parse(data, str(chosen), base=chosen.parent)
    return dataclasses.replace(cfg, path=str(chosen))


def secret(env_name: str, command: str, key: str) -> str | None:
    """A secret from the environment variable ``env_name`` or the output of ``command``."""
    if command:
        what = "token command" if key.endswith("token_command") else "password command"
        try:
            argv = shlex.split(command)
            if not argv:
                raise ValueError("the command is empty")
            out = subprocess.run(argv, capture_output=True, text=True, timeout=30, check=True)
        except (OSError, ValueError, subprocess.SubprocessError) as exc:
            said = _last_line(exc.stderr) if isinstance(exc, subprocess.CalledProcessError) else ""
            detail = f"{exc} (it said: {said})" if said else str(exc)
            raise ConfigError(
                [Problem(key, f"{what} failed: {detail}", "run it by hand to see why")]
            ) from None
        return out.stdout.splitlines()[0] if out.stdout else ""
    if env_name:
        return os.environ.get(env_name)
    return None


def no_password(section: str, env_name: str) -> str:
    """Why no password was found for ``[section]``, naming what to set."""
    if env_name:
        return (
            f"no password: the environment variable {env_name} (named by {section}.password_env) "
            f"is not set (hint: export {env_name}='...' for casewatch, or set {section}.password_command "
            "to a command that prints the password)"
        )
    return (
        f"no password: {section}.password_env and {section}.password_command are both empty "
        f"(hint: set {section}.password_env to the name of an environment variable holding the "
        "password, or password_command to a command that prints it)"
    )


def oauth2_token(command: str, key: str) -> str:
    """A current OAuth 2 access token: the first line ``command`` prints.

    The command is run anew on every call (tokens expire within the hour); it fails, or
    prints no token, as a ``ConfigError`` naming ``key``.
    """
    token = (secret("", command, key) or "").strip()
    if not token:
        raise ConfigError(
            [Problem(key, "the token command printed no token", "it must print a current access token")]
        )
    return token


def _last_line(text: object, limit: int = 200) -> str:
    """The last non-blank line of a command's error output, shortened."""
    if not isinstance(text, str):
        return ""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1][:limit] if lines else ""
