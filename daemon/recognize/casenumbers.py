"""Case numbers and thread keys found in text.

A vendor case number has 8 digits, zero-padded; older citations with 6 or 7
digits ("SF case #170445") are padded to 8. Outside the vendor's own mail a
number counts only in context: after "case", "cases", "ticket", "tickets",
"SF", "Salesforce", "#" or "case of record", including a list after such a word
("cases 10712350, 10712360 and 10712370"; "support ticket (08197740)"). A
ticket of another system ("Jira ticket", "IT ticket", "OCLC ticket") is not a
vendor case. A longer digit run (an 18-digit MMS ID), a number glued
to letters or hyphens (URM-123456, 206-281-2000) or a number that reads as a
date (20261105) is never a case number.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date

_NUM = r"(?<![\w\-/.])\d{6,8}(?![\w\-]|[./]\d)"
_SEP = r"(?:(?:\s*[,;/&+]\s*)+(?:and\s+|or\s+)?|\s+(?:and|or)\s+)"
_FILL = r"(?:\s|[:#.(]|\b(?:case|cases|no|nos|number|numbers|nr|is|was|id|now|will\s+be)\b)*"
_CONTEXT = re.compile(
    r"(?:\b(?P<word>sf|salesforce|cases?|tickets?|case\s+of\s+record)\b|#)"
    + _FILL
    + r"(?P<numbers>"
    + _NUM
    + r"(?:"
    + _SEP
    + r"#?\s*"
    + _NUM
    + r")*)",
    re.IGNORECASE,
)
_BARE = re.compile(_NUM)
# "#" alone is context, except after a word that numbers something else.
_NOT_CASE_HASH = re.compile(
    r"\b(?:order|invoice|po|pol|purchase|item|record|mms|isbn|issn|barcode|line|room|phone|"
    r"fax|ext|jira|bug|account|patron|user|job|set|vendor|release)\b"
    r"(?:\s+(?:number|no\.?|nr\.?|id|is|was)|\s*:)*\s*$",
    re.IGNORECASE,
)
# "ticket" is context, except for the ticket of another system than the vendor's.
_OTHER_TICKET = re.compile(
    r"\b(?:jira|it|help\s*desk|service\s*desk|servicenow|libanswers|springshare|footprints|rt|tdx|"
    r"teamdynamix|zendesk|freshdesk|oclc|ebsco|gobi|internal|local|campus|library|order|invoice)\s+$",
    re.IGNORECASE,
)
_DIGITS = re.compile(r"\d+")

THREAD_TOKEN = re.compile(r"thread::[A-Za-z0-9_\-]{6,}::")
REF_TOKEN = re.compile(r"ref:[_!]00D[\w.]{2,}?[_!.]{1,2}500[\w.]{2,}?:ref")


def _is_date(digits: str) -> bool:
    if len(digits) != 8 or not digits.startswith(("19", "20")):
        return False
    try:
        date(int(digits[:4]), int(digits[4:6]), int(digits[6:]))
    except ValueError:
        return False
    return True


def normalize(digits: str) -> str | None:
    """The 8-digit form of a cited case number, or None when it cannot be one."""
    if not 6 <= len(digits) <= 8 or _is_date(digits) or not digits.strip("0"):
        return None
    return digits.zfill(8)


# Every match of _CONTEXT starts with one of these (in ASCII text, where IGNORECASE is lower()).
_CONTEXT_STARTS = ("sf", "salesforce", "case", "ticket", "#")


def _context_matches(text: str) -> Iterator[re.Match[str]]:
    """``_CONTEXT.finditer(text)``, trying only where a match can start in ASCII text.

    Outside ASCII, IGNORECASE folds more than ``str.lower`` ("ſ" matches "s"): the plain scan.
    """
    if not text.isascii():
        yield from _CONTEXT.finditer(text)
        return
    lower = text.lower()
    starts: set[int] = set()
    for word in _CONTEXT_STARTS:
        at = lower.find(word)
        while at >= 0:
            starts.add(at)
            at = lower.find(word, at + 1)
    end = 0
    for at in sorted(starts):
        if at < end:
            continue
        match = _CONTEXT.match(text, at)
        if match:
            end = match.end()
            yield match


def in_context(text: str) -> list[str]:
    """Case numbers cited in context, in order of appearance, without repeats."""
    found: dict[str, None] = {}  # ordered, and a post citing thousands stays linear
    for match in _context_matches(text):
        before = text[max(0, match.start() - 40) : match.start()]
        if match.group(0).startswith("#") and _NOT_CASE_HASH.search(before):
            continue
        if (match.group("word") or "").lower().startswith("ticket") and _OTHER_TICKET.search(before):
            continue
        for digits in _DIGITS.findall(match.group("numbers")):
            number = normalize(digits)
            if number:
                found.setdefault(number)
    return list(found)


def first_number(text: str) -> str | None:
    """The first plausible case number anywhere in ``text`` (for the vendor's own subjects)."""
    for match in _BARE.finditer(text):
        number = normalize(match.group(0))
        if number:
            return number
    return None


def thread_keys(*texts: str) -> list[str]:
    """Salesforce thread tokens (``thread::…::``, legacy ``ref:…:ref``) in the texts."""
    keys: list[str] = []
    for text in texts:
        for pattern in (THREAD_TOKEN, REF_TOKEN):
            for token in pattern.findall(text):
                if token not in keys:
                    keys.append(token)
    return keys
