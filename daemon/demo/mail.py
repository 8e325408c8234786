"""Mail as the demo's senders write it: Ex Libris's Salesforce notifications, staff writing
into their cases, LISTSERV (also DMARC-rewritten), Google Groups and Mailman posts, a vendor
newsletter, and replies to casewatch from Outlook, Gmail and Apple Mail, an auto-responder and
a mail server's bounce (pure: the same arguments always make the same bytes).
"""

from __future__ import annotations

import base64
import email
import email.policy
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, parsedate_to_datetime
from zoneinfo import ZoneInfo

from daemon.policy.calendar import wall_time

VENDOR = ("Ex Libris Support", "support@proquest.com")
SURVEYS = ("Ex Libris Customer Experience", "survey@proquest.com")
ESCALATIONS = "na.escalations@exlibrisgroup.com"


@dataclass(frozen=True)
class Letter:
    """One message of the mailbox: when it is dated, a short name, and its bytes."""

    at: datetime
    name: str
    data: bytes


@dataclass(frozen=True)
class Answer:
    """A staff reply the story writes when casewatch has sent a reminder of ``kind`` about
    ``case``: ``by`` the owner, the PM it went to, or an address; ``after`` the reminder went
    (but not before ``not_before``, a local time). ``client`` is how it is written:
    "outlook", "gmail", "apple", or "auto-reply" and "bounce" (noise, never a command)."""

    kind: str
    case: str
    by: str
    text: str
    client: str = "outlook"
    after: timedelta = timedelta(minutes=50)
    not_before: tuple[int, int, int, int] | None = None  # month, day, hour, minute
    why: str = ""


def digest(*parts: object) -> str:
    return hashlib.sha256("\x1f".join(str(p) for p in parts).encode()).hexdigest()


def thread_token(case: str) -> str:
    raw = base64.urlsafe_b64encode(hashlib.sha256(f"thread {case}".encode()).digest()).decode()
    return f"thread::{raw[:22]}::"


