"""Bytes to a ``Mail``: the one place a message is parsed.

``mail-parser`` does the MIME work (it is pinned exactly: its behaviour changed in
patch releases). Around it: header decoding that never raises, HTML-only bodies
turned into text with table rows kept as ``label: value`` lines, and the
addresses and identifiers the recognizers need.
"""

from __future__ import annotations

import base64
import binascii
import codecs
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

from daemon.recognize.dsn import Delivery
from daemon.recognize.dsn import read as read_delivery

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
_WS = re.compile(r"\s+")

#: An RFC 2047 encoded word, read loosely (any encoding letter, spaces in the text) so that a
#: malformed one is noticed and kept as written rather than half-decoded. No ``?`` inside a
#: part: that keeps the scan linear on hostile input.
_ENCODED_WORD = re.compile(r"=\?([^?]*)\?([^?]*)\?([^?]*)\?=")
_QP_ESCAPE = re.compile(rb"=([0-9A-Fa-f]{2})")
_NOT_BASE64 = re.compile(rb"[^A-Za-z0-9+/]")
#: A header says at most this many things about how it was decoded (a hostile one could say thousands).
MAX_NOTES = 12


def _shown(name: str, limit: int = 40) -> str:
    """A name from the message, safe to put in a note: printable, short, quoted."""
    clean = "".join(c if c.isprintable() else "?" for c in name[:limit])
    return repr(clean + ("…" if len(name) > limit else ""))


def _note(notes: list[str], text: str) -> None:
    if text not in notes:
        notes.append(text)


def _codec(charset: str) -> str | None:
    """The Python codec of a MIME charset name (RFC 2231 language dropped); None when unknown
    (not ASCII, not a codec, or not a text encoding)."""
    name = charset.partition("*")[0].strip().strip('"').lower()
    if not name or not name.isascii():
        return None
    try:
        info = codecs.lookup(name)
    except (LookupError, ValueError):
        return None
    return info.name if getattr(info, "_is_text_encoding", True) else None


def decode_bytes(data: bytes, charset: str | None, where: str, notes: list[str]) -> str:
    """Bytes in a declared charset as text; never raises. An unknown charset is read as UTF-8
    when the bytes are UTF-8, else latin-1; bytes the charset cannot read become U+FFFD.
    Every fallback is noted (``where`` names the header or part)."""
    codec = _codec(charset) if charset else "ascii"
    if codec is None:
        try:
            text, used = data.decode("utf-8"), "UTF-8"
        except UnicodeDecodeError:
            text, used = data.decode("latin-1"), "latin-1"
        _note(notes, f"{where}: unknown charset {_shown(charset or '')}, read as {used}")
        return text
    try:
        text = data.decode(codec)
    except Exception:  # UnicodeError, or a codec that fails its own way
        try:
            text = data.decode(codec, "replace")
            _note(notes, f"{where}: bytes not valid {_shown(charset or 'us-ascii')} replaced by U+FFFD")
        except Exception:
            text = data.decode("latin-1")
            _note(notes, f"{where}: charset {_shown(charset or '')} failed, read as latin-1")
    if _SURROGATE.search(text):  # utf-7 and friends can make lone surrogates: not text
        text = _SURROGATE.sub("\ufffd", text)
        _note(notes, f"{where}: invalid characters in {_shown(charset or '')} replaced by U+FFFD")
    return text


_SURROGATE = re.compile("[\ud800-\udfff]")


def _word_bytes(encoding: str, payload: str) -> bytes | None:
    """The bytes of an encoded word's text; None when the encoding is unknown or undecodable."""
    raw = payload.encode("utf-8", "surrogateescape")
    if encoding.lower() == "q":
        return _QP_ESCAPE.sub(lambda m: bytes.fromhex(m.group(1).decode()), raw.replace(b"_", b" "))
    if encoding.lower() == "b":
        data = _NOT_BASE64.sub(b"", raw)
        if len(data) % 4 == 1 or (not data and raw.strip()):
            return None
        try:
            return base64.b64decode(data + b"=" * (-len(data) % 4))
        except (binascii.Error, ValueError):
            return None
    return None


def _raw_header_text(value: str, where: str, notes: list[str]) -> str:
    """A header as the parser left it: 8-bit bytes (kept as surrogate escapes) read as UTF-8,
    else latin-1 (noted)."""
    if not _SURROGATE.search(value):
        return value
    data = value.encode("utf-8", "surrogateescape")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        _note(notes, f"{where}: raw 8-bit bytes, not UTF-8, read as latin-1")
        return data.decode("latin-1", "replace")


def decode_header_noted(value: Any, name: str = "header") -> tuple[str, tuple[str, ...]]:
    """An RFC 2047 header value as text, folded onto one line, and what fell back; never raises.

    Adjacent encoded words in one charset are joined before decoding (a character may be split
    between them); the white space between encoded words is dropped. A word with an unknown
    encoding letter or undecodable base64 stays as written; an unknown charset is read as UTF-8
    or latin-1; invalid bytes become U+FFFD. Each such fallback is a note naming the header.
    """
    if value is None:
        return "", ()
    where = name.strip()[:60] or "header"
    notes: list[str] = []
    text = _raw_header_text(value if isinstance(value, str) else str(value), where, notes)
    if "=?" in text:
        text = _decode_words(text, where, notes)
    text = _WS.sub(" ", text.replace("\x00", "")).strip()
    if len(notes) > MAX_NOTES:
        notes[MAX_NOTES - 1 :] = [f"{where}: {len(notes) - MAX_NOTES + 1} more decoding fallbacks"]
    return text, tuple(notes)


