"""Warning banners a receiving site puts at the top of outside mail.

Mail gateways insert a notice before the sender's own words::

    CAUTION: This email came from outside the organization. Do not click links or
    open attachments unless you recognize the sender and know the content is safe.

    [EXTERNAL EMAIL] ...
    You don't often get email from x@example.org. Learn why this is important

``strip_banner`` removes such notices (and a separator line right after one) from the
top of a text, so that a banner never becomes a summary and never hides the words
after it. It removes only what reads as a banner: a line that opens like one and says
the mail came from outside (or a lone "EXTERNAL EMAIL"), and the lines that continue its
sentences (a wrapped line in lower case, or one in a banner's words); the first line that
is neither ends it, even without a blank line in between.
"""

from __future__ import annotations

import re

_OPENS = re.compile(
    r"^[\s*\[({!<>#=_-]*(?:caution|warning|attention|notice|important|external(?:\s+(?:e-?mail|sender|message))?"
    r"|ext)\b(?:[\s*\])}!>]*(?:[:\-–|]|$)|\s*[*\])}!>]+)",
    re.IGNORECASE,
)
# What a banner says: the mail came from outside (not "our external data sources ...").
_SAYS_OUTSIDE = re.compile(
    r"\b(?:(?:e-?mail|message)\s+(?:\w+\s+){0,3}?(?:from|originated|came|comes|was\s+sent)\s+"
    r"(?:\w+\s+){0,2}?(?:outside|external|an?\s+external)"
    r"|outside\s+(?:of\s+)?(?:the|your|our|this)\s+(?:organi[sz]ation|institution|university|college"
    r"|network|district|company|agency|campus)"
    r"|external\s+(?:e-?mail|sender|message|source)|do\s+not\s+click|don'?t\s+click"
    r"|unless\s+you\s+recogni[sz]e|phish\w*|use\s+caution\s+when)",
    re.IGNORECASE,
)
_STANDALONE = re.compile(
    r"^[\s*\[({!]*(?:(?:this|the)\s+(?:e-?mail|message)\s+(?:originated|came|comes|was\s+sent|is)\s+"
    r"(?:from\s+)?(?:an?\s+)?(?:outside|external)"
    r"|you\s+don'?t\s+often\s+get\s+e-?mail\s+from"
    r"|some\s+people\s+who\s+received\s+this\s+message\s+don'?t\s+often)",
    re.IGNORECASE,
)
# Words that only a banner's further sentences use.
_CONTINUES = re.compile(
    r"\b(?:do not click|don'?t click|open(?:ing)? attachments|recogni[sz]e the sender|content is safe"
    r"|outside (?:of )?(?:the|your|our) (?:organi[sz]ation|institution|university|college|network)"
    r"|learn why this is important|report (?:this|suspicious|phishing)|phish\w*|use caution"
    r"|exercise caution|external sender|verify the sender)\b",
    re.IGNORECASE,
)
_MARK_ALONE = re.compile(
    r"^[\s*\[({!<>=_-]*(?:external|ext)(?:\s+(?:e-?mail|sender|message))?[\s*\])}!<>=_-]*$", re.IGNORECASE
)
_RULE = re.compile(r"^\s*[_\-=*~]{5,}\s*$")
_MAX_LINES = 8


def _banner_at(lines: list[str], i: int) -> int:
    """How many lines of a banner start at ``lines[i]`` (0: none)."""
    first = lines[i].strip()
    if _MARK_ALONE.match(first):
        return 1
    says_so = _STANDALONE.match(first) or (_OPENS.match(first) and _SAYS_OUTSIDE.search(first))
    # or "EXTERNAL EMAIL" on its line, then the sentence saying so
    said_next = _OPENS.match(first) and i + 1 < len(lines) and _SAYS_OUTSIDE.search(lines[i + 1])
    if not (says_so or said_next):
        return 0
    end = i + 1
    previous = first
    while end < len(lines) and end - i < _MAX_LINES:
        line = lines[end].strip()
        if not line:
            break
        # a sentence wrapped onto the next line goes on in lower case
        wrapped = not re.search(r"[.!?]\W*$", previous) and line[:1].islower()
        if not (wrapped or _CONTINUES.search(line) or _STANDALONE.match(line)):
            break
        previous = line
        end += 1
    return end - i


def strip_banner(text: str) -> str:
    """``text`` without the warning banners (and their rules) at its top."""
    lines = text.splitlines()
    i = 0
    found = False
    while True:
        while i < len(lines) and (not lines[i].strip() or _RULE.match(lines[i])):
            i += 1
        if i >= len(lines):
            break
        size = _banner_at(lines, i)
        if not size:
            break
        found = True
        i += size
    if not found:
        return text
    return "\n".join(lines[i:])
