"""``message_from_bytes`` as the standard library's, without a regular expression compiled
for each multipart boundary.

``email.feedparser`` compiles ``(?P<sep>--<boundary>)(?P<end>--)?(?P<ws>[ \\t]*)(?P<linesep>…)?$``
for every multipart part it opens; each boundary is new, so ``re``'s cache never holds it, and
the compile costs about as much as a tenth of the rest of the parse. Here a private copy of
that module (the stdlib's own code, loaded again) gets a ``re`` whose ``compile`` answers that
one shape with a matcher that tests the literal separator with ``startswith`` and matches the
same tail pattern after it: the same match, the same groups ``end`` and ``linesep`` (the only
ones the parser reads). Every other pattern is compiled by ``re`` itself.
"""

from __future__ import annotations

import email.message
import email.policy
import importlib.util
import re
import types
from typing import Any

#: The pattern ``email.feedparser`` builds for a boundary: head, ``re.escape(separator)``, tail.
_BOUNDARY_HEAD = "(?P<sep>"
_BOUNDARY_TAIL = r")(?P<end>--)?(?P<ws>[ \t]*)(?P<linesep>\r\n|\r|\n)?$"
_TAIL = re.compile(_BOUNDARY_TAIL[1:])  # the same groups after the separator


class BoundaryMatcher:
    """What ``re.compile`` of a boundary pattern gives, for ``.match(line)``: ``line`` starts
    with the separator and the rest matches the tail (a literal prefix, then the same pattern)."""

    __slots__ = ("separator",)

    def __init__(self, separator: str) -> None:
        self.separator = separator

    def match(self, line: str) -> re.Match[str] | None:
        if not line.startswith(self.separator):
            return None
        return _TAIL.match(line, len(self.separator))


def _separator(pattern: object) -> str | None:
    """The literal separator of a boundary pattern; None for any other pattern."""
    if not (
        isinstance(pattern, str) and pattern.startswith(_BOUNDARY_HEAD) and pattern.endswith(_BOUNDARY_TAIL)
    ):
        return None
    escaped = pattern[len(_BOUNDARY_HEAD) : -len(_BOUNDARY_TAIL)]
    literal = re.sub(r"\\(.)", r"\1", escaped, flags=re.DOTALL)
    return literal if re.escape(literal) == escaped else None


def _compile(pattern: Any, flags: int = 0) -> Any:
    separator = _separator(pattern) if not flags else None
    if separator is None:
        return re.compile(pattern, flags)
    return BoundaryMatcher(separator)


def _private_feedparser() -> types.ModuleType:
    spec = importlib.util.find_spec("email.feedparser")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # its module-level patterns compiled by re itself
    shim = types.ModuleType("re", "re, with boundary patterns matched without compiling them")
    shim.__dict__.update(re.__dict__)
    shim.compile = _compile  # type: ignore[attr-defined]
    module.re = shim  # type: ignore[attr-defined]
    return module


_feedparser = _private_feedparser()


def message_from_bytes(data: bytes) -> email.message.Message:
    """``email.message_from_bytes(data)`` (compat32): the same message, read the same way
    (decoded as ASCII with surrogate escapes, fed in chunks of 8,192 characters)."""
    text = data.decode("ASCII", errors="surrogateescape")
    parser = _feedparser.FeedParser(policy=email.policy.compat32)
    for start in range(0, len(text), 8192):
        parser.feed(text[start : start + 8192])
    message: email.message.Message = parser.close()
    return message