class Writer:
    """Builds a story's messages, each as its sender's software writes it; ``people`` names
    everyone by address; ``local(m, d, hh, mm)`` is wall-clock time in ``year`` and the zone."""

    def __init__(self, tz: ZoneInfo, shared: str, people: Mapping[str, str], year: int) -> None:
        self.tz, self.shared, self.people, self.year = tz, shared, people, year
        self.out: list[Letter] = []
        self.first: dict[str, str] = {}  # case -> Message-ID of its first notification
        self.titles: dict[str, str] = {}
        self.owners: dict[str, str] = {}
        self.tokens: dict[str, str] = {}

    def known(self, case: str, title: str, owner: str, token: str, first: str) -> None:
        """A case whose first notification is one of the bundled messages."""
        self.titles[case], self.owners[case], self.tokens[case], self.first[case] = title, owner, token, first

    def token(self, case: str) -> str:
        return self.tokens.setdefault(case, thread_token(case))

    def local(self, month: int, day: int, hour: int, minute: int) -> datetime:
        return wall_time(date(self.year, month, day), time(hour, minute), self.tz)

    def add(self, msg: EmailMessage, at: datetime, name: str) -> None:
        self.out.append(Letter(at, name, msg.as_bytes(policy=email.policy.SMTP)))

    def _mail(self, sender: tuple[str, str], to: str, subject: str, at: datetime, mid: str) -> EmailMessage:
        msg = EmailMessage()
        msg["From"] = formataddr(sender)
        msg["To"] = to
        msg["Subject"] = subject
        msg["Date"] = format_datetime(at)
        msg["Message-ID"] = mid
        return msg

    # ------------------------------------------------------------------- Ex Libris

    def _vendor(self, case: str, subject: str, body: str, at: datetime, name: str, to: str = "") -> None:
        token = self.token(case)
        mid = f"<{digest(case, name, at)[:48]}@sfdc.net>"
        msg = self._mail(VENDOR, to or self.owners[case], f"{subject} [ {token} ]", at.astimezone(UTC), mid)
        msg["Cc"] = self.shared
        if case in self.first:
            msg["In-Reply-To"] = self.first[case]
            msg["References"] = self.first[case]
        else:
            self.first[case] = mid
        msg["X-SFDC-LK"] = "00D3z0000008gHk"
        msg["X-SFDC-EntityId"] = f"500Pd{digest('entity', case)[:10]}"
        msg["X-SFDC-EmailCategory"] = "workflowActionAlert"
        msg["X-Sender"] = "postmaster@salesforce.com"
        msg.set_content(
            f"{body}\n\nYou can view and update your case in the Support Center: "
            f"https://support.proquest.com/s/\n\n{token}\n"
        )
        self.add(msg, at, f"{name}-{case}")

    def created(
        self,
        case: str,
        at: datetime,
        title: str,
        priority: str,
        area: tuple[str, str, str],
        owner: str,
        account: str,
        description: str,
    ) -> None:
        self.titles[case], self.owners[case] = title, owner
        asset, category, sub = area
        body = (
            f"Thank you for contacting Ex Libris Support.\n"
            f'Your case {case} "{title}" has been received.\n\n'
            f"Priority: {priority}\nAsset: {asset}\nCategory: {category}\nSub-Category: {sub}\n"
            f"Status: New\nContact: {self.people[owner]} ({owner})\nAccount: 01ALLIANCE_{account}\n\n"
            f"Description:\n{description.strip()}"
        )
        self._vendor(case, f"Case {case} has been created: {title}", body, at, "created")

    def comment(self, case: str, at: datetime, analyst: str, text: str, to: str = "") -> None:
        body = (
            f"A new comment has been added to your case {case} by {analyst} (Ex Libris Support):\n\n"
            f"{text.strip()}"
        )
        self._vendor(case, f"New comment on Case {case}: {self.titles[case]}", body, at, "comment", to)

    def status(self, case: str, at: datetime, status: str, to: str = "") -> None:
        body = f'The status of your case {case} "{self.titles[case]}" has changed.\n\nStatus: {status}'
        self._vendor(case, f"Case {case} status changed to {status}", body, at, "status", to)

    def closed(self, case: str, at: datetime, resolution: str, to: str = "") -> None:
        body = (
            f'Your case {case} "{self.titles[case]}" has been closed.\n\nResolution:\n{resolution.strip()}'
            "\n\nStatus: Closed"
        )
        self._vendor(case, f"Case {case} has been closed", body, at, "closed", to)

    def awaiting(self, case: str, at: datetime) -> None:
        body = (
            f"Case {case} is awaiting your response. If we do not hear from you, the case will be "
            "closed automatically."
        )
        self._vendor(case, f"Reminder: Case {case} is awaiting your response", body, at, "reminder")

    def survey(self, case: str, at: datetime) -> None:
        owner = self.owners[case]
        msg = self._mail(
            SURVEYS,
            owner,
            f"How did we do? Tell us about case {case}",
            at.astimezone(UTC),
            f"<csat.{digest('survey', case)[:20]}@survey.proquest.com>",
        )
        msg["Cc"] = self.shared
        msg.set_content(
            f'Dear {self.people[owner]},\n\nYour case {case} "{self.titles[case]}" was recently closed.\n'
            "Please take two minutes to rate the support you received.\n\n"
            f"Start the survey: https://survey.proquest.com/s/csat?t={digest('t', case)[:12]}\n"
        )
        self.add(msg, at, f"survey-{case}")

    def newsletter(self, at: datetime, subject: str, text: str) -> None:
        msg = self._mail(
            ("Ex Libris Customer Center", "news@exlibrisgroup.com"),
            "casewatch-lists@orbiscascade.org",
            subject,
            at.astimezone(UTC),
            f"<news.{digest('news', subject)[:24]}@exlibrisgroup.com>",
        )
        msg["Precedence"] = "bulk"
        msg["List-Unsubscribe"] = "<https://exlibrisgroup.com/unsubscribe>"
        msg.set_content(text)
        self.add(msg, at, "newsletter")

    # ------------------------------------------------------------------- staff, to Ex Libris

    def member(self, case: str, at: datetime, text: str, who: str = "", to: str = VENDOR[1]) -> None:
        """Staff writing into the case (a reply to its notification), the mailbox in copy."""
        who = who or self.owners[case]
        subject = f"RE: New comment on Case {case}: {self.titles[case]} [ {self.token(case)} ]"
        if to == ESCALATIONS:
            subject = f"Escalation request: Case {case} - {self.titles[case]}"
        msg = self._mail(
            (self.people[who], who), to, subject, at, f"<{digest('member', case, at)[:40]}@mail.gmail.com>"
        )
        msg["Cc"] = self.shared
        if case in self.first and to != ESCALATIONS:
            msg["In-Reply-To"] = self.first[case]
            msg["References"] = self.first[case]
        msg.set_content(f"{text.strip()}\n\n{self.people[who]}\n")
        self.add(msg, at, f"{'escalation' if to == ESCALATIONS else 'staff'}-{case}")

    # ------------------------------------------------------------------- lists

    def listserv(
        self, at: datetime, lst: str, who: str, subject: str, text: str, dmarc: bool = False
    ) -> None:
        host = "LISTSERV.ND.EDU"
        name = self.people[who]
        sender = (name, f"{lst}-dmarc-request@{host}") if dmarc else (name, who)
        msg = self._mail(
            sender, f"{lst}@{host}", f"[{lst}] {subject}", at, f"<{digest('ls', subject)[:32]}@outlook.com>"
        )
        msg["Sender"] = formataddr((f"{lst} Discussion List", f"{lst}@{host}"))
        msg["Reply-To"] = formataddr((name, who)) if dmarc else formataddr((f"{lst} List", f"{lst}@{host}"))
        msg["Precedence"] = "list"
        msg["List-Id"] = f"<{lst}.{host}>"
        msg["Received"] = (
            f"from {host} by {host} (LISTSERV-TCP/IP release 17.0) with spool id "
            f"{int(digest(subject)[:6], 16)} for {lst}@{host}; {format_datetime(at)}"
        )
        msg.set_content(f"{text.strip()}\n\n{name}\n")
        self.add(msg, at, f"list-{lst.lower()}")

    def google_group(self, at: datetime, group: str, who: str, subject: str, text: str) -> None:
        address = f"{group}@orbiscascade.org"
        msg = self._mail(
            (self.people[who], who),
            address,
            f"[{group}] {subject}",
            at,
            f"<CAH{digest('gg', subject)[:40]}@mail.gmail.com>",
        )
        msg["Mailing-list"] = f"list {address}; contact {group}+owners@orbiscascade.org"
        msg["Precedence"] = "list"
        msg["List-Id"] = f"<{group}.orbiscascade.org>"
        msg["X-Google-Group-Id"] = str(int(digest(group)[:10], 16))
        msg["List-Post"] = (
            f"<https://groups.google.com/a/orbiscascade.org/group/{group}/post>, <mailto:{address}>"
        )
        msg.set_content(
            f"{text.strip()}\n\n{self.people[who]}\n\n-- \nYou received this message because you are "
            f'subscribed to the Google Groups "{group}" group.\n'
        )
        self.add(msg, at, f"list-{group}")

    def mailman(self, at: datetime, lst: str, who: str, subject: str, text: str) -> None:
        address = f"{lst}@lists.orbiscascade.org"
        msg = self._mail(
            (self.people[who], who),
            address,
            f"[{lst}] {subject}",
            at,
            f"<{digest('mm', subject)[:32]}@orbiscascade.org>",
        )
        msg["Precedence"] = "list"
        msg["List-Id"] = f"<{lst}.lists.orbiscascade.org>"
        msg["List-Post"] = f"<mailto:{address}>"
        msg["List-Help"] = f"<mailto:{lst}-request@lists.orbiscascade.org?subject=help>"
        msg["X-Mailman-Version"] = "3.3.9"
        msg["Message-ID-Hash"] = digest("hash", subject)[:32].upper()
        msg.set_content(
            f"{text.strip()}\n\n{self.people[who]}\nProgram Manager, Orbis Cascade Alliance\n"
            f"_______________________________________________\n{lst} mailing list -- {address}\n"
        )
        self.add(msg, at, f"list-{lst}")


