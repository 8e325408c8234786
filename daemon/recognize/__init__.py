"""Recognition: from the bytes of one message to what it says (pure, no case state).

``recognize(raw, config)`` parses once and returns a ``Recognition``: the family
and kind of the message, the case numbers it is about, the case fields it
states, and the thread keys that tie it to a case when it cites no number.
Resolving thread keys to cases needs the store and happens in ``timeline``.
"""

from __future__ import annotations

import re

from daemon.config import Config
from daemon.model import CaseFields, Recognition
from daemon.recognize import casenumbers
from daemon.recognize.banners import strip_banner
from daemon.recognize.classify import is_vendor_address, list_name, matches, noise_kind
from daemon.recognize.fields import Parts, clean_subject, prose, split_notification, vendor_fields
from daemon.recognize.parse import Address, Mail, Unparseable, parse
from daemon.recognize.quotes import new_text

__all__ = ["Mail", "Unparseable", "parse", "recognize", "recognize_mail"]

_SUMMARY_SKIP = re.compile(
    r"^(?:hi|hello|dear|thank you for contacting|a new comment has been added|"
    r"the status of your case)\b",
    re.IGNORECASE,
)


def recognize(raw: bytes, config: Config) -> Recognition:
    """Parse and recognize one message; raises ``Unparseable`` for quarantine."""
    return recognize_mail(parse(raw), config)


def _summary(text: str, limit: int = 160) -> str:
    for raw_line in text.splitlines():
        line = raw_line.strip()
        if len(line) > 3 and not _SUMMARY_SKIP.match(line):
            return line if len(line) <= limit else line[: limit - 1] + "…"
    return ""


def _vendor_kind(mail: Mail, subject: str, fields: CaseFields, parts: Parts, config: Config) -> str:
    """The kind of a vendor mail, from its subject and its body.

    Automatic mail (surveys, escalation acknowledgements, pending-customer reminders, "case
    received") is told by its subject or by the notification's own words (never by words inside
    an analyst's comment). A mail whose only news is a Status is a status change, whatever its
    subject called it; a notification carrying a comment is a comment.
    """
    r = config.recognize
    sender = mail.sender
    own = parts.own
    automatic = not (parts.has_comment and parts.comment)
    if (
        matches(r.survey_subjects, subject)
        or sender.local.lower() in ("survey", "surveys")
        or (automatic and matches(r.survey_body, own))
    ):
        return "survey"
    if matches(r.escalation_ack_subjects, subject) or (automatic and matches(r.escalation_ack_body, own)):
        return "escalation_ack"
    if matches(r.closed_subjects, subject) or (
        fields.status
        and matches(r.closed_statuses, fields.status)
        and matches(r.status_subjects + r.closed_subjects, subject)
    ):
        return "closed"
    if matches(r.status_subjects, subject):
        return "status"
    if matches(r.pending_reminder_subjects, subject) or (automatic and matches(r.pending_reminder_body, own)):
        return "pending_reminder"
    if matches(r.created_subjects, subject) or (automatic and matches(r.created_body, own)):
        return "created"
    if parts.has_comment:
        return "comment" if parts.comment or not fields.status else "status"
    if fields.status and not prose(own, config):
        return "status"  # e.g. "Update on your case" carrying only a "Current status" row
    if matches(r.comment_subjects, subject) or matches(r.comment_body, mail.text):
        return "comment"
    return ""


def _body_case(text: str, config: Config) -> str | None:
    """The case number the notification's own sentences give ("added to case  N.", "Direct Link:")."""
    for pattern in config.recognize.case_number_body:
        m = re.search(pattern, text, re.IGNORECASE | re.MULTILINE)
        if m and m.groups():
            number = casenumbers.normalize(m.group(1))
            if number:
                return number
    return None


