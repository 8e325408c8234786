"""``casewatch digest`` on the command line: it prints one format and renders only that one
(at 50,000 cases the other was as much work again), while the weekly mail keeps both parts."""

from __future__ import annotations

from pathlib import Path

import pytest

from daemon.cli import main
from daemon.config import load
from daemon.ingest import ingest
from daemon.sources.files import read_paths
from daemon.store import Store

HERE = Path(__file__).parent
GOLDEN = HERE / "fixtures" / "digest"
MAIL = [
    *sorted((HERE / "fixtures" / "due" / "other-words").glob("*.eml")),
    *sorted((HERE.parent / "daemon" / "demo" / "mailbox").glob("*.eml")),
]
AT = "2026-10-19T09:00:00-07:00"  # Maria Lopez's golden digest: the week ending Mon 08:00 PDT
BROKEN = "{{ no_such_variable }}\n"  # StrictUndefined: rendering this template raises


@pytest.fixture
def setup(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("CASEWATCH_CONFIG", raising=False)
    db = tmp_path / "cw.db"
    site = tmp_path / "site"
    site.mkdir()
    text = (GOLDEN / "config.toml").read_text(encoding="utf-8")
    config = tmp_path / "config.toml"
    config.write_text(
        f'[state]\ndb = "{db.as_posix()}"\n\n[sending]\ntemplates = "{site.as_posix()}"\n\n{text}',
        encoding="utf-8",
    )
    with Store(db) as s:
        ingest(s, load(str(config)), read_paths(MAIL))

    def run(*args: str) -> tuple[int, str]:
        capsys.readouterr()
        code = main(["--config", str(config), "digest", "--pm", "mlopez@orbiscascade.org", "--at", AT, *args])
        return code, capsys.readouterr().out

    return site, run


@pytest.mark.parametrize(("printed", "other"), [("txt", "html"), ("html", "txt")])
def test_digest_renders_only_the_format_it_prints(setup, printed, other):
    site, run = setup
    # The other format's templates, broken in the site folder, are never rendered.
    for name in (f"digest.{other}", f"mail.{other}"):
        (site / name).write_text(BROKEN, encoding="utf-8")
    code, out = run("--format", "text" if printed == "txt" else "html")
    assert code == 0
    assert out == (GOLDEN / f"maria-lopez-2026-10-19.{printed}").read_text(encoding="utf-8")
