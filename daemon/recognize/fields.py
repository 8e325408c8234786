"""Case fields from a vendor notification: labelled values, title, owner, institution.

Labels come in synonyms (``Priority`` / ``Case Priority``; config ``[labels]``),
as ``Label: value`` lines in plain text, or as table rows in HTML-only mail (the
parser has already made those ``Label: value`` lines).
"""

from __future__ import annotations

import re
from functools import lru_cache

from daemon.config import Config, Labels, PriorityNames
from daemon.model import CaseFields
from daemon.recognize.casenumbers import REF_TOKEN, THREAD_TOKEN
from daemon.recognize.parse import Mail

_EMAIL = re.compile(r"[\w.+'\-]+@[\w\-]+(?:\.[\w\-]+)+")
_ALLIANCE_CODE = re.compile(r"\b01ALLIANCE_([A-Z0-9]+)\b", re.IGNORECASE)
_PREFIX = re.compile(
    r"^\s*(?:(?:re|aw|fw|fwd|wg|sv|vs|tr|rv|antw)\s*(?:\[\d+\])?\s*:\s*|\[[^\]]{1,40}\]\s*)+",
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
    r"(?:please )?do not reply)",
    re.IGNORECASE,
)


@lru_cache(maxsize=64)
def _label_pattern(synonyms: tuple[str, ...]) -> re.Pattern[str]:
    names = sorted(synonyms, key=len, reverse=True)
    alternatives = "|".join(re.escape(n).replace(r"\ ", r"\s+") for n in names)
    return re.compile(
        rf"^[ \t>*•\-]*(?:{alternatives})[ \t]*(?::|\t| - |\|)[ \t]*(.*?)[ \t*]*$",
        re.IGNORECASE | re.MULTILINE,
    )


def labelled(text: str, synonyms: tuple[str, ...]) -> str | None:
    """The value after the first line that starts with one of the labels."""
    for match in _label_pattern(synonyms).finditer(text):
        value = match.group(1).strip()
        if value:
            return value
    return None


def description(text: str, synonyms: tuple[str, ...]) -> str | None:
    """The description block: the labelled line and what follows, up to the footer."""
    match = _label_pattern(synonyms).search(text)
    if not match:
        return None
    lines = [match.group(1).strip()] if match.group(1).strip() else []
    for line in text[match.end() :].splitlines()[1:]:
        if _DESCRIPTION_END.match(line):
            break
        lines.append(line.rstrip())
    body = "\n".join(lines).strip()
    return body or None


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


def owner_from(value: str | None, mail: Mail, config: Config) -> str | None:
    """The contact's address from the label, else the notification's first outside recipient."""
    if value:
        found = _EMAIL.search(value)
        if found:
            return found.group(0).lower()
    ours = config.outbound.from_address.lower()
    for addr in mail.to:
        if addr.email and addr.email != ours and addr.domain not in config.vendor.sender_domains:
            return addr.email
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


def vendor_fields(mail: Mail, config: Config) -> CaseFields:
    """Everything a vendor notification says about its case."""
    labels: Labels = config.labels
    text = mail.text
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
    )
