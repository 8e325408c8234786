"""The new part of a reply: the text above the first quote or attribution line."""

from __future__ import annotations

import re

_ATTRIBUTION = re.compile(
    r"^\s*(?:"
    r"on .{4,200}(?:wrote|writes|a écrit|schrieb|escribió)\s*:?"
    r"|am .{4,200} schrieb .{0,200}:"
    r"|le .{4,200} a écrit\s*:"
    r"|el .{4,200} escribió\s*:"
    r"|-{2,}\s*(?:original message|ursprüngliche nachricht|message d'origine)\s*-{2,}"
    r"|_{10,}"
    r"|from:\s.+"
    r"|von:\s.+"
    r"|de\s?:\s.+@.+"
    r"|begin forwarded message:"
    r"|-{2,} ?forwarded message ?-{2,}"
    r")\s*$",
    re.IGNORECASE,
)


def new_text(text: str) -> str:
    """Lines before the first quoted line (``>``) or attribution line."""
    kept = []
    for line in text.splitlines():
        if line.lstrip().startswith(">") or _ATTRIBUTION.match(line):
            break
        kept.append(line)
    return "\n".join(kept).strip()
