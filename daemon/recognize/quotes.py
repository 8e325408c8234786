"""The new part of a reply: the text above the first quote or attribution line.

Mail clients put what they answer below the reply, behind one of these marks,
and ``new_text`` keeps what comes before the first of them:

- a quoted line: one that starts with ``>``;
- an attribution line, in the languages the clients write it (Gmail, Apple Mail,
  Thunderbird, Outlook on phones)::

      On Tue, Dec 1, 2026 at 10:00 AM casewatch <casewatch+abc@orbiscascade.org> wrote:
      On Dec 1, 2026, at 10:00, casewatch <casewatch+abc@orbiscascade.org> wrote:
      Am 01.12.2026 um 10:00 schrieb casewatch <casewatch+abc@orbiscascade.org>:
      Le mar. 1 déc. 2026 à 10:00, casewatch <casewatch+abc@orbiscascade.org> a écrit :
      El mar, 1 dic 2026 a las 10:00, casewatch (<casewatch+abc@orbiscascade.org>) escribió:
      Op di 1 dec. 2026 om 10:00 schreef casewatch <casewatch+abc@orbiscascade.org>:

  (also Italian "Il ... ha scritto:", Portuguese "Em ... escreveu:" and Swedish
  "Den ... skrev ...:"). Gmail wraps a long attribution over two or three lines, so
  a line that opens like one and carries a date is read together with the next
  one or two. An attribution must carry a time, a year or an address, so prose such
  as "On Monday the analyst wrote:" is kept;
- an Outlook header block: a "From:" line (``De :``, ``Von:``, ``Van:``, ``Da:``)
  followed within two lines by another header, with one saying when or what within
  four (``Sent:``, ``Date:``, ``Subject:``, ``Envoyé :``, ``Objet :``, ``Gesendet:``,
  ``Betreff:``, ``Enviado:``, ``Asunto:``, ...; ``To:`` and ``Cc:`` alone are not
  enough), or with such headers on the same line (HTML flattened to text). A lone
  line that starts with "From:" is prose;
- a separator: ``-----Original Message-----`` and its translations, Outlook's line
  of underscores, forwarded-message markers.
"""

from __future__ import annotations

import re

# A line that opens like an attribution, in any of the languages below.
_OPENER = re.compile(r"^(?:on|am|le|el|op|il|em|den)\s", re.IGNORECASE)
_ATTRIBUTION = re.compile(
    r"^(?:"
    r"on\s.{4,300}\b(?:wrote|writes)"
    r"|am\s.{4,300}\b(?:schrieb\b.{0,300}|geschrieben)"
    r"|le\s.{4,300}\sa\s+écrit"
    r"|el\s.{4,300}\sescribió"
    r"|op\s.{4,300}\bschreef\b.{0,300}"
    r"|il\s.{4,300}\sha\s+scritto"
    r"|em\s.{4,300}\sescreveu"
    r"|den\s.{4,300}\bskrev\b.{0,300}"
    r")\s*:$",
    re.IGNORECASE,
)
# What makes an attribution one: a time (10:00, 10.00, 10h00), a year, or an address.
_STAMP = re.compile(r"\d{1,2}[:.h]\d{2}\b|\b(?:19|20)\d{2}\b|@")

_SEPARATOR = re.compile(
    r"^(?:"
    r"-{2,}\s*(?:original message|ursprüngliche nachricht|message d'origine|mensaje original|"
    r"oorspronkelijk bericht|messaggio originale|mensagem original|"
    r"forwarded message|weitergeleitete nachricht|message transféré|mensaje reenviado|"
    r"doorgestuurd bericht|messaggio inoltrato|mensagem encaminhada)\s*-{2,}.*"
    r"|_{10,}"
    r"|begin forwarded message\s*:"
    r"|anfang der weitergeleiteten nachricht\s*:"
    r"|début du message réexpédié\s*:"
    r")$",
    re.IGNORECASE,
)

# The headers of a quoted message after its "From:" line: when it was sent, or its subject
# (English, French, German, Spanish, Dutch, Italian, Portuguese) ...
_WHEN_OR_WHAT = (
    "sent|date|subject|envoyé|objet|gesendet|datum|betreff|enviado|fecha|asunto"
    "|verzonden|onderwerp|inviato|data|oggetto|assunto"
)
# ... and to whom.
_HEADER_NAMES = f"{_WHEN_OR_WHAT}|to|cc|à|a|an|para|aan"
_FROM = re.compile(r"^\*?(?:from|de|von|van|da)\*?\s*:\s*\S", re.IGNORECASE)
_HEADER = re.compile(rf"^\*?(?:{_HEADER_NAMES})\*?\s*:", re.IGNORECASE)
_WHEN_OR_WHAT_HEADER = re.compile(rf"^\*?(?:{_WHEN_OR_WHAT})\*?\s*:", re.IGNORECASE)
_INLINE_HEADER = re.compile(rf"\s\*?({_HEADER_NAMES})\*?\s*:\s", re.IGNORECASE)


def new_text(text: str) -> str:
    """Lines before the first quoted line (``>``), attribution, header block or separator."""
    lines = [line.strip() for line in text.splitlines()]
    for i in range(len(lines)):
        if _quote_starts(lines, i):
            return "\n".join(text.splitlines()[:i]).strip()
    return text.strip()


def _quote_starts(lines: list[str], i: int) -> bool:
    """Whether the quoted part of a reply starts at ``lines[i]`` (lines stripped)."""
    line = lines[i]
    if line.startswith(">") or _SEPARATOR.match(line):
        return True
    if _OPENER.match(line):
        if _attribution(line):
            return True
        # Wrapped: the first line has the date, the next one or two the rest.
        if not _STAMP.search(line):
            return False
        candidate = line
        for extra in lines[i + 1 : i + 3]:
            if not extra or extra.startswith(">") or _OPENER.match(extra):
                return False
            candidate = f"{candidate} {extra}"
            if _attribution(candidate):
                return True
        return False
    if _FROM.match(line):
        inline = {name.lower() for name in _INLINE_HEADER.findall(line)}
        if len(inline) >= 2 and any(_WHEN_OR_WHAT_HEADER.match(name + ":") for name in inline):
            return True
        following = [other for other in lines[i + 1 : i + 8] if other][:4]
        return any(_HEADER.match(other) for other in following[:2]) and any(
            _WHEN_OR_WHAT_HEADER.match(other) for other in following
        )
    return False


def _attribution(candidate: str) -> bool:
    return bool(_ATTRIBUTION.match(candidate) and _STAMP.search(candidate))
