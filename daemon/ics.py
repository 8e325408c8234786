"""iCalendar (RFC 5545) files, written by hand (pure).

``calendar(entries, stamp, name)`` returns the bytes of one VCALENDAR with a VEVENT per entry:
CRLF line ends, content lines folded at 75 octets (never inside a UTF-8 character), TEXT values
escaped (backslash, semicolon, comma, newline), times in UTC. ``DTSTAMP`` is the ``stamp``
given, not the clock, so the same inputs always give the same bytes; each entry's ``uid`` is
made by its caller from what the event is (a call's date, an action's key), so a calendar
written again replaces its events instead of adding copies.

Written by hand rather than with the ``icalendar`` package: casewatch only writes a few
properties, and this keeps the dependency list short.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

PRODID = "-//casewatch//casewatch support-case calendar//EN"
LINE_OCTETS = 75  # the longest content line, CRLF excluded (RFC 5545, 3.1)


@dataclass(frozen=True)
class Entry:
    """One event: an instant (a deadline) or, with ``duration``, a stretch (a support call)."""

    uid: str
    start: datetime  # timezone-aware
    summary: str
    description: str = ""
    duration: timedelta | None = None
    categories: tuple[str, ...] = ()


def escape(text: str) -> str:
    """A TEXT value (RFC 5545, 3.3.11): backslash, semicolon and comma escaped, newlines as \\n."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")


def fold(line: str) -> str:
    """One content line, folded: no physical line over 75 octets, each continuation starting
    with a space, and a UTF-8 character never split between lines."""
    out: list[str] = []
    current = ""
    size = 0
    limit = LINE_OCTETS
    for ch in line:
        n = len(ch.encode("utf-8"))
        if size + n > limit:
            out.append(current)
            current, size, limit = " ", 1, LINE_OCTETS
        current += ch
        size += n
    out.append(current)
    return "\r\n".join(out)


def utc(at: datetime) -> str:
    """A DATE-TIME in UTC form, e.g. ``20261104T180000Z``."""
    if at.tzinfo is None:
        raise ValueError("an iCalendar time needs a time zone")
    return at.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def _duration(d: timedelta) -> str:
    seconds = int(d.total_seconds())
    if seconds < 0:
        raise ValueError("a negative duration")
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    text = "PT" + (f"{hours}H" if hours else "") + (f"{minutes}M" if minutes else "")
    return text + (f"{secs}S" if secs or text == "PT" else "")


def _event(e: Entry, stamp: datetime) -> Iterable[str]:
    yield "BEGIN:VEVENT"
    yield f"UID:{escape(e.uid)}"
    yield f"DTSTAMP:{utc(stamp)}"
    yield f"DTSTART:{utc(e.start)}"
    if e.duration is not None:
        yield f"DURATION:{_duration(e.duration)}"
    yield f"SUMMARY:{escape(e.summary)}"
    if e.description:
        yield f"DESCRIPTION:{escape(e.description)}"
    if e.categories:
        yield "CATEGORIES:" + ",".join(escape(c) for c in e.categories)
    yield "TRANSP:TRANSPARENT"
    yield "END:VEVENT"


def calendar(entries: Sequence[Entry], stamp: datetime, name: str = "casewatch") -> bytes:
    """The VCALENDAR of ``entries`` (in the order given; one per uid, the first kept)."""
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        f"PRODID:{PRODID}",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        f"X-WR-CALNAME:{escape(name)}",
    ]
    seen: set[str] = set()
    for e in entries:
        if e.uid in seen:
            continue
        seen.add(e.uid)
        lines.extend(_event(e, stamp))
    lines.append("END:VCALENDAR")
    return "".join(fold(line) + "\r\n" for line in lines).encode("utf-8")
