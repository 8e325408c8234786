"""Case fields from a vendor notification: labelled values, title, owner, institution.

Labels come in synonyms (``Priority`` / ``Case Priority``; config ``[labels]``),
as ``Label: value`` lines in plain text, or as table rows in HTML-only mail (the
parser has already made those ``Label: value`` lines).
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

from daemon.config import Config, Labels, PriorityNames
from daemon.model import CaseFields
from daemon.recognize.casenumbers import REF_TOKEN, THREAD_TOKEN
from daemon.recognize.classify import is_vendor_address, matches
from daemon.recognize.parse import Mail

_EMAIL = re.compile(r"[\w.+'\-]+@[\w\-]+(?:\.[\w\-]+)+")
_ALLIANCE_CODE = re.compile(r"\b01ALLIANCE_([A-Z0-9]+)\b", re.IGNORECASE)
# Reply/forward prefixes, list tags and the marks a receiving site puts on outside mail
# ("[EXTERNAL] - [wactclc-alma] user roles", "EXTERNAL: RE: ...", "*EXT* ..."), in any order.
_PREFIX = re.compile(
    r"^\s*(?:(?:re|aw|fw|fwd|wg|sv|vs|tr|rv|antw)\s*(?:\[\d+\])?\s*:\s*"
    r"|(?:\[[^\]]{1,40}\]|\{\s*ext(?:ernal)?[^}]{0,30}\}|\(\s*ext(?:ernal)?[^)]{0,30}\)"
    r"|\*+\s*ext(?:ernal)?(?:\s+(?:e-?mail|sender|message))?\s*\*+"
    r"|ext(?:ernal)?(?:\s+(?:e-?mail|sender|message))?(?=\s*[:|]|\s+[-–]\s))"
    r"\s*(?:[:|\-–]+\s*)?)+",
    re.IGNORECASE,
)
_TOKEN_IN_BRACKETS = re.compile(r"\[\s*(?:thread::[^\]]*|ref:[^\]]*)\]")
_QUOTED_TITLE = re.compile(r"\bcase\s*#?\s*\d{6,8}\s*[\"“]([^\"”\n]{3,200})[\"”]", re.IGNORECASE)
_SUBJECT_CASE = re.compile(r"\bcase\s*(?:#|no\.?|number)?\s*:?\s*\d{6,8}\b", re.IGNORECASE)
_SUBJECT_TAIL = re.compile(
    r"\s*(?:[-–:]\s*)?(?:has been|was)\s+(?:updated|created|closed|resolved|opened|received)"
    r".*$|\s*[-–]\s*(?:closed|resolved|updated)\s*$",
    re.IGNORECASE,
)
_STATUS_IN_SUBJECT = re.compile(r"\bstatus\s+(?:changed|updated)\s+(?:to|:)\s*(.+)$", re.IGNORECASE)
_DESCRIPTION_END = re.compile(
    r"^\s*(?:you can (?:view|update)|to view|view (?:and update )?(?:your|the) case|"
    r"thread::|ref:[_!]|--\s*$|_{5,}|kind regards|best regards|regards,|thank you,?$|"
    r"(?:please )?do not reply|direct link\s*:|(?:ex libris|clarivate|proquest)(?: customer)? support\s*$)",
    re.IGNORECASE,
)
# Any "Label: value" line (a label of up to five words): not prose of its own.
_ANY_LABEL = re.compile(r"^[ \t>*•\-]*[A-Za-z][\w/()' -]{0,40}?[ \t*]*:(?:[ \t]+\S.*)?$")


@lru_cache(maxsize=64)
def _label_pattern(synonyms: tuple[str, ...]) -> re.Pattern[str]:
    names = sorted(synonyms, key=len, reverse=True)
    alternatives = "|".join(re.escape(n).replace(r"\ ", r"\s+") for n in names)
    return re.compile(
        rf"^[ \t>*•\-]*(?:{alternatives})[ \t]*(?::|\t| - |\|)[ \t]*(.*?)[ \t*]*$",
        re.IGNORECASE | re.MULTILINE,
    )


def _heading_pattern(synonyms: tuple[str, ...]) -> re.Pattern[str]:
    """A label alone on its line, without a colon ("Problem description" as a heading)."""
    names = sorted(synonyms, key=len, reverse=True)
    alternatives = "|".join(re.escape(n).replace(r"\ ", r"\s+") for n in names)
    return re.compile(rf"^[ \t>*•#\-]*(?:{alternatives})[ \t*]*$", re.IGNORECASE | re.MULTILINE)


def labelled(text: str, synonyms: tuple[str, ...]) -> str | None:
    """The value after the first line that starts with one of the labels."""
    for match in _label_pattern(synonyms).finditer(text):
        value = match.group(1).strip()
        if value:
            return value
    return None


def description(text: str, synonyms: tuple[str, ...]) -> str | None:
    """The description block: the labelled line (or a heading line naming it, without a colon)
    and what follows, up to the footer."""
    labelled_match = _label_pattern(synonyms).search(text)
    heading = _heading_pattern(synonyms).search(text)
    match = labelled_match
    if heading and (match is None or heading.start() < match.start()):
        match = heading
    if not match:
        return None
    first = match.group(1).strip() if match.re.groups else ""
    lines = [first] if first else []
    for line in text[match.end() :].splitlines()[1:]:
        if _DESCRIPTION_END.match(line):
            break
        lines.append(line.rstrip())
    body = "\n".join(lines).strip()
    return body or None


@dataclass(frozen=True)
class Parts:
    """A notification cut in three: what precedes its comment, the comment, and the rest (the
    notification's own Status / Priority / Description block and its footer).

    ``has_comment`` says whether a comment start was found at all; without one, ``head`` is the
    whole text. Case fields are read from ``head`` and ``tail`` only, never from the comment: an
    analyst's comment may paste a report with label-like lines ("Status: Closed").
    """

    head: str
    comment: str = ""
    tail: str = ""
    has_comment: bool = False

    @property
    def own(self) -> str:
        """The notification's own words: everything but the comment."""
        return f"{self.head}\n{self.tail}" if self.tail else self.head


def _is_label(line: str, synonyms: tuple[str, ...]) -> bool:
    return bool(_label_pattern(synonyms).match(line))


# Constructs under which a pattern matching inside one line might not match at the same place in
# the text the line comes from (they see past the line's ends).
_LINE_UNSAFE = ("(?<", "(?!", "\\A", "\\Z")
# A numbered back-reference means something else once the pattern is joined with others.
_BACKREFERENCE = re.compile(r"\\\d")


@lru_cache(maxsize=256)
def _single(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.IGNORECASE | re.MULTILINE)


def _lines_matching(
    lines: list[str], pattern: re.Pattern[str], line_matches: Callable[[str], bool]
) -> list[int]:
    """The indexes of the lines for which ``line_matches`` holds, in order.

    ``pattern`` (MULTILINE, without look-behind, negative look-ahead or \\A / \\Z) must match the
    joined text wherever ``line_matches`` holds for a line, starting in that line or earlier. One
    search over the text then skips the lines that cannot match instead of trying each one; every
    candidate is still confirmed with ``line_matches``.
    """
    text = "\n".join(lines)
    starts = [0]
    for line in lines[:-1]:
        starts.append(starts[-1] + len(line) + 1)
    found = []
    k = 0
    while k < len(lines):
        match = pattern.search(text, starts[k])
        if match is None:
            break
        k = bisect_right(starts, match.start()) - 1
        if line_matches(lines[k]):
            found.append(k)
        k += 1
    return found


def _block_start(lines: list[str], labels: Labels, footer: tuple[str, ...]) -> int | None:
    """Where the notification's own metadata starts in the lines after the comment start.

    That is the last run of Status / Priority lines (blank lines between them allowed) that is
    followed, after blank lines, by a Description label or heading, the footer, or the end;
    else the last Description label or heading; else None.
    """
    meta = labels.status + labels.priority
    heading = _heading_pattern(labels.description)

    def ends_block(i: int) -> bool:
        while i < len(lines) and not lines[i].strip():
            i += 1
        if i == len(lines):
            return True
        line = lines[i]
        return _is_label(line, labels.description) or bool(heading.match(line)) or matches(footer, line)

    meta_pattern = _label_pattern(meta)
    is_meta = set(_lines_matching(lines, meta_pattern, lambda line: bool(meta_pattern.match(line))))
    found = None
    i = 0
    while i < len(lines):
        if i not in is_meta:
            i += 1
            continue
        start = end = i
        j = i + 1
        while j < len(lines) and (not lines[j].strip() or j in is_meta):
            if lines[j].strip():
                end = j
            j += 1
        if ends_block(end + 1):
            # A label repeated in the run: the block starts after its earlier occurrence (a
            # pasted "Status: Closed" just above the notification's own Status line).
            seen: set[bool] = set()
            found = end
            for k in range(end, start - 1, -1):
                if not lines[k].strip():
                    continue
                kind = _is_label(lines[k], labels.status)
                if kind in seen:
                    break
                seen.add(kind)
                found = k
        i = end + 1
    if found is not None:
        return found
    for k in range(len(lines) - 1, -1, -1):
        if _is_label(lines[k], labels.description) or heading.match(lines[k]):
            return k
    return None


def _first_footer(lines: list[str], footer: tuple[str, ...]) -> int:
    """The index of the first footer line after the first line, else ``len(lines)``."""
    if any(mark in pattern for pattern in footer for mark in _LINE_UNSAFE) or any(
        _BACKREFERENCE.search(pattern) for pattern in footer
    ):
        footers = (k for k, line in enumerate(lines) if k and matches(footer, line))
        return next(footers, len(lines))
    # Each pattern alone scans faster than their alternation: the earliest next match of any of
    # them is the next line that may be a footer line, confirmed as ``matches`` would.
    text = "\n".join(lines)
    patterns = [_single(pattern) for pattern in footer]
    pos = len(lines[0]) + 1
    next_at = [-1] * len(patterns)
    while pos <= len(text):
        for i, pattern in enumerate(patterns):
            if 0 <= next_at[i] < pos or next_at[i] == -1:
                match = pattern.search(text, pos)
                next_at[i] = len(text) + 1 if match is None else match.start()
        first = min(next_at, default=len(text) + 1)
        if first > len(text):
            break
        line_start = text.rfind("\n", 0, first) + 1
        line_end = text.find("\n", first)
        if line_end < 0:
            line_end = len(text)
        if matches(footer, text[line_start:line_end]):
            return text.count("\n", 0, first)
        pos = line_end + 1
    return len(lines)


def split_notification(text: str, config: Config) -> Parts:
    """Cut a notification into head, comment and tail (see ``Parts``)."""
    r = config.recognize
    start = None
    for pattern in r.comment_starts:
        m = re.search(pattern, text, re.IGNORECASE | re.MULTILINE)
        if m and (start is None or m.start() < start.start()):
            start = m
    if start is None:
        return Parts(head=text)
    head, rest = text[: start.start()], text[start.end() :]
    lines = rest.split("\n")
    footer_at = _first_footer(lines, r.notification_footer)
    # "Thank you," just above the footer's "Clarivate Support" belongs to the footer.
    while footer_at > 1 and re.match(r"^\s*(?:thank you|thanks)\W*$", lines[footer_at - 1], re.IGNORECASE):
        footer_at -= 1
    block = _block_start(lines[:footer_at], config.labels, r.notification_footer)
    cut = footer_at if block is None else block
    comment = "\n".join(lines[:cut]).strip()
    tail = "\n".join(lines[cut:])
    return Parts(head=head, comment=comment, tail=tail, has_comment=True)


def prose(text: str, config: Config) -> str:
    """The lines of ``text`` that say something of their own: no labels, greetings, sign-offs,
    footers or thread tokens (used to tell a status-only mail from a comment)."""
    r = config.recognize
    kept = []
    for raw_line in text.splitlines():
        line = raw_line.strip(" \t>*•-")
        if not line or _ANY_LABEL.match(raw_line) or matches(r.boilerplate, line):
            continue
        if matches(r.notification_footer, line) or THREAD_TOKEN.search(line) or REF_TOKEN.search(line):
            continue
        if len(line.split()) <= 2 and not line.endswith((".", "?", "!")):
            continue  # a heading, a signature name
        kept.append(line)
    return "\n".join(kept)


def normalize_priority(value: str | None, names: PriorityNames) -> str | None:
    if not value:
        return None
    text = value.strip().lower()
    for level in ("system_down", "low", "normal", "high"):
        for word in getattr(names, level):
            if text == word or re.search(rf"(?<![\w/]){re.escape(word)}(?![\w/])", text):
                return level
    return None


def clean_subject(subject: str) -> str:
    """The subject without reply/forward prefixes, list tags and thread tokens."""
    subject = _TOKEN_IN_BRACKETS.sub(" ", subject)
    subject = THREAD_TOKEN.sub(" ", REF_TOKEN.sub(" ", subject))
    subject = _PREFIX.sub("", subject)
    return re.sub(r"\s+", " ", subject).strip()


def title_from_subject(subject: str) -> str | None:
    """ "Case N has been created: T", "Case # N: T has been updated", "Case N - T - Closed"."""
    subject = clean_subject(subject)
    match = _SUBJECT_CASE.search(subject)
    if not match or _STATUS_IN_SUBJECT.search(subject):
        return None
    rest = subject[match.end() :]
    if ":" in rest:
        rest = rest.split(":", 1)[1]
    elif re.match(r"\s*[-–]\s", rest):
        rest = re.sub(r"^\s*[-–]\s*", "", rest)
    else:
        return None
    title = _SUBJECT_TAIL.sub("", rest).strip(" -–:")
    return title or None


def status_from_subject(subject: str) -> str | None:
    match = _STATUS_IN_SUBJECT.search(clean_subject(subject))
    return match.group(1).strip(" .") if match else None


def is_consortium_address(address: str, config: Config) -> bool:
    """One of the consortium's own addresses (``Config.is_ours``), plus-addressed or not: the
    mailbox's login ``alma-support+cases@...`` too."""
    local, _, domain = address.lower().partition("@")
    return config.is_ours(address) or config.is_ours(f"{local.partition('+')[0]}@{domain}")


def owner_from(value: str | None, mail: Mail, config: Config) -> str | None:
    """The contact's address from the label, else the notification's first outside recipient.

    The consortium's own addresses are never the owner; a name without an address (the
    label's "Mark McFate", a greeting's "Hello Mark,") is no owner either.
    """
    if value:
        found = _EMAIL.search(value)
        if found and not is_consortium_address(found.group(0), config):
            return found.group(0).lower()
    for addr in mail.to:
        if (
            addr.email
            and "@" in addr.email
            and not is_consortium_address(addr.email, config)
            and not is_vendor_address(addr, config)
        ):
            return addr.email
    return None


def owner_name_from(value: str | None, mail: Mail, owner: str | None) -> str | None:
    """The owner's name: the label's words beside the owner's address ("Jane Doe
    (jdoe@wwu.edu)", "Jane Doe, Systems Librarian <jdoe@wwu.edu>"), else the display name the
    notification's To: gives that address; None when neither names them ("Doe, Jane" is no
    name to sign with)."""
    if not owner:
        return None
    if value and owner in value.lower():
        words = _EMAIL.sub(" ", value)
        words = re.sub(r"[()<>\[\]\"]|\bmailto:", " ", words).strip(" ,;:-–")
        words = " ".join(words.split())
        words = words.split(",")[0].strip()  # "Jane Doe, Systems Librarian"
        if len(words.split()) >= 2 and re.search(r"[^\W\d_]", words) and len(words) <= 80:
            return words
    for addr in mail.to:
        name = " ".join(addr.name.split()).strip("'\" ")
        if addr.email == owner and name and not set(name) & {"@", ","} and len(name) <= 80:
            return name
    return None


def institution_from(account: str | None, text: str, owner: str | None, config: Config) -> str | None:
    """The institution code: ``01ALLIANCE_XXX``, a configured code or name, or the owner's domain."""
    for source in (account or "", text):
        match = _ALLIANCE_CODE.search(source)
        if match:
            return match.group(1).upper()
    if account:
        lowered = account.strip().lower()
        for inst in config.institutions:
            if lowered in (inst.code.lower(), inst.name.lower()):
                return inst.code
    if owner and "@" in owner:
        by_domain = config.institution_for_domain(owner.rpartition("@")[2])
        if by_domain:
            return by_domain.code
    return None


def vendor_fields(mail: Mail, config: Config, parts: Parts | None = None) -> CaseFields:
    """Everything a vendor notification says about its case (never what its comment says)."""
    labels: Labels = config.labels
    text = (parts or split_notification(mail.text, config)).own
    quoted = _QUOTED_TITLE.search(text)
    title = (
        (quoted.group(1).strip() if quoted else None)
        or labelled(text, labels.title)
        or title_from_subject(mail.subject)
    )
    status = labelled(text, labels.status) or status_from_subject(mail.subject)
    stated = labelled(text, labels.owner)
    owner = owner_from(stated, mail, config)
    account = labelled(text, labels.account)
    return CaseFields(
        title=title,
        priority=normalize_priority(labelled(text, labels.priority), config.priorities),
        status=status,
        owner=owner,
        institution=institution_from(account, text, owner, config),
        asset=labelled(text, labels.asset),
        category=labelled(text, labels.category),
        subcategory=labelled(text, labels.subcategory),
        description=description(text, labels.description),
        owner_guessed=owner is not None and not (stated and _EMAIL.search(stated)),
        owner_name=owner_name_from(stated, mail, owner),
    )
