"""recognize/mime.py: the standard library's MIME parser with boundaries matched without a
compiled pattern reads every message exactly as ``email.message_from_bytes`` does."""

from __future__ import annotations

import email
import re
import sys
from pathlib import Path

import pytest

from daemon.recognize.mime import BoundaryMatcher, _compile, message_from_bytes

HERE = Path(__file__).parent
SHARED = HERE.parent.parent / "shared"
sys.path.insert(0, str(HERE.parent / "scripts"))

import realmix  # noqa: E402


def _files() -> list[Path]:
    roots = [HERE / "fixtures", SHARED / "samples", SHARED / "corpus"]
    return sorted(p for root in roots if root.is_dir() for p in root.rglob("*") if p.is_file())


def _structure(msg: email.message.Message) -> list[tuple[object, ...]]:
    """Every part as the parser left it: headers as written, payload as parsed, preamble,
    epilogue and the defects it noticed."""
    return [
        (
            list(part.raw_items()),
            part.get_payload() if not part.is_multipart() else None,
            part.preamble,
            part.epilogue,
            [type(d).__name__ for d in part.defects],
        )
        for part in msg.walk()
    ]


BOUNDARY_LINES = [
    "--b",
    "--b\n",
    "--b\r\n",
    "--b\r",
    "--b--",
    "--b--\n",
    "--b-- \t\n",
    "--b  \r\n",
    "--bx\n",
    "--b--x\n",
    "--b\n\n",
    "-b\n",
    "--B\n",
    "",
    "x--b\n",
    "--b\t--\n",
]


@pytest.mark.parametrize("separator", ["--b", "--=_Part_1.2+3(x)?", "--a b\tc", "--[]*^$\\d"])
@pytest.mark.parametrize("line", BOUNDARY_LINES)
def test_boundary_matcher_matches_as_the_compiled_pattern(separator: str, line: str) -> None:
    line = line.replace("--b", separator)
    pattern = "(?P<sep>" + re.escape(separator) + r")(?P<end>--)?(?P<ws>[ \t]*)(?P<linesep>\r\n|\r|\n)?$"
    matcher = _compile(pattern)
    assert isinstance(matcher, BoundaryMatcher)
    compiled, ours = re.compile(pattern).match(line), matcher.match(line)
    assert (compiled is None) == (ours is None)
    if compiled is not None and ours is not None:
        assert [compiled.group(g) for g in ("end", "ws", "linesep")] == [
            ours.group(g) for g in ("end", "ws", "linesep")
        ]
        assert compiled.end() == ours.end()


def test_other_patterns_are_compiled_by_re() -> None:
    assert isinstance(_compile(r"(?P<sep>x)+y"), re.Pattern)
    assert isinstance(_compile("(?P<sep>--b)(?P<end>--)?$"), re.Pattern)


@pytest.mark.parametrize(
    "data",
    [p.read_bytes() for p in _files()] + realmix.messages(200, 23),
    ids=[p.name for p in _files()] + [f"mix-{i}" for i in range(200)],
)
def test_reads_every_message_as_the_standard_library(data: bytes) -> None:
    try:
        expected = _structure(email.message_from_bytes(data))
    except RecursionError:
        with pytest.raises(RecursionError):
            message_from_bytes(data)
        return
    assert _structure(message_from_bytes(data)) == expected
