"""Bytes to a ``Mail``: the one place a message is parsed.

``mail-parser`` does the MIME work (it is pinned exactly: its behaviour changed in
patch releases). Around it: header decoding that never raises, HTML-only bodies
turned into text with table rows kept as ``label: value`` lines, and the
addresses and identifiers the recognizers need. The decoding lives in
``daemon.recognize.decoding`` and the HTML text in ``daemon.recognize.html_text``; both are
re-exported here for callers. The common path's MIME parse is ``daemon.recognize.mime``'s (the
standard library's, without a pattern compiled per multipart boundary).
"""

from __future__ import annotations

import email.header
import email.message
import email.policy
import email.utils
import logging
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import mailparser

from daemon.recognize.decoding import (
    MAX_NOTES,
    SURROGATE,
    decode_bytes,
    decode_header,
    decode_header_noted,
    note,
    raw_header_text,
)
from daemon.recognize.dsn import Delivery
from daemon.recognize.dsn import read as read_delivery
from daemon.recognize.html_text import html_to_text
from daemon.recognize.mime import message_from_bytes

#: Callers import these from here too (the decoding and the HTML text have modules of their own).
__all__ = [
    "MAX_NOTES",
    "Address",
    "Mail",
    "Unparseable",
    "decode_bytes",
    "decode_header",
    "decode_header_noted",
    "html_to_text",
    "message_ids",
    "parse",
]

# mail-parser logs a warning for every part type it does not extract; that is
# not news for us, and would drown the daemon's own log.
logging.getLogger("mailparser").setLevel(logging.ERROR)

#: Above this, a message is not read as mail (a runaway attachment or a hostile input).
MAX_BYTES = 25 * 1024 * 1024


class Unparseable(Exception):
    """The message cannot be read as mail; the reason says why (it goes to quarantine)."""


@dataclass(frozen=True)
class Address:
    name: str
    email: str  # lower-cased; "" when the header had none

    @property
    def domain(self) -> str:
        return self.email.rpartition("@")[2] if "@" in self.email else ""

    @property
    def local(self) -> str:
        return self.email.partition("@")[0]


@dataclass(frozen=True)
class Mail:
    """A parsed message, reduced to what casewatch reads."""

    message_id: str | None  # without angle brackets
    subject: str
    sender: Address  # From
    to: tuple[Address, ...]
    cc: tuple[Address, ...]
    date: datetime | None  # from Date, only when it carried a zone
    date_unzoned: datetime | None  # a Date without a zone, naive: never used silently
    received_at: datetime | None  # newest Received header's timestamp, with zone
    headers: dict[str, tuple[str, ...]]  # lower-cased names, decoded values
    content_type: str
    text: str  # plain body, or the HTML body made text
    parent_ids: tuple[str, ...]  # In-Reply-To then References, without brackets
    # What could not be decoded as declared and how it was read instead (bad charsets, damaged
    # base64, raw 8-bit headers, broken MIME): stored as the message's note.
    notes: tuple[str, ...] = ()
    # A delivery report (multipart/report): the recipients it speaks of, and the returned
    # message's Message-ID (``daemon.recognize.dsn``).
    delivery: tuple[Delivery, ...] = ()
    returned_id: str | None = None

    def header(self, name: str) -> str:
        values = self.headers.get(name.lower())
        return values[0] if values else ""

    def has(self, name: str) -> bool:
        return name.lower() in self.headers

    @property
    def recipients(self) -> tuple[Address, ...]:
        return self.to + self.cc


_MSGID = re.compile(r"<([^<>\s]+)>")


def message_ids(value: str) -> tuple[str, ...]:
    """The Message-IDs in a header value (``<a@b> <c@d>``), without brackets."""
    found = _MSGID.findall(value)
    if not found and value.strip() and " " not in value.strip():
        found = [value.strip()]
    return tuple(found)


_ATOM = r'[^<>\s",;:()\\@]+'
_SIMPLE_ADDRESS = re.compile(rf'^\s*(?:([^<>",;:()\\@]*?)\s*<({_ATOM}@{_ATOM})>|({_ATOM}@{_ATOM}))\s*$')


def _simple_addresses(values: tuple[str, ...]) -> list[tuple[str, str]] | None:
    """The common forms (``Name <a@b>``, ``a@b``, comma-separated) without the slow general parser;
    None when anything else is there (quotes, comments, groups, encoded words, semicolons)."""
    pairs = []
    for value in values:
        if "=?" in value:
            return None
        for item in value.split(","):
            if not item.strip():
                continue
            m = _SIMPLE_ADDRESS.match(item)
            if m is None:
                return None
            name, bracketed, bare = m.groups()
            pairs.append(((name or "").strip(), bracketed or bare))
    return pairs


def _addresses(values: tuple[str, ...]) -> tuple[Address, ...]:
    simple = _simple_addresses(values)
    if simple is not None:
        return tuple(Address(decode_header(name), addr.lower()) for name, addr in simple)
    out = []
    try:
        pairs = email.utils.getaddresses([v[:4096] for v in values])
    except (ValueError, TypeError, IndexError, RecursionError):
        pairs = []
    for name, raw_addr in pairs:
        addr = raw_addr.strip().lower()
        if addr or name:
            out.append(Address(decode_header(name), addr))
    return tuple(out)


