"""Delivery status notifications (RFC 3464): which recipient failed, and for which message (pure).

A mail server that cannot deliver a message returns a ``multipart/report`` with a
``message/delivery-status`` part (one block per recipient: ``Final-Recipient``, ``Action``,
``Status``) and the returned message or its headers (``message/rfc822`` or
``text/rfc822-headers``). casewatch reads both to learn that one of its own messages could not
reach someone (see ``owner_unreachable`` in the policy); it never answers a report.
"""

from __future__ import annotations

import email
import email.policy
import re
from dataclasses import dataclass
from email.message import Message

_STATUS = re.compile(r"\b([245]\.\d{1,3}\.\d{1,3})\b")
_MSGID = re.compile(r"<([^<>\s]+)>")
STATUS_TYPES = ("message/delivery-status", "message/global-delivery-status")
RETURNED_TYPES = ("message/rfc822", "text/rfc822-headers", "message/global-headers")
#: A report lists at most this many recipients that casewatch reads (a hostile one could list more).
MAX_RECIPIENTS = 50


@dataclass(frozen=True)
class Delivery:
    """One recipient of a delivery report: who, what happened (``failed``, ``delayed`` ...), the status."""

    recipient: str
    action: str
    status: str

    @property
    def permanent(self) -> bool:
        return self.status.startswith("5") or (self.action == "failed" and not self.status)


def _field(block: Message, name: str) -> str:
    value = block.get(name)
    return str(value).strip() if value is not None else ""


def _blocks(part: Message) -> list[Message]:
    """The per-message and per-recipient blocks of a ``message/delivery-status`` part."""
    payload = part.get_payload()
    if isinstance(payload, list):
        return [p for p in payload if isinstance(p, Message)]
    text = payload if isinstance(payload, str) else ""
    return [email.message_from_string(b.strip() + "\n") for b in re.split(r"\n\s*\n", text) if b.strip()]


def _returned_id(part: Message) -> str | None:
    """The Message-ID of the returned message (a ``message/rfc822`` or ``text/rfc822-headers`` part)."""
    if part.get_content_type() == "message/rfc822":
        inner = part.get_payload()
        inner_msg = inner[0] if isinstance(inner, list) and inner else None
        value = inner_msg.get("Message-ID") if isinstance(inner_msg, Message) else None
    else:
        raw = part.get_payload(decode=True)
        text = raw.decode("ascii", "replace") if isinstance(raw, bytes) else str(part.get_payload())
        value = email.message_from_string(text.replace("\r\n", "\n").split("\n\n", 1)[0] + "\n").get(
            "Message-ID"
        )
    found = _MSGID.search(str(value or ""))
    return found.group(1) if found else None


def read(msg: Message) -> tuple[tuple[Delivery, ...], str | None]:
    """The recipients a delivery report speaks of, and the Message-ID of the returned message."""
    deliveries: list[Delivery] = []
    returned: str | None = None
    for part in msg.walk():
        ctype = part.get_content_type()
        if ctype in STATUS_TYPES:
            for block in _blocks(part):
                recipient = _field(block, "Final-Recipient") or _field(block, "Original-Recipient")
                if not recipient or len(deliveries) >= MAX_RECIPIENTS:
                    continue
                address = recipient.partition(";")[2].strip() if ";" in recipient else recipient
                status = _STATUS.search(_field(block, "Status"))
                action = _field(block, "Action").lower()
                deliveries.append(
                    Delivery(address.strip("<>").lower(), action, status.group(1) if status else "")
                )
        elif ctype in RETURNED_TYPES and returned is None:
            returned = _returned_id(part)
    return tuple(deliveries), returned
