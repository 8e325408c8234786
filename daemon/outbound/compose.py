"""Composing a message: headers and MIME parts around a rendering (pure).

- ``Message-ID`` is derived from the idempotency keys of the actions it carries, in the
  domain of ``[outbound] from_address``: the same actions always make the same Message-ID.
- ``Reply-To`` is ``from_address`` plus-addressed with a token, an HMAC of the Message-ID
  under a secret kept in the state database: a reply names the message it answers, and
  nobody without the secret can forge one.
- ``Auto-Submitted: auto-generated`` and ``X-Auto-Response-Suppress`` keep auto-replies
  away; ``X-Casewatch-Loop`` marks our own mail, which the recognizers ignore if it comes back.
- ``References`` / ``In-Reply-To`` name earlier messages about the same case(s), so mail
  clients thread them.
Header values come from outside (case titles): ``EmailMessage`` refuses CR/LF in them, and the
subject is made one line before that.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, formataddr

from daemon.config import Config
from daemon.model import Action
from daemon.outbound.render import Rendered, one_line

TOKEN_LENGTH = 16
TOKEN_SECRET = "reply_token"  # the name of the Reply-To token key in the state database


def domain_of(address: str) -> str:
    return address.rpartition("@")[2].lower()


def message_id(keys: Sequence[str], config: Config) -> str:
    digest = hashlib.sha256("\n".join(sorted(keys)).encode()).hexdigest()[:32]
    return f"<casewatch.{digest}@{domain_of(config.outbound.from_address)}>"


def token(secret: bytes, mid: str) -> str:
    return hmac.new(secret, mid.encode(), hashlib.sha256).hexdigest()[:TOKEN_LENGTH]


def reply_address(tok: str, config: Config) -> str:
    local, _, domain = config.outbound.from_address.partition("@")
    return f"{local}+{tok}@{domain}"


def is_vendor(address: str, config: Config) -> bool:
    domain = domain_of(address)
    return any(domain == d or domain.endswith("." + d) for d in config.vendor.sender_domains)


def headed(
    config: Config,
    *,
    to: Sequence[str],
    subject: str,
    mid: str,
    at: datetime,
    kinds: Sequence[str],
    cases: Sequence[str] = (),
    cc: Sequence[str] = (),
    reply_to: str | None = None,
    references: Sequence[str] = (),
    auto: str = "auto-generated",
) -> EmailMessage:
    """A message of ours with the headers every casewatch mail carries, no body yet."""
    msg = EmailMessage()
    msg["From"] = formataddr((f"casewatch ({config.consortium.name})", config.outbound.from_address))
    msg["To"] = ", ".join(to)
    if cc:
        msg["Cc"] = ", ".join(cc)
    msg["Subject"] = one_line(subject)
    msg["Date"] = format_datetime(at)
    msg["Message-ID"] = mid
    if reply_to:
        msg["Reply-To"] = reply_to
    if references:
        msg["References"] = " ".join(references)
        msg["In-Reply-To"] = references[-1]
    msg["Auto-Submitted"] = auto
    msg["X-Auto-Response-Suppress"] = "OOF, AutoReply"
    msg["X-Casewatch-Action"] = ",".join(kinds)
    if cases:
        msg["X-Casewatch-Case"] = ",".join(cases)
    msg["X-Casewatch-Loop"] = config.outbound.from_address  # the recognizers ignore mail with it
    return msg


def wire(msg: EmailMessage) -> bytes:
    """The message as it goes over SMTP: CRLF line ends (smtplib sends bytes as they are)."""
    return msg.as_bytes(policy=msg.policy.clone(linesep="\r\n"))


def compose(
    rendered: Rendered,
    actions: Sequence[Action],
    mid: str,
    reply_to: str,
    to: Sequence[str],
    cc: Sequence[str],
    references: Sequence[str],
    now: datetime,
    config: Config,
) -> EmailMessage:
    """The message carrying ``actions``: ``to`` and ``cc`` already cleared of vendor addresses."""
    cases = list(dict.fromkeys(n for a in actions for n in (a.cases or ((a.case,) if a.case else ()))))
    if all(a.kind in ("digest", "agenda") for a in actions):
        cases = []
    msg = headed(
        config,
        to=to,
        cc=cc,
        subject=rendered.subject,
        mid=mid,
        at=now,
        kinds=list(dict.fromkeys(a.kind for a in actions)),
        cases=cases,
        reply_to=reply_to,
        references=references,
    )
    msg.set_content(rendered.text)
    msg.add_alternative(rendered.html, subtype="html")
    return msg
