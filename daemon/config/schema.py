"""The schema: every table of the config as a frozen dataclass, with its defaults.

Every key has a default except the few the contract names. The defaults are documented, line
by line, in ``config.example.toml``; the ``[actions]`` tables are in ``daemon.config.actions``.
"""

from __future__ import annotations

import datetime
import types
from collections.abc import Mapping
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from daemon.config.actions import Actions
from daemon.timeparts import Duration, duration


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
    retry_for: Duration = duration("2 days")  # a temporary failure (4xx, network) is retried this long
    # An action due more than this before the cycle's instant is never mailed on its own:
    # it goes into the PM's one `backlog` message instead.
    stale_after: Duration = duration("7 days")
    templates: str = ""  # a folder of site templates overriding the built-in ones ("" for none)


@dataclass(frozen=True)
class Daemon:
    """``casewatch run``: how often it looks, how it waits, whom it tells when things fail."""

    poll_every: Duration = duration("5 minutes")  # a full UID SEARCH of every folder at least this often
    idle: bool = True  # use IMAP IDLE (when the server has it) to wake up early for new mail
    idle_restart: Duration = duration("9 minutes")  # IDLE is restarted this often (servers drop it at ~30)
    backoff_max: Duration = duration("5 minutes")  # the longest wait between reconnection attempts
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
    day_starts: datetime.time = datetime.time(8, 0)
    day_ends: datetime.time = datetime.time(17, 0)
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
    time: datetime.time = datetime.time(10, 0)
    coordinator: str = ""  # the support-call coordinator's address; "" if none
    # A call falling on a holiday or closure moves to the next working one of its weekday.
    move_off_holidays: bool = True


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