# --------------------------------------------------------------------------- replies to casewatch


def _quote(reminder: EmailMessage) -> str:
    body = reminder.get_body(("plain",))
    text = body.get_content() if body is not None else ""
    return "\n".join(f"> {line}".rstrip() for line in text.splitlines()[:12])


def answer(a: Answer, reminder: bytes, sender: str, name: str, at: datetime, shared: str) -> bytes:
    """The reply ``a`` to one of casewatch's messages, from ``sender``, dated ``at``."""
    msg = email.message_from_bytes(reminder, policy=email.policy.default)
    assert isinstance(msg, EmailMessage)
    subject = str(msg["Subject"])
    mid = f"<{digest('answer', a.kind, a.case, a.client, at)[:36]}@{sender.partition('@')[2]}>"
    if a.client == "bounce":
        return _bounce(msg, sender, at, shared, mid)
    out = EmailMessage()
    out["From"] = formataddr((name, sender))
    out["To"] = str(msg["Reply-To"])
    out["Date"] = format_datetime(at)
    out["Message-ID"] = mid
    out["In-Reply-To"] = str(msg["Message-ID"])
    out["References"] = str(msg["Message-ID"])
    sent = parsedate_to_datetime(str(msg["Date"])).astimezone(at.tzinfo)
    first = name.split(maxsplit=1)[0]
    if a.client == "auto-reply":
        out["Subject"] = f"Automatic reply: {subject}"
        out["Auto-Submitted"] = "auto-replied"
        out.set_content(f"I am out of the office until Monday with limited access to e-mail.\n\n{name}\n")
    elif a.client == "gmail":
        out["Subject"] = f"Re: {subject}"
        out.set_content(
            f"{a.text}\n\n{first}\n\nOn {sent:%a, %b %d, %Y at %I:%M %p} {msg['From']} wrote:\n\n"
            f"{_quote(msg)}\n"
        )
    elif a.client == "apple":
        out["Subject"] = f"Re: {subject}"
        out.set_content(
            f"{a.text}\n\nSent from my iPhone\n\n> On {sent:%b %d, %Y, at %H:%M}, {msg['From']} wrote:\n"
            f"{_quote(msg)}\n"
        )
    else:  # Outlook: the original below a line of underscores and a header block
        out["Subject"] = f"RE: {subject}"
        out.set_content(
            f"{a.text}\n\n{name}\n\n________________________________\nFrom: {msg['From']}\n"
            f"Sent: {sent:%A, %B %d, %Y %I:%M %p}\nTo: {msg['To']}\nSubject: {subject}\n\n"
            f"{_quote(msg).replace('> ', '').replace('>', '')}\n"
        )
    return out.as_bytes(policy=email.policy.SMTP)