def _decode_words(text: str, where: str, notes: list[str]) -> str:
    # pieces: plain text (charset None) or the bytes of encoded words in one charset
    pieces: list[tuple[str | bytes, str | None]] = []
    pos = 0
    for match in _ENCODED_WORD.finditer(text):
        charset, encoding, payload = match.groups()
        data = _word_bytes(encoding, payload)
        between = text[pos : match.start()]
        pos = match.end()
        if data is None:
            if encoding.lower() in ("q", "b"):
                _note(notes, f"{where}: undecodable base64 in an encoded word, kept as written")
            else:
                _note(
                    notes, f"{where}: encoded word with unknown encoding {_shown(encoding)}, kept as written"
                )
            pieces.append((between + match.group(0), None))
            continue
        previous = pieces[-1] if pieces else None
        if between and not (between.isspace() and previous is not None and previous[1] is not None):
            pieces.append((between, None))
        elif (
            previous is not None
            and isinstance(previous[0], bytes)
            and previous[1] is not None
            and previous[1].lower() == charset.lower()
        ):
            pieces[-1] = (previous[0] + data, previous[1])
            continue
        pieces.append((data, charset))
    pieces.append((text[pos:], None))
    out = []
    for content, charset in pieces:
        if isinstance(content, bytes):
            out.append(decode_bytes(content, charset, where, notes))
        else:
            out.append(content)
    return "".join(out)


def decode_header(value: Any, name: str = "header") -> str:
    """An RFC 2047 header value as text, folded onto one line; never raises."""
    return decode_header_noted(value, name)[0]


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


def html_to_text(markup: str, notes: list[str] | None = None) -> str:
    """Readable text from HTML; tables of label / value rows become ``label: value`` lines.
    Markup the parser cannot read has its tags stripped instead (said in ``notes``)."""
    parser = _HtmlText()
    try:
        parser.feed(markup)
        parser.close()
        return parser.text()
    except Exception as exc:  # HTMLParser on broken markup (AssertionError, ValueError, ...)
        if notes is not None:
            _note(notes, f"HTML body unreadable ({type(exc).__name__}): tags stripped instead")
        return html.unescape(re.sub(r"<[^<>]*>", " ", markup))


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


def parse(data: bytes) -> Mail:
    """Parse one message; raise ``Unparseable`` with the reason when it is not mail."""
    if not data.strip():
        raise Unparseable("empty message (0 bytes or only white space)")
    if len(data) > MAX_BYTES:
        raise Unparseable(f"message larger than {MAX_BYTES} bytes")
    data = _normalize_newlines(data)
    notes: list[str] = []
    try:
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
        key = _raw_header_text(str(name), "a header name", notes).strip()
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
    if _SURROGATE.search(text):  # never seen from mail-parser, but not text: SQLite would refuse it
        text = _SURROGATE.sub("\ufffd", text)
        _note(notes, "body: invalid characters replaced by U+FFFD")

    aware, naive = _date(frozen.get("date", ("",))[0])
    ids = message_ids(frozen.get("message-id", ("",))[0])
    parents = message_ids(" ".join(frozen.get("in-reply-to", ())))
    parents += tuple(p for p in message_ids(" ".join(frozen.get("references", ()))) if p not in parents)
    sender = _addresses(frozen.get("from", ()))
    try:
        content_type = msg.get_content_type()
    except Exception:  # compat32 may choke on a mangled header
        content_type = "text/plain"
        _note(notes, "Content-Type unreadable: read as text/plain")
    delivery: tuple[Delivery, ...] = ()
    returned: str | None = None
    if content_type == "multipart/report":
        try:
            delivery, returned = read_delivery(msg)
        except Exception as exc:  # a damaged report is still a bounce: noise, read no further
            _note(notes, f"delivery report unreadable ({type(exc).__name__})")
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
                    _note(notes, f"{part.get_content_type()}: {said}")
    except Exception as exc:  # a part too broken to walk: what was read stands
        _note(notes, f"MIME structure unreadable ({type(exc).__name__})")


def _body_notes(defects: Any, notes: list[str]) -> None:
    """mail-parser's own fallbacks (a body charset it could not apply) as notes."""
    for entry in defects if isinstance(defects, list) else ():
        for items in entry.values() if isinstance(entry, dict) else ():
            for item in items if isinstance(items, list) else ():
                if isinstance(item, str) and item.startswith(("CharsetDecodeDefect", "MimeHeaderDefect")):
                    _note(notes, item.split(". Original bytes")[0][:200])


def _capped(notes: list[str]) -> tuple[str, ...]:
    if len(notes) <= MAX_NOTES:
        return tuple(notes)
    return (*notes[: MAX_NOTES - 1], f"{len(notes) - MAX_NOTES + 1} more decoding fallbacks")
