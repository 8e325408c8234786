"""The standard library's common path and mail-parser read every message alike.

``parse`` reads the common shapes of mail with ``email`` alone and hands the rest to
mail-parser (issue 17). Every file of ``tests/fixtures``, ``../shared/samples`` and
``../shared/corpus`` (when that folder sits beside the checkout), and a realistic generated mix,
goes through both paths: the parsed ``Mail`` (headers, text, notes, addresses, dates, ...), the
``Recognition`` made of it, or the reason it is unparseable, must be the same field by field.
"""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path
from typing import Any

import pytest

from daemon.config import Config
from daemon.recognize import recognize_mail
from daemon.recognize.parse import Unparseable, _common_parse, parse

HERE = Path(__file__).parent
SHARED = HERE.parent.parent / "shared"
CONFIG = Config()
sys.path.insert(0, str(HERE.parent / "scripts"))

import realmix  # noqa: E402


def _files() -> list[Path]:
    roots = [HERE / "fixtures", SHARED / "samples", SHARED / "corpus"]
    return sorted(p for root in roots if root.is_dir() for p in root.rglob("*") if p.is_file())


FILES = _files()
MIX = realmix.messages(300, 17)


def _read(data: bytes, common_path: bool) -> dict[str, Any]:
    """Everything the daemon takes from one message on one path, field by field."""
    try:
        mail = parse(data, common_path=common_path)
    except Unparseable as exc:
        return {"unparseable": str(exc)}
    out = {f"mail.{k}": v for k, v in dataclasses.asdict(mail).items()}
    rec = recognize_mail(mail, CONFIG)
    out.update({f"recognition.{k}": v for k, v in dataclasses.asdict(rec).items()})
    return out


def _differences(data: bytes) -> list[str]:
    common, full = _read(data, True), _read(data, False)
    return [
        f"{key}: standard library {common.get(key)!r} != mail-parser {full.get(key)!r}"
        for key in sorted(set(common) | set(full))
        if common.get(key) != full.get(key)
    ]


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.relative_to(p.parents[2]).as_posix())
def test_file_reads_alike_both_ways(path: Path) -> None:
    assert _differences(path.read_bytes()) == []


@pytest.mark.parametrize("index", range(len(MIX)))
def test_realistic_mix_reads_alike_both_ways(index: int) -> None:
    assert _differences(MIX[index]) == []


def test_common_path_is_taken_for_the_common_mail() -> None:
    """The comparison above means something: most mail really goes the standard library's way
    (the vendor's multipart/alternative notifications, list posts, replies), and what
    mail-parser is kept for (attachments, delivery reports, damaged MIME) does not."""
    taken = sum(_common_parse(m) is not None for m in MIX)
    assert taken >= 0.8 * len(MIX)
    notification = next(m for m in MIX if b"multipart/alternative" in m and b"sfdc.net" in m)
    assert _common_parse(notification) is not None
    bounce = next(m for m in MIX if b"multipart/report" in m)
    assert _common_parse(bounce) is None
    attachment = (
        b"From: a@b.example\r\nSubject: s\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/mixed; boundary="x"\r\n\r\n--x\r\nContent-Type: text/plain\r\n\r\nhi\r\n'
        b'--x\r\nContent-Type: text/plain; name="a.txt"\r\nContent-Disposition: attachment; filename="a.txt"'
        b"\r\n\r\nfile\r\n--x--\r\n"
    )
    assert _common_parse(attachment) is None
    assert parse(attachment).text == "hi"