def recognize_mail(mail: Mail, config: Config) -> Recognition:
    """What one parsed message is and says."""
    from_vendor = is_vendor_address(mail.sender, config)
    subject = clean_subject(mail.subject)
    thread_keys = casenumbers.thread_keys(mail.subject, mail.text)
    entity = mail.header("x-sfdc-entityid").strip()
    if entity:
        thread_keys.append(f"entity:{entity}")

    noise = noise_kind(mail, config, from_vendor)
    if noise:
        if noise[0] == "bounce" and (returned := _ours(mail.returned_id, config)):
            # A delivery report for a message of ours: which recipients failed (never answered).
            failed = tuple((d.recipient, d.status) for d in mail.delivery if d.action != "delivered")
            return Recognition(
                "noise",
                "bounce",
                sender=mail.sender.email,
                parent_ids=(returned,),
                reason=f"delivery report for our message {returned}",
                failed=failed,
            )
        return Recognition("noise", noise[0], sender=mail.sender.email, reason=noise[1])

    lst = list_name(mail, config)
    if lst:
        return _list_post(mail, config, lst)

    reply = _reply(mail, config)
    if reply is not None:
        return reply

    if from_vendor:
        return _vendor(mail, subject, thread_keys, config)

    vendor_recipients = [a for a in mail.recipients if is_vendor_address(a, config)]
    if vendor_recipients:
        return _member(mail, subject, vendor_recipients, thread_keys, config)

    cited = casenumbers.in_context(f"{mail.subject}\n{mail.text}")
    return Recognition(
        "other",
        "other",
        cases=tuple(cited),
        sender=mail.sender.email,
        summary=subject,
        reason="not from the vendor, not to the vendor, not from a list",
    )


_OUR_ID = re.compile(r"^casewatch\.[0-9a-f]{16,64}@(?P<domain>.+)$")
_TOKEN = re.compile(r"^[0-9a-f]{8,64}$")
_DELIVERED = ("delivered-to", "x-original-to", "envelope-to", "x-delivered-to")


def _ours(message_id: str | None, config: Config) -> str | None:
    """``message_id`` when it is the form of ours (``casewatch.<hex>@<our domain>``), else None."""
    domain = config.outbound.from_address.lower().partition("@")[2]
    found = _OUR_ID.match((message_id or "").lower())
    return message_id if found and found.group("domain") == domain else None


def reply_token(mail: Mail, config: Config) -> str | None:
    """The token of our plus-addressed Reply-To that this message was sent to, if any."""
    local, _, domain = config.outbound.from_address.lower().partition("@")
    candidates = [a.email for a in mail.recipients]
    candidates += [mail.header(h).strip().strip("<>").lower() for h in _DELIVERED if mail.has(h)]
    for address in candidates:
        name, _, at = address.partition("@")
        base, plus, tok = name.partition("+")
        if plus and base == local and at == domain and _TOKEN.match(tok):
            return tok
    return None


def _reply(mail: Mail, config: Config) -> Recognition | None:
    """A reply to a message of ours (by its token, or by In-Reply-To / References)."""
    domain = config.outbound.from_address.lower().partition("@")[2]
    ours = [p for p in mail.parent_ids if (m := _OUR_ID.match(p.lower())) and m.group("domain") == domain]
    tok = reply_token(mail, config)
    if tok is None and not ours:
        return None
    text = new_text(strip_banner(mail.text))  # a site's CAUTION banner is no command
    return Recognition(
        "reply",
        "command",
        sender=mail.sender.email,
        parent_ids=tuple(ours),
        summary=_summary(text) or clean_subject(mail.subject),
        reason="a reply to casewatch",
        token=tok,
        reply_text=text,
    )


def _vendor(mail: Mail, subject: str, thread_keys: list[str], config: Config) -> Recognition:
    parts = split_notification(mail.text, config)
    fields = vendor_fields(mail, config, parts)
    kind = _vendor_kind(mail, subject, fields, parts, config)
    cited = casenumbers.in_context(f"{subject}\n{mail.text}")
    primary = (
        casenumbers.in_context(subject)
        or ([n] if (n := casenumbers.first_number(subject)) else [])
        or ([b] if (b := _body_case(parts.own, config)) else [])
    )
    cited += [n for n in primary if n not in cited]
    bulk = mail.has("list-unsubscribe") or mail.header("precedence").lower() in ("bulk", "list")
    if not kind and (matches(config.recognize.newsletter_subjects, subject) or bulk or len(cited) > 1):
        kind = "newsletter"
    if kind == "newsletter" or (bulk and not primary and len(cited) != 1):
        return Recognition(
            "vendor",
            "newsletter",
            cases=tuple(cited),
            sender=mail.sender.email,
            summary=subject,
            reason="vendor mailing that mentions cases",
        )
    case = primary[:1] or cited[:1]
    related = tuple(n for n in cited if n not in case)
    if kind == "closed" and not fields.status:
        fields = CaseFields(**{**fields.__dict__, "status": "Closed"})
    if kind == "comment":
        comment = new_text(parts.comment) if parts.has_comment else new_text(mail.text)
    else:
        comment = mail.text
    return Recognition(
        "vendor",
        kind or "comment",
        cases=tuple(case) + related,
        fields=fields,
        thread_keys=tuple(thread_keys),
        parent_ids=mail.parent_ids,
        sender=mail.sender.email,
        summary=_summary(comment) if kind == "comment" or not kind else subject,
        reason="from a vendor sender domain",
    )


