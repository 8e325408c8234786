"""Header and text decoding that never raises: every fallback is said in a note.

``decode_bytes`` reads bytes in a declared charset; ``decode_header_noted`` reads an RFC 2047
header (encoded words, raw 8-bit bytes) onto one line and says what fell back;
``decode_header`` is the same without the notes. ``daemon.recognize.parse`` re-exports them.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import re
from typing import Any

_WS = re.compile(r"\s+")
#: Lone surrogates: what undecodable bytes become in a str, and utf-7 can make; never text.
SURROGATE = re.compile("[\ud800-\udfff]")
#: An RFC 2047 encoded word, read loosely (any encoding letter, spaces in the text) so that a
#: malformed one is noticed and kept as written rather than half-decoded. No ``?`` inside a
#: part: that keeps the scan linear on hostile input.
_ENCODED_WORD = re.compile(r"=\?([^?]*)\?([^?]*)\?([^?]*)\?=")
_QP_ESCAPE = re.compile(rb"=([0-9A-Fa-f]{2})")
_NOT_BASE64 = re.compile(rb"[^A-Za-z0-9+/]")
#: A header says at most this many things about how it was decoded (a hostile one could say thousands).
MAX_NOTES = 12


def shown(name: str, limit: int = 40) -> str:
    """A name from the message, safe to put in a note: printable, short, quoted."""
    clean = "".join(c if c.isprintable() else "?" for c in name[:limit])
    return repr(clean + ("…" if len(name) > limit else ""))


def note(notes: list[str], text: str) -> None:
    """Add ``text`` to ``notes`` unless it is there already."""
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
        note(notes, f"{where}: unknown charset {shown(charset or '')}, read as {used}")
        return text
    try:
        text = data.decode(codec)
    except Exception:  # UnicodeError, or a codec that fails its own way
        try:
            text = data.decode(codec, "replace")
            note(notes, f"{where}: bytes not valid {shown(charset or 'us-ascii')} replaced by U+FFFD")
        except Exception:
            text = data.decode("latin-1")
            note(notes, f"{where}: charset {shown(charset or '')} failed, read as latin-1")
    if SURROGATE.search(text):  # utf-7 and friends can make lone surrogates: not text
        text = SURROGATE.sub("\ufffd", text)
        note(notes, f"{where}: invalid characters in {shown(charset or '')} replaced by U+FFFD")
    return text


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


def raw_header_text(value: str, where: str, notes: list[str]) -> str:
    """A header as the parser left it: 8-bit bytes (kept as surrogate escapes) read as UTF-8,
    else latin-1 (noted)."""
    if not SURROGATE.search(value):
        return value
    data = value.encode("utf-8", "surrogateescape")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        note(notes, f"{where}: raw 8-bit bytes, not UTF-8, read as latin-1")
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
    text = raw_header_text(value if isinstance(value, str) else str(value), where, notes)
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
                note(notes, f"{where}: undecodable base64 in an encoded word, kept as written")
            else:
                note(notes, f"{where}: encoded word with unknown encoding {shown(encoding)}, kept as written")
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
