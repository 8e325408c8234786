"""The grammar of reply commands: the first lines of a reply, one command a line (pure).

``read_commands(text, now, tz)`` reads the new part of a reply (``quotes.new_text``) and
returns a ``Reading``: the commands, the lines that start with a command word but are
malformed (``problems``, each with why), and whether the reply also says something else
(``prose``). It reads no clock: ``now`` is given (the reply's time), and ``tz`` is the
consortium's zone.

Lines::

    reply    := empty* [greeting empty*] command (newline command)* [end]
    end      := an empty line | a signature | a line that is not a command | max_lines read

- Leading empty lines are skipped, and so is one greeting line before the commands ("Hi,",
  "Hello Maria,", "Hi all -", "Good morning,", "Dear team,": a greeting word and at most four
  more words, none of them a command word). Each following non-empty line is one command: a
  command word, then its arguments after a space (or a ``:``, ``,``, ``.``: "Priority: high").
  Case, surrounding whitespace, runs of spaces and trailing ``.``, ``!``, ``,``, ``;``, ``:``
  and dashes do not matter ("Done!" is ``done``).
- A complete command may be followed by a remark, which is not read: after ``,``, ``;``,
  ``!``, ``.`` or a dash, any words ("Done, thanks!", "done - asked them this morning",
  "snoozed until 12/15, thanks"); after a plain space, only thanks or please ("owner
  x@y.edu thanks", "priority high please"). The command's own arguments are still read
  strictly: a remark starts only where they are complete. A remark is refused (the line is a
  problem) when it starts with a digit or with a word that doubts the command ("but",
  "not", "except", "only", "almost", "if", ...), or when it ends with a question mark:
  "Done with the migration, but the problem is still there" is no command.
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
                                 Dec 15, 15 Dec, December 15, 2026, 15 December 2026,
                                 12/15, 12/15/2026, 12/15/26, 12/15 14:30 (US: month/day)
        (snooze = snoozed)
    resume = resumed = unmute = unmuted = unsnooze
    closed
    priority LEVEL               high | normal = medium | low
                                 | system down = system_down = system-down = down = critical
    owner ADDRESS
    handover [to] ADDRESS = hand over [to] ADDRESS
    link [to|with] [case] [#]NUMBER   (link = linked)
    agenda
    record = case of record
    mute = muted
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
  A date without a year ("Dec 15", "12/15") is its next occurrence after ``now``.
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
    "snoozed": "snooze",
    "resume": "resume",
    "resumed": "resume",
    "unmute": "resume",
    "unmuted": "resume",
    "unsnooze": "resume",
    "closed": "closed",
    "priority": "priority",
    "owner": "owner",
    "handover": "handover",
    "hand over": "handover",
    "link": "link",
    "linked": "link",
    "agenda": "agenda",
    "record": "record",
    "case of record": "record",
    "mute": "mute",
    "muted": "mute",
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
    + r")(?P<tail>(?:[\s,.:;!–—].*)?)$"
)
_ARGS_FROM = " ,.:;!–—"  # what may stand between a command word and its arguments
_LINE_END = ".!,;:-–— "  # what a line may end with, not read
# Where a remark may start after a complete command: a punctuation mark (a "." or a hyphen
# only before a space, so "1.5d" and "e-mail" stay whole) ...
_REMARK_MARK = re.compile(r"\s*(?:[,;!]+|\.(?=\s)|(?<!\S)-{1,2}(?=\s)|[–—])\s*")
# ... or a plain space, before thanks or please only.
_REMARK_SPACE = re.compile(r"\s+")
_COURTESY = frozenset({"thanks", "thank", "thx", "ty", "please", "pls", "plz", "cheers", "ta"})
# A remark that starts with one of these takes the command back or hedges it: no command.
_DOUBT = frozenset(
    {
        "but",
        "not",
        "no",
        "except",
        "however",
        "although",
        "though",
        "unless",
        "yet",
        "if",
        "only",
        "almost",
        "nearly",
        "partly",
        "partially",
        "maybe",
        "perhaps",
        "never",
    }
)
_GREETING = re.compile(
    r"^(?:hi|hello|hey|hiya|howdy|dear|greetings|good (?:morning|afternoon|evening|day)"
    r"|morning|afternoon|evening)"
    r"(?P<names>(?:[ ,]+[^\W\d_][\w.'’-]*){0,4})[ ]?[,!.:;–—-]*$"
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
_US = re.compile(
    r"^(?P<m>\d{1,2})/(?P<d>\d{1,2})(?:/(?P<y>\d{4}|\d{2}))?(?:\s+(?P<hh>\d{1,2}):(?P<mm>\d{2}))?$"
)
_SIGNATURE = re.compile(r"^(?:-- |- |—|–|sent from my\b|get outlook for\b)", re.IGNORECASE)


def read_commands(text: str, now: datetime, tz: ZoneInfo, max_lines: int = 10) -> Reading:
    """The commands on the first lines of ``text`` (see the module docstring)."""
    commands: list[Said] = []
    problems: list[str] = []
    lines = text.splitlines()
    start = _next_line(lines, 0)
    greeted = start < len(lines) and _is_greeting(lines[start], now, tz)
    if greeted:
        start = _next_line(lines, start + 1)
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
    if greeted and not commands and not problems:
        prose = True  # a greeting and nothing else: something was said, nothing understood
    return Reading(tuple(commands), tuple(problems), prose)


def _next_line(lines: list[str], start: int) -> int:
    """The index of the first non-empty line from ``start`` on (``len(lines)`` if none)."""
    return next((i for i in range(start, len(lines)) if lines[i].strip()), len(lines))


def _is_signature(raw: str) -> bool:
    return raw.strip() == "--" or bool(_SIGNATURE.match(raw.lstrip()))


def _is_greeting(raw: str, now: datetime, tz: ZoneInfo) -> bool:
    """A salutation line ("Hi,", "Hello Maria,", "Hi all -"), which is never a command line."""
    m = _GREETING.match(" ".join(raw.lower().split()))
    if m is None or _read_line(raw.strip(), now, tz) is not None:
        return False
    names = re.findall(r"[^\W\d_][\w.'’-]*", m.group("names"))
    return not any(_WORD.match(name.rstrip(".")) for name in names)


def _read_line(line: str, now: datetime, tz: ZoneInfo) -> Said | str | None:
    """One line: a command, a problem (why it is malformed), or None when it is no command."""
    text = " ".join(line.lower().split()).rstrip(_LINE_END)
    m = _WORD.match(text)
    if not m:
        return None
    word, tail = m.group("word"), m.group("tail")
    said = _command(line, word, tail.lstrip(_ARGS_FROM), now, tz)
    if isinstance(said, Said):
        return said
    # Not a command as a whole: perhaps a complete command and then a remark. The longest
    # command wins; the first refusal of a plausible one says why, else the whole line's.
    why: str | None = None
    for head, remark, marked in _splits(tail):
        if not _acceptable(remark, marked):
            continue
        attempt = _command(line, word, head.strip(_ARGS_FROM), now, tz)
        if isinstance(attempt, Said):
            return attempt
        why = why or attempt
    return why or said


def _splits(tail: str) -> list[tuple[str, str, bool]]:
    """Where ``tail`` may split into a command's arguments and a remark: ``(arguments,
    remark, after a punctuation mark)``, the longest arguments first."""
    found = [(m.start(), m.end(), True) for m in _REMARK_MARK.finditer(tail)]
    found += [(m.start(), m.end(), False) for m in _REMARK_SPACE.finditer(tail)]
    found.sort(key=lambda split: (-split[0], not split[2]))
    return [(tail[:start], tail[end:], marked) for start, end, marked in found if tail[end:]]


def _acceptable(remark: str, marked: bool) -> bool:
    """A remark that may follow a complete command without changing what it says."""
    words = remark.split()
    if not words or remark[0].isdigit() or remark[0] == "#" or remark.endswith("?"):
        return False
    first = words[0].strip(".,;:!'’\"")
    if first in _DOUBT or first.endswith(("n't", "n’t")):
        return False
    return marked or first in _COURTESY


def _command(line: str, word: str, args: str, now: datetime, tz: ZoneInfo) -> Said | str:
    """The command ``word`` with exactly ``args``, or why they are wrong."""
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
    if m := _ISO.match(text) or _US.match(text):
        if m.re is _US:  # month/day[/year]; a two-digit year is this century's
            month, day, written = int(m.group("m")), int(m.group("d")), m.group("y")
            year = None if written is None else int(written) + (2000 if len(written) == 2 else 0)
        else:
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
