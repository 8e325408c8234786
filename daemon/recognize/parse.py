"""Bytes to a ``Mail``: the one place a message is parsed.

``mail-parser`` does the MIME work (it is pinned exactly: its behaviour changed in
patch releases). Around it: header decoding that never raises, HTML-only bodies
turned into text with table rows kept as ``label: value`` lines, and the
addresses and identifiers the recognizers need.
"""

from __future__ import annotations

import contextlib
import email.errors
import email.header
import email.message
import email.policy
import email.utils
import html
import logging
import re
from dataclasses import dataclass
from datetime import datetime
from html.parser import HTMLParser
from typing import Any

import mailparser

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

    def header(self, name: str) -> str:
        values = self.headers.get(name.lower())
        return values[0] if values else ""

    def has(self, name: str) -> bool:
        return name.lower() in self.headers

    @property
    def recipients(self) -> tuple[Address, ...]:
        return self.to + self.cc


_MSGID = re.compile(r"<([^<>\s]+)>")
_WS = re.compile(r"\s+")


def decode_header(value: Any) -> str:
    """An RFC 2047 header value as text, folded onto one line; never raises."""
    if value is None:
        return ""
    text = str(value)
    if "=?" in text:
        with contextlib.suppress(ValueError, LookupError, UnicodeError, email.errors.HeaderParseError):
            text = str(email.header.make_header(email.header.decode_header(text)))
    return _WS.sub(" ", text).strip()


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


class _HtmlText(HTMLParser):
    """HTML to text: block elements end lines, table cells become ``a: b`` pairs."""

    BLOCKS = frozenset(
        [
            "p",
            "div",
            "br",
            "tr",
            "li",
            "h1",
            "h2",
            "h3",
            "h4",
            "h5",
            "h6",
            "table",
            "blockquote",
            "pre",
            "hr",
            "ul",
            "ol",
            "dl",
            "dt",
            "dd",
            "section",
        ]
    )
    SKIP = frozenset(("script", "style", "head", "title"))

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[str] = []
        self.line: list[str] = []
        self.cells: list[str] | None = None
        self.skipping = 0

    def _flush(self) -> None:
        text = _WS.sub(" ", "".join(self.line)).strip()
        if text:
            self.lines.append(text)
        elif self.lines and self.lines[-1] != "":
            self.lines.append("")
        self.line = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.SKIP:
            self.skipping += 1
        elif tag == "tr":
            self._flush()
            self.cells = []
        elif tag in ("td", "th") and self.cells is not None:
            self.cells.append("".join(self.line))
            self.line = []
        elif self.cells is not None and tag in self.BLOCKS:  # <p> inside a cell (Outlook)
            self.line.append(" ")
        elif tag in self.BLOCKS:
            self._flush()

    def handle_endtag(self, tag: str) -> None:
        if tag in self.SKIP:
            self.skipping = max(0, self.skipping - 1)
        elif tag == "tr" and self.cells is not None:
            self.cells.append("".join(self.line))
            cells = [_WS.sub(" ", c).strip() for c in self.cells]
            cells = [c for c in cells if c]
            if len(cells) == 2 and not cells[0].endswith(":"):
                self.line = [f"{cells[0]}: {cells[1]}"]
            else:
                self.line = [" ".join(cells)]
            self.cells = None
            self._flush()
        elif self.cells is not None and tag in self.BLOCKS:
            self.line.append(" ")
        elif tag in self.BLOCKS:
            self._flush()

    def handle_data(self, data: str) -> None:
        if not self.skipping:
            self.line.append(data)

    def text(self) -> str:
        self._flush()
        return "\n".join(self.lines).strip()


def html_to_text(markup: str) -> str:
    """Readable text from HTML; tables of label / value rows become ``label: value`` lines."""
    parser = _HtmlText()
    try:
        parser.feed(markup)
        parser.close()
    except (AssertionError, ValueError):  # HTMLParser on broken markup
        return html.unescape(re.sub(r"<[^>]*>", " ", markup))
    return parser.text()


def _normalize_newlines(data: bytes) -> bytes:
    if b"\r" in data and b"\n" not in data:  # old Mac: CR-only lines
        return data.replace(b"\r", b"\n")
    return data


def _decoded(part: email.message.Message) -> str:
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        return ""
    charset = part.get_content_charset() or "utf-8"
    try:
        return payload.decode(charset, "replace")
    except LookupError:
        return payload.decode("latin-1")


def _stdlib_parse(data: bytes) -> tuple[email.message.Message | None, list[str], list[str]]:
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
                plain.append(_decoded(part))
            elif ctype == "text/html":
                markup.append(_decoded(part))
    except RecursionError:
        raise Unparseable("MIME nesting too deep") from None
    except Exception as exc:
        raise Unparseable(f"parser failed: {type(exc).__name__}: {exc}") from None
    return msg, plain, markup


def parse(data: bytes) -> Mail:
    """Parse one message; raise ``Unparseable`` with the reason when it is not mail."""
    if not data.strip():
        raise Unparseable("empty message (0 bytes or only white space)")
    if len(data) > MAX_BYTES:
        raise Unparseable(f"message larger than {MAX_BYTES} bytes")
    data = _normalize_newlines(data)
    try:
        parsed = mailparser.parse_from_bytes(data)
        msg, plain, markup = parsed.message, parsed.text_plain, parsed.text_html
    except Exception:  # mail-parser gave up on a part: read it with the stdlib alone
        msg, plain, markup = _stdlib_parse(data)
    if msg is None or not msg.keys():
        raise Unparseable("no headers: not an e-mail message")

    headers: dict[str, list[str]] = {}
    for name, value in msg.items():
        headers.setdefault(str(name).strip().lower(), []).append(decode_header(value))
    frozen = {k: tuple(v) for k, v in headers.items()}
    if not any(k in frozen for k in ("from", "subject", "date", "message-id", "to", "sender")):
        raise Unparseable("no mail headers (From, To, Subject, Date, Message-ID all missing)")

    text = "\n".join(t for t in plain if t)
    if not text.strip() and markup:
        text = html_to_text("\n".join(markup))
    text = text.replace("\x00", "").replace("\r\n", "\n").replace("\r", "\n")

    aware, naive = _date(frozen.get("date", ("",))[0])
    ids = message_ids(frozen.get("message-id", ("",))[0])
    parents = message_ids(" ".join(frozen.get("in-reply-to", ())))
    parents += tuple(p for p in message_ids(" ".join(frozen.get("references", ()))) if p not in parents)
    sender = _addresses(frozen.get("from", ()))
    try:
        content_type = msg.get_content_type()
    except Exception:  # compat32 may choke on a mangled header
        content_type = "text/plain"
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
    )
