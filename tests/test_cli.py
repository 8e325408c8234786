"""The command line: every command documented, user mistakes exit 2 without a traceback."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from daemon.cli import COMMANDS, main
from tests import mailmaker

README = Path(__file__).resolve().parent.parent / "README.md"


@pytest.fixture
def cfg(tmp_path: Path) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(f'[state]\ndb = "{tmp_path / "cw.db"}"\n')
    return path


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_every_command_has_help_and_is_in_the_readme(
    command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([command, "--help"]) == 0
    assert len(capsys.readouterr().out) > 40
    assert f"casewatch {command}" in README.read_text()


def test_ingest_then_cases_and_show(cfg: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "m.eml").write_bytes(mailmaker.created())
    assert main(["--config", str(cfg), "ingest", str(tmp_path / "m.eml")]) == 0
    assert capsys.readouterr().out.strip() == "ingested 1, duplicates 0, ignored 0, quarantined 0"
    assert main(["--config", str(cfg), "cases", "--json"]) == 0
    (case,) = json.loads(capsys.readouterr().out)
    assert (case["case"], case["institution"], case["owner"], case["priority"], case["state"]) == (
        "10712345",
        "WWU",
        "jdoe@wwu.edu",
        "normal",
        "open",
    )
    assert main(["--config", str(cfg), "show", "10712345", "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert [e["kind"] for e in shown["events"]] == ["case_opened"]
    assert shown["events"][0]["at"] == "2026-10-05T17:12:00+00:00"


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["ingest", "/no/such/path"], "no such file or folder: /no/such/path"),
        (["show", "10799999"], "no case 10799999"),
        (["show", "abc"], "not a case number"),
        (["frobnicate"], "invalid choice"),
    ],
)
def test_user_mistakes_exit_2_without_traceback(
    cfg: Path, argv: list[str], needle: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--config", str(cfg), *argv]) == 2
    err = capsys.readouterr().err
    assert needle in err
    assert "Traceback" not in err


def test_poll_without_a_mailbox_reads_nothing(cfg: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--config", str(cfg), "poll", "--once"]) == 0
    assert "nothing to read" in capsys.readouterr().out


def test_status_counts(cfg: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    mail = tmp_path / "mail"
    mail.mkdir()
    (mail / "m.eml").write_bytes(mailmaker.created())
    (mail / "bad.eml").write_bytes(b"")
    main(["--config", str(cfg), "ingest", str(mail)])
    capsys.readouterr()
    assert main(["--config", str(cfg), "status", "--json"]) == 0
    health = json.loads(capsys.readouterr().out)
    assert (health["messages"], health["quarantined"], health["cases"]) == (1, 1, 1)
    assert health["last_ingest"] is not None


def _casewatch(*argv: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """casewatch run as its own process, in folder ``cwd``."""
    return subprocess.run(
        [sys.executable, "-m", "daemon", *argv],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=cwd,
        env={k: v for k, v in os.environ.items() if k != "CASEWATCH_CONFIG"},
    )


def test_a_relative_database_path_is_found_from_another_folder(tmp_path: Path) -> None:
    etc = tmp_path / "etc" / "casewatch"
    etc.mkdir(parents=True)
    config = etc / "config.toml"
    config.write_text('[state]\ndb = "state/casewatch.db"\n', encoding="utf-8")
    (tmp_path / "m.eml").write_bytes(mailmaker.created())
    ingested = _casewatch("--config", str(config), "ingest", str(tmp_path / "m.eml"), cwd=etc)
    assert ingested.returncode == 0, ingested.stderr
    elsewhere = tmp_path / "home"
    elsewhere.mkdir()

    listed = _casewatch("--config", str(config), "cases", "--json", cwd=elsewhere)

    assert listed.returncode == 0, listed.stderr
    assert [c["case"] for c in json.loads(listed.stdout)] == ["10712345"]
    assert (etc / "state" / "casewatch.db").is_file()
    assert list(elsewhere.iterdir()) == []


# --------------------------------------------------------------------------- messages that name the fix


def test_a_missing_imap_password_names_the_variable_and_the_keys(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("CASEWATCH_TEST_IMAP_SECRET", raising=False)
    config = tmp_path / "config.toml"
    config.write_text(
        f'[state]\ndb = "{(tmp_path / "cw.db").as_posix()}"\n'
        '[mailbox]\nhost = "127.0.0.1"\nport = 1\nsecurity = "plain"\nusername = "casewatch"\n'
        'password_env = "CASEWATCH_TEST_IMAP_SECRET"\n'
    )

    code = main(["--config", str(config), "poll", "--once"])

    err = capsys.readouterr().err
    assert code == 3
    assert "environment variable CASEWATCH_TEST_IMAP_SECRET" in err
    assert "mailbox.password_env" in err
    assert "mailbox.password_command" in err
    assert "Traceback" not in err


def test_a_missing_smtp_password_names_the_variable_and_the_keys(
    smtp: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from daemon.outbound.transports import SmtpTransport, TemporaryFailure

    monkeypatch.delenv("CASEWATCH_TEST_SMTP_SECRET", raising=False)
    settings = smtp.smtp(username="casewatch", password_env="CASEWATCH_TEST_SMTP_SECRET")

    with SmtpTransport(settings, None) as transport, pytest.raises(TemporaryFailure) as excinfo:
        transport.send(
            "casewatch@example.org", ["pm@example.org"], b"Subject: x\r\n\r\nx\r\n", "<x@example.org>"
        )

    said = str(excinfo.value)
    assert "environment variable CASEWATCH_TEST_SMTP_SECRET" in said
    assert "smtp.password_env" in said
    assert "smtp.password_command" in said


def test_a_wrong_imap_password_shows_the_servers_words_not_python_bytes(
    dovecot: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CASEWATCH_TEST_IMAP_SECRET", "not-" + dovecot.password)
    config = tmp_path / "config.toml"
    config.write_text(
        f'[state]\ndb = "{(tmp_path / "cw.db").as_posix()}"\n'
        f'[mailbox]\nhost = "{dovecot.host}"\nport = {dovecot.port}\nsecurity = "plain"\n'
        f'username = "{dovecot.user}"\npassword_env = "CASEWATCH_TEST_IMAP_SECRET"\n'
    )

    code = main(["--config", str(config), "poll", "--once"])

    err = capsys.readouterr().err
    assert code == 3
    assert "[AUTHENTICATIONFAILED]" in err  # the server's response code (RFC 5530)
    assert "b'" not in err
    assert 'b"' not in err
    assert "mailbox.username" in err
    assert "$CASEWATCH_TEST_IMAP_SECRET" in err


@pytest.mark.parametrize("command", [["status"], ["cases"], ["run"]])
def test_a_database_path_under_a_file_names_the_file_and_the_key(
    tmp_path: Path, command: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    afile = tmp_path / "hosts"
    afile.write_text("127.0.0.1 localhost\n")
    config = tmp_path / "config.toml"
    config.write_text(f'[state]\ndb = "{(afile / "casewatch.db").as_posix()}"\n')

    code = main(["--config", str(config), *command])

    err = capsys.readouterr().err
    assert code == 2
    assert f"state.db: {afile} is a file, not a folder" in err
    assert "Traceback" not in err
    assert afile.read_text() == "127.0.0.1 localhost\n"


def test_the_store_says_which_part_of_its_path_is_a_file(tmp_path: Path) -> None:
    from daemon.store import Store
    from daemon.store.db import StoreError

    afile = tmp_path / "hosts"
    afile.write_text("")

    with pytest.raises(StoreError) as excinfo:
        Store(afile / "state" / "casewatch.db")

    assert f"{afile} is a file, not a folder" in str(excinfo.value)
    assert "[state] db" in str(excinfo.value)
    assert "Errno" not in str(excinfo.value)