# Where a vendor notification pasted into a member's or a list post starts: its sentence, or
# its first label when pasted without it (real-mail.md, "List mail").
_PASTED_TEMPLATE = re.compile(
    r"^[ \t>]*(?:a new comment has been added to case\b|case title\s*:)", re.IGNORECASE | re.MULTILINE
)


def _own_words(text: str) -> str:
    """The poster's own words: ``text`` up to a pasted vendor notification, if any."""
    pasted = _PASTED_TEMPLATE.search(text)
    return text[: pasted.start()] if pasted else text


def _member(
    mail: Mail, subject: str, vendor_recipients: list[Address], thread_keys: list[str], config: Config
) -> Recognition:
    """Staff writing to the vendor. A pasted notification is the vendor's words, quoted: it cites
    cases, but what the member asks (kind, summary) is read from the member's own words."""
    r = config.recognize
    text = new_text(strip_banner(mail.text))
    own = _own_words(text)
    to_escalation = any(
        any(part in a.local.lower() for part in config.vendor.escalation_local_parts)
        for a in vendor_recipients
    )
    in_subject = casenumbers.in_context(subject)
    cited = in_subject + [n for n in casenumbers.in_context(text) if n not in in_subject]
    if (
        to_escalation
        or matches(r.escalation_phrases, subject)
        or re.search(r"\b(?:please|kindly|request(?:ing)?|like to|want to)\s+(?:to\s+)?escalat", own, re.I)
    ):
        kind = "escalation_request"
    elif matches(r.update_request_phrases, own):
        kind = "update_request"
    else:
        kind = "comment"
    return Recognition(
        "member",
        kind,
        cases=tuple(cited),
        thread_keys=tuple(thread_keys),
        parent_ids=mail.parent_ids,
        sender=mail.sender.email,
        summary=_summary(own) or _summary(text) or subject,
        reason="staff mail to a vendor address",
    )


def _list_tag(name: str) -> str:
    """The subject tag a list puts on its posts: its name without domain (``wactclc-alma``)."""
    address = re.search(r"([\w.+\-]{1,64})@", name) if "@" in name else None
    return address.group(1) if address else name.strip().split(".")[0]


def _list_post(mail: Mail, config: Config, name: str) -> Recognition:
    """A post a list delivered: list traffic, whatever it pastes (a notification included).

    A site's "[EXTERNAL] - " mark and the list's tag come off the subject wherever they stand,
    and a warning banner at the top of the body is not the post."""
    text = new_text(strip_banner(mail.text))
    tag = _list_tag(name)
    subject = clean_subject(mail.subject)
    if tag:
        subject = re.sub(rf"\s*\[\s*{re.escape(tag)}\s*\]\s*", " ", subject, flags=re.IGNORECASE).strip()
    subject = clean_subject(subject) or subject
    body = f"{subject}\n{text}"
    cited = casenumbers.in_context(body)
    record = None
    if matches(config.recognize.case_of_record_phrases, body):
        record = _record_case(body, config)
    poster = mail.sender.name or mail.sender.email
    return Recognition(
        "list",
        "case_of_record" if record else "post",
        cases=tuple(cited),
        record_case=record,
        sender=mail.sender.email if "-dmarc-request" not in mail.sender.email else poster,
        summary=f"{name}: {subject or _summary(text)} ({poster})",
        reason=f"delivered by list {name}",
    )


_CLAUSE_END = re.compile(r"[.;!?](?:\s|$)|\n\s*\n|[,;]\s+(?:and|but)\s")


def _record_case(text: str, config: Config) -> str | None:
    """The case named as case of record: the number nearest after the phrase, else before."""
    phrase = "|".join(f"(?:{p})" for p in config.recognize.case_of_record_phrases)
    for match in re.finditer(phrase, text, re.IGNORECASE):
        # "case N as our case of record": the number just before, in the same clause
        before = text[max(0, match.start() - 80) : match.start()]
        clause = _CLAUSE_END.split(before)[-1]
        cited = casenumbers.in_context(clause)
        if cited:
            tail = clause[clause.rfind(cited[-1].lstrip("0")) :]
            if len(tail) <= 60:
                return cited[-1]
        # "the case of record: Case N", "the case of record is now N"
        after = _CLAUSE_END.split(text[match.end() : match.end() + 80])[0]
        cited = casenumbers.in_context(after) or casenumbers.in_context("case " + after[:40])
        if cited:
            return cited[0]
    return None