def _date(value: str) -> tuple[datetime | None, datetime | None]:
    """(aware date, naive date) from a Date header; at most one is set."""
    if not value:
        return None, None
    try:
        parsed = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None, None
    if parsed.tzinfo is None:
        return None, parsed
    return parsed, None


def _received_at(values: tuple[str, ...]) -> datetime | None:
    for value in values:  # the first Received header is the newest hop: our server
        _, sep, stamp = value.rpartition(";")
        if sep:
            aware, _naive = _date(stamp.strip())
            if aware:
                return aware
    return None


def _normalize_newlines(data: bytes) -> bytes:
    if b"\r" in data and b"\n" not in data:  # old Mac: CR-only lines
        return data.replace(b"\r", b"\n")
    return data


def _decoded(part: email.message.Message, notes: list[str]) -> str:
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        return ""
    return decode_bytes(payload, part.get_content_charset() or "utf-8", part.get_content_type(), notes)


def _stdlib_parse(data: bytes, notes: list[str]) -> tuple[email.message.Message | None, list[str], list[str]]:
    """The fallback when mail-parser raises: text parts read with the stdlib alone."""
    try:
        msg = email.message_from_bytes(data, policy=email.policy.compat32)
        plain: list[str] = []
        markup: list[str] = []
        for part in msg.walk():
            if part.is_multipart() or part.get_filename():
                continue
            ctype = part.get_content_type()
            if ctype == "text/plain":
                plain.append(_decoded(part, notes))
            elif ctype == "text/html":
                markup.append(_decoded(part, notes))
    except RecursionError:
        raise Unparseable("MIME nesting too deep") from None
    except Exception as exc:
        raise Unparseable(f"parser failed: {type(exc).__name__}: {exc}") from None
    return msg, plain, markup


_CONTENT_HEADERS = frozenset(
    ("content-type", "content-disposition", "content-id", "content-transfer-encoding")
)
_CONTAINERS = frozenset(("multipart/alternative", "multipart/mixed", "multipart/related"))


def _text_payload(part: email.message.Message) -> str | None:
    """A text part's body as mail-parser 4.8.0 reads it (``MailParser._decode_body_payload``);
    None where mail-parser would fall back and say so (a charset that fails)."""
    payload = part.get_payload(decode=True)
    cte = str(part.get("Content-Transfer-Encoding", "") or "").strip().lower()
    if not cte or cte in ("7bit", "8bit"):
        raw_text = getattr(part, "_payload", None)  # what mail-parser reads: the body as parsed
        if isinstance(raw_text, str) and _is_text(raw_text):
            return raw_text
    if not payload:
        return ""
    if not isinstance(payload, bytes):
        return None
    try:
        text = payload.decode(part.get_content_charset("utf-8"))
    except (LookupError, UnicodeError):
        return None
    return text if _is_text(text) else None


def _is_text(text: str) -> bool:
    """No lone surrogates (bytes the parser kept as escapes): mail-parser's own test, in C."""
    if text.isascii():
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _common_parse(data: bytes) -> tuple[email.message.Message, list[str], list[str]] | None:
    """The common path with the standard library alone: the same message, text parts and
    HTML parts mail-parser gives, for mail with nothing mail-parser treats specially (text
    parts in plain multipart containers, ASCII MIME headers, no attachment, no defect, a
    charset that decodes). None for anything else: mail-parser reads it then."""
    try:
        msg = message_from_bytes(data)  # compat32, as mail-parser parses (recognize/mime.py)
        parts = list(msg.walk())
        plain: list[str] = []
        markup: list[str] = []
        for part in parts:
            if part.defects or part.get_filename() is not None:
                return None
            for name, value in part.raw_items():
                if name.lower() in _CONTENT_HEADERS and not str(value).isascii():
                    return None
            if part.get("content-id") is not None or part.get_content_disposition() not in (None, "inline"):
                return None
            ctype = part.get_content_type()
            if part.is_multipart():
                if ctype not in _CONTAINERS:
                    return None
                continue
            if ctype not in ("text/plain", "text/html"):
                return None
            text = _text_payload(part)
            if text is None:
                return None
            if text:
                (markup if ctype == "text/html" else plain).append(text)
    except Exception:  # RecursionError included: mail-parser reads it, and says what failed
        return None
    return msg, plain, markup


