"""The bench's own measuring pieces (scripts/benchparts): fast, no Dovecot.

The bench asserts nothing about casewatch; these check that what it reports is what it says:
a command's peak RSS is the command's own (not its parent's), and the mail mix it backfills
is the realistic one (multipart notifications with HTML, list posts, replies, noise)."""

from __future__ import annotations

import email
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

from benchparts import commands, mail, stores  # noqa: E402


def test_a_commands_peak_rss_is_its_own_not_its_parents(tmp_path: Path) -> None:
    # Linux starts a child's ru_maxrss from what its forking parent had mapped: a bench holding
    # 300 MB must still report the command's own few tens of MB.
    ballast = bytearray(300 * 1024 * 1024)
    for i in range(0, len(ballast), 4096):
        ballast[i] = 1
    db = tmp_path / "casewatch.db"
    stores.build(db, 20, 1)
    config = stores.write_config(tmp_path / "cw.toml", db, tmp_path / "outbox")
    result = commands.run_command(config, ["cases", "--json"])
    assert result["status"] == 0, result["err"]
    assert 0 < result["rss_mb"] < 150
    assert result["cpu"] > 0
    assert len(ballast) == 300 * 1024 * 1024


def test_the_mail_mix_is_the_realistic_one() -> None:
    data = mail.messages(400, 3)
    assert data == mail.messages(400, 3)  # the same run after run
    parsed = [email.message_from_bytes(raw) for raw in data]
    assert len({m["Message-ID"] for m in parsed}) == len(data)
    notifications = [
        raw
        for raw, m in zip(data, parsed, strict=True)
        if m.is_multipart() and any(p.get_content_type() == "text/html" for p in m.walk())
    ]
    assert 0.5 <= len(notifications) / len(data) <= 0.7
    assert 20_000 <= sum(map(len, notifications)) / len(notifications) <= 40_000
    assert any(m["List-Id"] for m in parsed)
    assert any(re.search(rb"^> ", raw, re.MULTILINE) for raw in data)


def test_a_renamed_message_is_new_mail_and_otherwise_the_same() -> None:
    raw = mail.messages(1, 3)[0]
    again = mail.renamed(raw, "t7")
    old, new = email.message_from_bytes(raw), email.message_from_bytes(again)
    assert new["Message-ID"] != old["Message-ID"]
    assert new["Message-ID"].startswith("<t7.")
    assert again.replace(b"<t7.", b"<", 1) == raw