def _bounce(msg: EmailMessage, rcpt: str, at: datetime, shared: str, mid: str) -> bytes:
    """A Postfix delivery report for ``msg``, refused by ``rcpt``'s server."""
    host = f"mx.{rcpt.partition('@')[2]}"
    boundary = f"{digest('bounce', mid)[:12].upper()}.{host}"
    original = "".join(f"{k}: {msg[k]}\n" for k in ("From", "To", "Subject", "Date", "Message-ID") if msg[k])
    text = (
        f"Return-Path: <>\nFrom: Mail Delivery System <MAILER-DAEMON@{host}>\nTo: {shared}\n"
        f"Subject: Undelivered Mail Returned to Sender\nDate: {format_datetime(at)}\nMessage-ID: {mid}\n"
        "Auto-Submitted: auto-replied\nMIME-Version: 1.0\n"
        f'Content-Type: multipart/report; report-type=delivery-status;\n boundary="{boundary}"\n\n'
        f"This is a MIME-encapsulated message.\n\n--{boundary}\nContent-Description: Notification\n"
        f"Content-Type: text/plain; charset=us-ascii\n\nThis is the mail system at host {host}.\n\n"
        "I'm sorry to have to inform you that your message could not\nbe delivered to one or more "
        f"recipients.\n\n<{rcpt}>: host {host} said: 550 5.1.1\n    <{rcpt}>: Recipient address "
        f"rejected: User unknown\n\n--{boundary}\nContent-Description: Delivery report\n"
        f"Content-Type: message/delivery-status\n\nReporting-MTA: dns; {host}\n\n"
        f"Final-Recipient: rfc822; {rcpt}\nAction: failed\nStatus: 5.1.1\n\n--{boundary}\n"
        "Content-Description: Undelivered Message Headers\nContent-Type: text/rfc822-headers\n\n"
        f"{original}\n--{boundary}--\n"
    )
    return text.replace("\n", "\r\n").encode("ascii", "replace")
