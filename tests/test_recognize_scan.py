"""The recognizer's scans that skip ahead (case numbers in context, footer and Status / Priority
lines of a notification) give what the plain walks give: ``_CONTEXT.finditer`` over the text,
and the patterns tried on each line."""

from __future__ import annotations

from hypothesis import example, given
from hypothesis import strategies as st

from daemon.config import Config
from daemon.recognize import casenumbers, fields
from daemon.recognize.classify import matches

_WORDS = (
    "case",
    "Cases",
    "CASE of record",
    "ticket",
    "Jira ticket",
    "SF",
    "salesforce",
    "#",
    "order #",
    "no.",
    "number",
    "and",
    "or",
    ",",
    ";",
    "(",
    ")",
    "10712350",
    "170445",
    "20261105",
    "123456789",
    "URM-123456",
    "ſf",
    "caſe",
    "Status: Closed",
    "Priority: High",
    "Case Priority:\tLow",
    "Direct link: x",
    "Clarivate Support",
    "thread::abcdef::",
    "ref:_00D1x._5001y:ref",
    "Thank you,",
    "Description:",
    "Problem description",
    " ",
    "\t",
    "\n",
    "\n\n",
    ">",
    "*",
    "-",
    "x",
    "casework",
    "sfx",
)
_TEXT = st.lists(st.sampled_from(_WORDS), max_size=40).map(" ".join) | st.lists(
    st.sampled_from(_WORDS), max_size=40
).map("".join)
_CONFIG = Config()


def _in_context_plain(text: str) -> list[str]:
    """``in_context`` as it read before the scan skipped ahead."""
    found: dict[str, None] = {}
    for match in casenumbers._CONTEXT.finditer(text):
        before = text[max(0, match.start() - 40) : match.start()]
        if match.group(0).startswith("#") and casenumbers._NOT_CASE_HASH.search(before):
            continue
        if (match.group("word") or "").lower().startswith("ticket") and casenumbers._OTHER_TICKET.search(
            before
        ):
            continue
        for digits in casenumbers._DIGITS.findall(match.group("numbers")):
            number = casenumbers.normalize(digits)
            if number:
                found.setdefault(number)
    return list(found)


@given(_TEXT)
@example("Case 10712350 and sf#170445, caſe 10712360")
@example("ticketicket 10712350 #10712360")
def test_in_context_as_finditer(text: str) -> None:
    assert casenumbers.in_context(text) == _in_context_plain(text)


@given(_TEXT)
@example("x\n\nClarivate Support\nDirect link: y")
@example("x\n \nthread::abcdef::")
def test_first_footer_as_each_line(text: str) -> None:
    lines = text.split("\n")
    footer = _CONFIG.recognize.notification_footer
    plain = next((k for k, line in enumerate(lines) if k and matches(footer, line)), len(lines))
    assert fields._first_footer(lines, footer) == plain
    # A pattern that sees past its line falls back to the walk.
    guarded = (*footer, r"(?<!x)Support")
    plain = next((k for k, line in enumerate(lines) if k and matches(guarded, line)), len(lines))
    assert fields._first_footer(lines, guarded) == plain


@given(_TEXT)
@example("Case\nPriority: High\nStatus: Closed")
def test_label_lines_as_each_line(text: str) -> None:
    lines = text.split("\n")
    labels = _CONFIG.labels
    pattern = fields._label_pattern(labels.status + labels.priority)
    plain = [k for k, line in enumerate(lines) if pattern.match(line)]
    assert fields._lines_matching(lines, pattern, lambda line: bool(pattern.match(line))) == plain
