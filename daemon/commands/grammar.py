"""The grammar of reply commands: the first lines of a reply, one command a line (pure).

``read_commands(text, now, tz)`` reads the new part of a reply (``quotes.new_text``) and
returns a ``Reading``: the commands, the lines that start with a command word but are
malformed (``problems``, each with why), and whether the reply also says something else
(``prose``). It reads no clock: ``now`` is given, and ``tz`` is the consortium's zone.

Lines::

    reply    := empty* command (newline command)* [end]
    end      := an empty line | a signature | a line that is not a command | max_lines read

- Leading empty lines are skipped. Each following non-empty line is one command: a command
  word, then its arguments after a space (or a ``:``, ``,``, ``.``: "Priority: high").
  Case, surrounding whitespace, runs of spaces and trailing ``.``, ``!`` and ``,`` do not
  matter ("Done!" is ``done``).
- Reading stops at the first empty line after a command (what follows is not read, and is
  not prose: a greeting or a signature usually), at a signature ("--" alone, a line
  starting with "-- ", "- ", "—" or "–", a phone's "Sent from my ..." or "Get Outlook
  for ..."), after ``max_lines`` lines, or at the first line whose first word is no command word:
  that line and the rest are prose (``prose=True``). After ``max_lines`` lines, a next
  non-empty line that is no signature is prose too: it was not read.
- A line whose first word is a command word but whose arguments are wrong is a problem
  (``"snooze soon"`` -> ``"snooze: not a duration or date: 'soon'"``); reading goes on.
  A malformed line counts as a command for where reading stops.

Commands (synonyms after ``=``)::

    done
    commented = asked = update requested
    escalated
    feedback
    snooze [for] DURATION        3d, 4h, 1w, 30 min, 2 days, 36 hours, 1 week
    snooze [until] DATE          2026-12-15 (09:00), 2026-12-15 14:30, 2026-12-15T14:30,
                                 Dec 15, 15 Dec, December 15, 2026, 15 December 2026
    resume = unmute = unsnooze
    closed
    priority LEVEL               high | normal = medium | low
                                 | system down = system_down = system-down = down = critical
    owner ADDRESS
    handover [to] ADDRESS = hand over [to] ADDRESS
    link [to|with] [case] [#]NUMBER
    agenda
    record = case of record
    mute
    undo
    help = ?

Every command may end with the case it is about: ``[for|on] [case] [#]NUMBER`` ("done
10712345", "snooze 3d for case 10712345", "snooze until 2026-12-15 #10712345"); the
number (6 to 8 digits) is padded to 8 (``casenumbers.normalize``) into ``case``. For
``link`` the first number is the other case (``other``) and a second one is ``case``.

- A duration is real elapsed time (added in UTC): "snooze 1d" at 10:00 PDT on the day
  before the November DST change ends at 09:00 PST. Business time is refused ("3 business
  days"): the grammar knows no calendar.
- A date is wall-clock time in ``tz`` (``calendar.wall_time``); a date alone means 09:00.
  A date without a year is its next occurrence after ``now``.
- A snooze must end after ``now`` and at most 180 days after it.
- An address must look like ``local@domain.tld``; it is lower-cased.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from daemon.policy.calendar import parse_duration, wall_time
from daemon.recognize.casenumbers import normalize

MAX_SNOOZE = timedelta(days=180)
SNOOZE_HOUR = time(9, 0)


@dataclass(frozen=True)
class Said:
    """One command line."""

    # canonical: done, commented, escalated, feedback, snooze, resume, closed,
    #   priority, owner, handover, link, agenda, record, mute, undo, help
    name: str
    line: str  # the line as written (without surrounding whitespace)
    case: str | None = None  # an 8-digit case number given at the end of the line, normalized
    until: datetime | None = None  # snooze: when it ends (aware, in the consortium's zone)
    priority: str | None = None  # priority: one of system_down, high, normal, low
    address: str | None = None  # owner / handover: the e-mail address, lower-cased
    other: str | None = None  # link: the other case number, normalized


@dataclass(frozen=True)
class Reading:
    """What the first lines of a reply say."""

    commands: tuple[Said, ...]
    problems: tuple[str, ...]  # lines that start with a command word but are malformed, with why
    prose: bool  # the reply has text that is not a command (after the commands)


COMMANDS = {
    "done": "done",
    "commented": "commented",
    "asked": "commented",
    "update requested": "commented",
    "escalated": "escalated",
    "feedback": "feedback",
    "snooze": "snooze",
    "resume": "resume",
    "unmute": "resume",
    "unsnooze": "resume",
    "closed": "closed",
    "priority": "priority",
    "owner": "owner",
    "handover": "handover",
    "hand over": "handover",
    "link": "link",
    "agenda": "agenda",
    "record": "record",
    "case of record": "record",
    "mute": "mute",
    "undo": "undo",
    "help": "help",
    "?": "help",
}
PRIORITIES = {
    "high": "high",
    "normal": "normal",
    "medium": "normal",
    "low": "low",
    "down": "system_down",
    "system down": "system_down",
    "system_down": "system_down",
    "system-down": "system_down",
    "critical": "system_down",
}
MONTHS = {
    name: number
    for number, names in enumerate(
        (
            ("jan", "january"),
            ("feb", "february"),
            ("mar", "march"),
            ("apr", "april"),
            ("may",),
            ("jun", "june"),
            ("jul", "july"),
            ("aug", "august"),
            ("sep", "sept", "september"),
            ("oct", "october"),
            ("nov", "november"),
            ("dec", "december"),
        ),
        start=1,
    )
    for name in names
}

_WORD = re.compile(
    r"^(?P<word>"
    + "|".join(re.escape(w) for w in sorted(COMMANDS, key=len, reverse=True))
    + r")(?:[\s,.:;!]+(?P<args>.*))?$"
)
_CASE_REF = r"(?:case\s*)?(?:#\s*)?(?P<num>\d{6,8})"
_TRAILING_CASE = re.compile(r"(?:^|\s+)(?:(?:for|on)\s+)?" + _CASE_REF + "$")
_LINK = re.compile(
    r"^(?:(?:to|with)\s+)?(?:case\s*)?(?:#\s*)?(?P<other>\d+)"
    r"(?:\s+(?:(?:for|on)\s+)?(?:case\s*)?(?:#\s*)?(?P<case>\d+))?$"
)
_ADDRESS = re.compile(r"^<?(?P<address>[a-z0-9._%+'\-]+@[a-z0-9\-]+(?:\.[a-z0-9\-]+)*\.[a-z]{2,})>?$")
_DURATION = re.compile(r"^(?P<n>\d+(?:\.\d+)?)\s*(?P<unit>[a-z]+(?: [a-z]+)?)$")
_DURATION_UNITS = {"w": "weeks", "wk": "weeks", "wks": "weeks", "hr": "hours", "hrs": "hours"}
_ISO = re.compile(r"^(?P<y>\d{4})-(?P<m>\d{1,2})-(?P<d>\d{1,2})(?:[ t](?P<hh>\d{1,2}):(?P<mm>\d{2}))?$")
_ORDINAL = r"(?:st|nd|rd|th)?"
_MONTH_DAY = re.compile(rf"^(?P<month>[a-z]+)\.?\s+(?P<d>\d{{1,2}}){_ORDINAL}(?:,?\s+(?P<y>\d{{4}}))?$")
_DAY_MONTH = re.compile(rf"^(?P<d>\d{{1,2}}){_ORDINAL}\s+(?P<month>[a-z]+)\.?(?:,?\s+(?P<y>\d{{4}}))?$")
_SIGNATURE = re.compile(r"^(?:-- |- |—|–|sent from my\b|get outlook for\b)", re.IGNORECASE)


def read_commands(text: str, now: datetime, tz: ZoneInfo, max_lines: int = 10) -> Reading:
    """The commands on the first lines of ``text`` (see the module docstring)."""
    commands: list[Said] = []
    problems: list[str] = []
    lines = text.splitlines()
    start = next((i for i, line in enumerate(lines) if line.strip()), len(lines))
    prose = False
    for raw in lines[start:]:
        line = raw.strip()
        if not line or _is_signature(raw):
            break
        if len(commands) + len(problems) >= max_lines:
            prose = True
            break
        said = _read_line(line, now, tz)
        if said is None:
            prose = True
            break
        if isinstance(said, Said):
            commands.append(said)
        else:
            problems.append(said)
    return Reading(tuple(commands), tuple(problems), prose)


def _is_signature(raw: str) -> bool:
    return raw.strip() == "--" or bool(_SIGNATURE.match(raw.lstrip()))


def _read_line(line: str, now: datetime, tz: ZoneInfo) -> Said | str | None:
    """One line: a command, a problem (why it is malformed), or None when it is no command."""
    text = " ".join(line.lower().split()).rstrip(".!, ")
    m = _WORD.match(text)
    if not m:
        return None
    word, args = m.group("word"), m.group("args") or ""
    name = COMMANDS[word]
    if name == "link":
        return _link(line, word, args)
    case = None
    trailing = _TRAILING_CASE.search(args)
    if trailing:
        case = normalize(trailing.group("num"))
        if case is None:
            return f"{word}: not a case number: {trailing.group('num')!r}"
        args = args[: trailing.start()]
    if name == "snooze":
        until = _snooze_until(word, args, now, tz)
        return until if isinstance(until, str) else Said(name, line, case, until=until)
    if name == "priority":
        if not args:
            return f"{word}: needs high, normal, low or system down"
        priority = PRIORITIES.get(args)
        if priority is None:
            return f"{word}: not a priority: {args!r} (high, normal, low or system down)"
        return Said(name, line, case, priority=priority)
    if name in ("owner", "handover"):
        if name == "handover" and args.startswith("to "):
            args = args[3:]
        if not args:
            return f"{word}: needs an e-mail address"
        address = _ADDRESS.match(args)
        if address is None:
            return f"{word}: not an e-mail address: {args!r}"
        return Said(name, line, case, address=address.group("address"))
    if args:
        return f"{word}: unexpected {args!r} (only a case number may follow)"
    return Said(name, line, case)


def _link(line: str, word: str, args: str) -> Said | str:
    if not args:
        return f"{word}: needs the other case number"
    m = _LINK.match(args)
    if m is None:
        return f"{word}: not a case number: {args!r}"
    other = normalize(m.group("other"))
    if other is None:
        return f"{word}: not a case number: {m.group('other')!r}"
    case = None
    if m.group("case"):
        case = normalize(m.group("case"))
        if case is None:
            return f"{word}: not a case number: {m.group('case')!r}"
        if case == other:
            return f"{word}: a case cannot be linked to itself: {other!r}"
    return Said("link", line, case, other=other)


def _snooze_until(word: str, args: str, now: datetime, tz: ZoneInfo) -> datetime | str:
    """When a snooze ends, or why it cannot be read or allowed."""
    if not args or args in ("for", "until"):
        return f"{word}: needs a duration (3d, 4h, 1w) or until a date (2026-12-15)"
    words = args.split(" ", 1)
    rest = words[1] if len(words) > 1 and words[0] in ("for", "until") else args
    until: datetime | str | None = None
    if words[0] != "until":
        until = _after(word, rest, now, tz)
    if until is None and words[0] != "for":
        until = _date(rest, now, tz)
    if until is None:
        return f"{word}: not a duration or date: {rest!r}"
    if isinstance(until, str):
        return until
    ahead = until.astimezone(UTC) - now.astimezone(UTC)  # real time, whatever the zones
    if ahead <= timedelta(0):
        return f"{word}: {_shown(until)} is not in the future"
    if ahead > MAX_SNOOZE:
        return f"{word}: {_shown(until)} is more than {MAX_SNOOZE.days} days ahead"
    return until


def _after(word: str, text: str, now: datetime, tz: ZoneInfo) -> datetime | str | None:
    """``now`` plus a duration of real elapsed time; None when ``text`` is no duration."""
    m = _DURATION.match(text)
    if m is None:
        return None
    unit = _DURATION_UNITS.get(m.group("unit"), m.group("unit"))
    try:
        duration = parse_duration(f"{m.group('n')} {unit}")
    except ValueError:
        return None
    if duration.business:
        return f"{word}: business time is not supported, write calendar time (3d, 4h, 1w): {text!r}"
    delta = timedelta(**{duration.unit: duration.amount})
    return (now.astimezone(UTC) + delta).astimezone(tz)


def _date(text: str, now: datetime, tz: ZoneInfo) -> datetime | None:
    """A date (and time) on the wall clock of ``tz``; None when ``text`` is no date."""
    clock = SNOOZE_HOUR
    year: int | None
    if m := _ISO.match(text):
        year, month, day = int(m.group("y")), int(m.group("m")), int(m.group("d"))
        if m.group("hh"):
            hour, minute = int(m.group("hh")), int(m.group("mm"))
            if hour > 23 or minute > 59:
                return None
            clock = time(hour, minute)
    elif (m := _MONTH_DAY.match(text) or _DAY_MONTH.match(text)) and m.group("month") in MONTHS:
        month, day = MONTHS[m.group("month")], int(m.group("d"))
        year = int(m.group("y")) if m.group("y") else None
    else:
        return None
    if year is not None:
        return _wall(year, month, day, clock, tz)
    # No year: the next occurrence after now (a 29 February may be years away).
    for candidate in range(now.astimezone(tz).year, now.astimezone(tz).year + 9):
        at = _wall(candidate, month, day, clock, tz)
        if at is not None and at.astimezone(UTC) > now.astimezone(UTC):
            return at
    return None


def _wall(year: int, month: int, day: int, clock: time, tz: ZoneInfo) -> datetime | None:
    try:
        return wall_time(date(year, month, day), clock, tz)
    except ValueError:
        return None


def _shown(at: datetime) -> str:
    return at.strftime("%Y-%m-%d %H:%M %Z")
