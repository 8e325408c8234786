"""What the timeline already knows, for the drafts (pure): an impact statement, people's names,
the case of record, the cluster of linked cases, when the cluster was flagged widespread.

A draft fills these in and keeps its bracketed placeholder only where nothing is known.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

from daemon.config import Config
from daemon.model import Case, Event

#: An impact label: "Impact:", "Business impact:", "Impact on us:", "Impact statement -".
_IMPACT_LABEL = re.compile(
    r"(?:^|(?<=[\s.;:,(]))(?:business\s+|user\s+|patron\s+)?impact"
    r"(?:\s+statement)?(?:\s+on\s+(?:us|our\s+\w+|the\s+\w+|\w+))?\s*(?::|\s[-–]\s)\s*",
    re.IGNORECASE,
)
#: Where a sentence ends: ., ! or ? before white space and a capital or digit, or a line break.
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[\"'(\[]?[A-Z0-9])|\n+")
#: Another label starting a sentence ("Steps:", "We tried:"): the impact sentence ends there.
_NEXT_LABEL = re.compile(r"\s(?=[A-Z][\w ]{0,30}:\s)")
IMPACT_LIMIT = 300


def _sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCE_END.split(text) if s and s.strip()]


def _finish(sentence: str) -> str:
    """A sentence as a draft quotes it: one line, at most ``IMPACT_LIMIT`` characters, with a stop."""
    line = " ".join(sentence.split()).strip(" ;,:-–")
    if len(line) > IMPACT_LIMIT:
        line = line[:IMPACT_LIMIT].rsplit(" ", 1)[0].rstrip(" ;,:-–") + " ..."
    return line if line.endswith((".", "!", "...")) else line + "."


@lru_cache(maxsize=16)
def _compiled(patterns: tuple[str, ...]) -> tuple[re.Pattern[str], ...]:
    out = []
    for p in patterns:
        try:
            out.append(re.compile(p, re.IGNORECASE | re.MULTILINE))
        except re.error:
            continue  # check-config reports it; here it finds nothing
    return tuple(out)


def impact_of(description: str, patterns: Sequence[str] = ()) -> str:
    """The impact statement of a case description, or ``""`` when it states none.

    First the text after an impact label ("Impact: about 300 patrons a week are not told.") up
    to the end of its sentence; else the first sentence (not a question) that any of
    ``patterns`` (``[actions.description_gaps] impact``) finds. A placeholder someone pasted
    ("Impact: [who is affected]") is no statement.
    """
    text = description.strip()
    if not text:
        return ""
    for label in _IMPACT_LABEL.finditer(text):
        rest = text[label.end() :]
        first = _sentences(rest)[:1]
        if not first:
            continue
        sentence = _NEXT_LABEL.split(first[0], maxsplit=1)[0]
        if sentence.strip() and not sentence.lstrip().startswith("[") and re.search(r"\w", sentence):
            return _finish(sentence)
    found = _compiled(tuple(patterns))
    for sentence in _sentences(text):
        if sentence.endswith("?") or "[" in sentence:
            continue
        if any(p.search(sentence) for p in found):
            return _finish(sentence)
    return ""


def names_in(events: Iterable[Event], config: Config) -> dict[str, str]:
    """People's names by address (lower case): the vendor's Contact field ("Jane Doe
    (jdoe@wwu.edu)", stored as ``owner_name`` beside ``owner``) and the program managers'."""
    names: dict[str, str] = {}
    for e in events:
        address, name = e.data.get("owner"), e.data.get("owner_name")
        if isinstance(address, str) and isinstance(name, str) and name.strip():
            names[address.lower()] = name.strip()
    for pm in config.program_managers:
        if pm.name:
            names.setdefault(pm.email.lower(), pm.name)
    return names


def name_of(address: str, names: Mapping[str, str]) -> str:
    return names.get(address.lower(), "") if address else ""


@dataclass(frozen=True)
class Cluster:
    """The cases linked to one case (directly or through others), the case itself first."""

    cases: tuple[Case, ...]
    record: str  # the case of record among them, else ""

    @property
    def institutions(self) -> tuple[str, ...]:
        return tuple(sorted({c.institution for c in self.cases if c.institution}))


def cluster_of(case: Case, lookup: Callable[[str], Case | None]) -> Cluster:
    """``case`` and every case linked to it, nearest first (a case ``lookup`` does not know is
    a bare number); the case of record is the nearest one that is."""
    seen = {case.number: case}
    queue = [case]
    while queue:
        current = queue.pop(0)
        for n in current.related:
            if n in seen:
                continue
            other = lookup(n) or Case(n)
            seen[n] = other
            queue.append(other)
    cases = tuple(seen.values())
    record = next((c.number for c in cases if c.case_of_record), "")
    return Cluster(cases, record)


def widespread_flagged(event_lists: Iterable[Sequence[Event]]) -> datetime | None:
    """When a ``widespread`` alert about these cases was last sent, else None."""
    times = [
        e.at
        for events in event_lists
        for e in events
        if e.kind == "reminder_sent" and e.data.get("action") == "widespread"
    ]
    return max(times) if times else None