def parse(data: bytes, common_path: bool = True) -> Mail:
    """Parse one message; raise ``Unparseable`` with the reason when it is not mail.

    The common shapes of mail are read with the standard library alone (``_common_parse``);
    the rest, or everything with ``common_path=False``, through mail-parser. Both give the
    same ``Mail`` (tests/test_parse_paths.py)."""
    if not data.strip():
        raise Unparseable("empty message (0 bytes or only white space)")
    if len(data) > MAX_BYTES:
        raise Unparseable(f"message larger than {MAX_BYTES} bytes")
    data = _normalize_newlines(data)
    notes: list[str] = []
    common = _common_parse(data) if common_path else None
    msg: email.message.Message | None
    try:
        if common is not None:
            msg, plain, markup = common
        else:
            parsed = mailparser.parse_from_bytes(data)
            msg, plain, markup = parsed.message, parsed.text_plain, parsed.text_html
            _body_notes(parsed.defects, notes)
    except Exception as exc:  # mail-parser gave up on a part: read it with the stdlib alone
        notes.append(f"mail-parser failed ({type(exc).__name__}): read with the standard library")
        msg, plain, markup = _stdlib_parse(data, notes)
    if msg is None or not msg.keys():
        raise Unparseable("no headers: not an e-mail message")

    headers: dict[str, list[str]] = {}
    for name, value in msg.raw_items():  # as written: 8-bit bytes still surrogate escapes
        key = raw_header_text(str(name), "a header name", notes).strip()
        text, said = decode_header_noted(value, key)
        headers.setdefault(key.lower(), []).append(text)
        notes.extend(n for n in said if n not in notes)
    frozen = {k: tuple(v) for k, v in headers.items()}
    if not any(k in frozen for k in ("from", "subject", "date", "message-id", "to", "sender")):
        raise Unparseable("no mail headers (From, To, Subject, Date, Message-ID all missing)")
    _part_notes(msg, notes)

    text = "\n".join(t for t in plain if t)
    if not text.strip() and markup:
        text = html_to_text("\n".join(markup), notes)
    text = text.replace("\x00", "").replace("\r\n", "\n").replace("\r", "\n")
    if SURROGATE.search(text):  # never seen from mail-parser, but not text: SQLite would refuse it
        text = SURROGATE.sub("\ufffd", text)
        note(notes, "body: invalid characters replaced by U+FFFD")

    aware, naive = _date(frozen.get("date", ("",))[0])
    ids = message_ids(frozen.get("message-id", ("",))[0])
    parents = message_ids(" ".join(frozen.get("in-reply-to", ())))
    parents += tuple(p for p in message_ids(" ".join(frozen.get("references", ()))) if p not in parents)
    sender = _addresses(frozen.get("from", ()))
    try:
        content_type = msg.get_content_type()
    except Exception:  # compat32 may choke on a mangled header
        content_type = "text/plain"
        note(notes, "Content-Type unreadable: read as text/plain")
    delivery: tuple[Delivery, ...] = ()
    returned: str | None = None
    if content_type == "multipart/report":
        try:
            delivery, returned = read_delivery(msg)
        except Exception as exc:  # a damaged report is still a bounce: noise, read no further
            note(notes, f"delivery report unreadable ({type(exc).__name__})")
    return Mail(
        message_id=ids[0] if ids else None,
        subject=frozen.get("subject", ("",))[0],
        sender=sender[0] if sender else Address("", ""),
        to=_addresses(frozen.get("to", ())),
        cc=_addresses(frozen.get("cc", ())),
        date=aware,
        date_unzoned=naive,
        received_at=_received_at(frozen.get("received", ())),
        headers=frozen,
        content_type=content_type,
        text=text,
        parent_ids=parents,
        notes=_capped(notes),
        delivery=delivery,
        returned_id=returned,
    )


#: What the stdlib's defects mean for the text casewatch reads (the others change nothing).
_DEFECT_NOTES = {
    "InvalidBase64CharactersDefect": "damaged base64: invalid characters skipped",
    "InvalidBase64PaddingDefect": "damaged base64: padding added",
    "InvalidBase64LengthDefect": "undecodable base64: read as written",
    "StartBoundaryNotFoundDefect": "MIME boundary not found: read as one part",
    "CloseBoundaryNotFoundDefect": "closing MIME boundary missing: read to the end",
    "MultipartInvariantViolationDefect": "multipart without parts: read as one part",
    "NoBoundaryInMultipartDefect": "multipart without a boundary: read as one part",
}


def _part_notes(msg: email.message.Message, notes: list[str]) -> None:
    """Notes for the MIME defects the stdlib worked around (damaged base64 is only noticed
    once the payload is decoded, after mail-parser has read the defects)."""
    try:
        for part in msg.walk():
            for defect in part.defects:
                said = _DEFECT_NOTES.get(type(defect).__name__)
                if said:
                    note(notes, f"{part.get_content_type()}: {said}")
    except Exception as exc:  # a part too broken to walk: what was read stands
        note(notes, f"MIME structure unreadable ({type(exc).__name__})")


def _body_notes(defects: Any, notes: list[str]) -> None:
    """mail-parser's own fallbacks (a body charset it could not apply) as notes."""
    for entry in defects if isinstance(defects, list) else ():
        for items in entry.values() if isinstance(entry, dict) else ():
            for item in items if isinstance(items, list) else ():
                if isinstance(item, str) and item.startswith(("CharsetDecodeDefect", "MimeHeaderDefect")):
                    note(notes, item.split(". Original bytes")[0][:200])


def _capped(notes: list[str]) -> tuple[str, ...]:
    if len(notes) <= MAX_NOTES:
        return tuple(notes)
    return (*notes[: MAX_NOTES - 1], f"{len(notes) - MAX_NOTES + 1} more decoding fallbacks")
