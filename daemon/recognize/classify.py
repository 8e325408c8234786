"""What a message is: family and kind, decided from headers first, then words.

Order matters and is the policy of this module:

1. noise — our own mail coming back (loop header), auto-replies, bounces;
2. list  — anything a mailing list delivered (LISTSERV, Google Groups, Mailman);
3. vendor — mail from the vendor's sender domains, by kind of notification;
4. member — staff writing to a vendor address, with the shared mailbox in copy;
5. other — everything else (kept, never acted on).
"""

from __future__ import annotations

import re
from functools import lru_cache

from daemon.config import Config
from daemon.recognize.parse import Address, Mail

LOOP_HEADER = "x-casewatch-loop"

_AUTO_SUBJECT = re.compile(
    r"^\s*(?:automatic reply|auto(?:matic)?[- ]?(?:reply|response)|autoreply|auto:|"
    r"out of (?:the )?office|abwesenheit|absence|réponse automatique|respuesta automática|"
    r"on vacation|vacation reply)",
    re.IGNORECASE,
)
_BOUNCE_SUBJECT = re.compile(
    r"(?:undeliver(?:ed|able)|delivery (?:status notification|failure|has failed)|"
    r"returned mail|failure notice|mail delivery (?:failed|failure|subsystem)|"
    r"non[- ]?delivery|delivery report|could not be delivered|warning: message .* delayed)",
    re.IGNORECASE,
)
_BOUNCE_SENDERS = ("mailer-daemon", "postmaster", "mail-daemon", "maildelivery")


@lru_cache(maxsize=256)
def _any(patterns: tuple[str, ...]) -> re.Pattern[str]:
    joined = "|".join(f"(?:{p})" for p in patterns) or r"(?!x)x"
    return re.compile(joined, re.IGNORECASE | re.MULTILINE)


def matches(patterns: tuple[str, ...], text: str) -> bool:
    return bool(text) and _any(patterns).search(text) is not None


def is_vendor_address(addr: Address, config: Config) -> bool:
    domain = addr.domain
    return bool(domain) and any(domain == d or domain.endswith("." + d) for d in config.vendor.sender_domains)


def noise_kind(mail: Mail, config: Config, vendor: bool) -> tuple[str, str] | None:
    """("auto_reply" | "bounce" | "loop", reason) when the message is noise."""
    if mail.has(LOOP_HEADER):
        return "loop", f"carries our loop header {LOOP_HEADER}"
    ctype = mail.content_type.lower()
    report = mail.header("content-type").lower()
    if ctype == "multipart/report":
        if "disposition-notification" in report:
            return "auto_reply", "read receipt (multipart/report disposition notification)"
        return "bounce", "multipart/report delivery report"
    local = mail.sender.local.lower()
    name = mail.sender.name.lower()
    if local in _BOUNCE_SENDERS or "mailer-daemon" in name or "mail delivery" in name:
        return "bounce", f"sent by {mail.sender.email or mail.sender.name}"
    return_path = mail.header("return-path").strip()
    if _BOUNCE_SUBJECT.search(mail.subject) and (return_path in ("<>", "") or not local):
        return "bounce", "delivery failure notice"
    auto = mail.header("auto-submitted").strip().lower()
    if auto and auto != "no" and not (vendor and auto.startswith("auto-generated")):
        return "auto_reply", f"Auto-Submitted: {auto}"
    for header in ("x-autoreply", "x-autorespond", "x-auto-reply"):
        if mail.has(header) and mail.header(header).strip().lower() not in ("no", "false", "0"):
            return "auto_reply", f"{header} header"
    precedence = mail.header("precedence").strip().lower()
    if precedence == "auto_reply":
        return "auto_reply", "Precedence: auto_reply"
    if _AUTO_SUBJECT.search(mail.subject):
        return "auto_reply", "auto-reply subject"
    if mail.has("x-ms-exchange-inbox-rules-loop"):
        return "auto_reply", "Exchange mailbox rule reply"
    return None


_BOUNCES = re.compile(r"([\w.+\-]{1,64}?)-bounces(?:\+[^@\s]{0,200})?@([\w.\-]{1,255})", re.IGNORECASE)
_SUBJECT_TAG = re.compile(r"\[([\w.\-]{2,40})\]")


def list_name(mail: Mail, config: Config) -> str | None:
    """The list that delivered the message, or None."""
    list_id = mail.header("list-id")
    if list_id:
        match = re.search(r"<([^<>]+)>", list_id)  # [^<>]: linear on a hostile header
        return (match.group(1) if match else list_id).strip().lower()
    if mail.has("x-google-group-id") or mail.has("mailing-list") or mail.has("x-mailman-version"):
        return mail.header("list-post") or mail.header("mailing-list") or "list"
    if mail.has("list-post"):
        return mail.header("list-post")
    # Mailman keeps the poster's From and sets Sender (and Errors-To) to <list>-bounces@...
    for header in ("sender", "errors-to"):
        value = mail.header(header)
        bounces = _BOUNCES.search(value) if "-bounces" in value.lower() else None
        if bounces:
            return f"{bounces.group(1)}@{bounces.group(2)}".lower()
    # The list's tag anywhere in the subject ("[EXTERNAL] - [wactclc-alma] ..."), naming the
    # list address the post was sent to.
    tags = {t.strip().lower() for t in _SUBJECT_TAG.findall(mail.subject)}
    if tags:
        for addr in mail.recipients:
            if addr.local.lower() in tags:
                return addr.email
    sender = mail.header("sender").lower()
    received = " ".join(mail.headers.get("received", ())).lower()
    markers = tuple(m.lower() for m in config.lists.listserv_markers)
    if "listserv-tcp/ip" in received or (
        mail.header("precedence").lower() in ("list", "bulk") and any(m in sender for m in markers)
    ):
        return sender or "listserv"
    addresses = {a.lower() for a in config.lists.addresses}
    for addr in mail.recipients:
        if addr.email in addresses:
            return addr.email
    if any(m in mail.sender.email for m in markers) and "-dmarc-request" in mail.sender.email:
        return mail.sender.email
    return None
