"""OAuth 2 (SASL XOAUTH2) for IMAP and SMTP, with the token from ``oauth2_token_command``.

Against real servers: a Dovecot that validates JWT access tokens itself (its ``oauth2``
passdb with a local HMAC key, ``tests/dovecot.py``), and the aiosmtpd test server with its
XOAUTH2 mechanism (``tests/smtpserver.py``). What is pinned: a good token logs in and a bad
one is refused (IMAP: ``MailboxError``; SMTP: ``TemporaryFailure``, as every AUTH failure);
a token command that fails is a ``ConfigError`` naming its key; the command runs again for
every connection, because tokens expire; and the config refuses a token command together
with a password command, or without a username.
"""

from __future__ import annotations

import itertools
import os
import shlex
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from dovecot import Dovecot, find_dovecot
from smtpserver import TOKEN, SmtpServer, find_openssl

from daemon import config
from daemon.config import Config, Outbound
from daemon.errors import ConfigError
from daemon.ingest import poll_imap
from daemon.outbound.transports import SmtpTransport, TemporaryFailure, transport_for
from daemon.sources.imap import ImapSource, MailboxError
from daemon.store import Store
from tests import mailmaker

SENDER = "casewatch@orbiscascade.org"
OWNER = "jdoe@wwu.edu"
MID = "<casewatch.0a0a0a0a0a0a0a0a@orbiscascade.org>"
MESSAGE = (
    f"From: casewatch <{SENDER}>\r\nTo: {OWNER}\r\nMessage-ID: {MID}\r\n"
    "Subject: Case 10712345: request an update\r\n\r\nThe vendor has been silent.\r\n"
).encode()


def token_command(tmp_path: Path, *tokens: str) -> tuple[str, Path]:
    """A token command that prints ``tokens[0]`` on its first run, ``tokens[1]`` on its
    second, and so on (and fails once they are used up); and the file counting its runs."""
    folder = tmp_path / "token-cache"
    folder.mkdir()
    for n, token in enumerate(tokens, 1):
        (folder / f"token-{n}").write_text(token + "\n")
    count = folder / "count"
    count.write_text("0\n")
    script = folder / "print-token"
    script.write_text(
        '#!/bin/sh\nset -e\ncd "$(dirname "$0")"\n'
        'n=$(( $(cat count) + 1 ))\necho "$n" > count\ncat "token-$n"\n'
    )
    script.chmod(0o755)
    return shlex.quote(str(script)), count


def runs(count: Path) -> int:
    return int(count.read_text())


# --------------------------------------------------------------------------- the config


def problems_of(text: str) -> list[tuple[str, str]]:
    with pytest.raises(ConfigError) as excinfo:
        config.parse(tomllib.loads(text))
    return [(p.key, p.message) for p in excinfo.value.problems]


@pytest.mark.parametrize("section", ["mailbox", "smtp"])
def test_a_token_command_with_a_username_is_valid(section: str) -> None:
    cfg = config.parse(
        tomllib.loads(f'[{section}]\nusername = "cw@example.org"\noauth2_token_command = "get-token"\n')
    )

    assert getattr(cfg, section).oauth2_token_command == "get-token"
    assert Config().mailbox.oauth2_token_command == Config().smtp.oauth2_token_command == ""


@pytest.mark.parametrize("section", ["mailbox", "smtp"])
def test_a_token_command_and_a_password_command_together_are_refused(section: str) -> None:
    found = problems_of(
        f'[{section}]\nusername = "cw@example.org"\n'
        f'password_command = "pass show cw"\noauth2_token_command = "get-token"\n'
    )

    assert found == [
        (f"{section}.oauth2_token_command", f"cannot be combined with {section}.password_command")
    ]


@pytest.mark.parametrize("section", ["mailbox", "smtp"])
def test_a_token_command_needs_a_username(section: str) -> None:
    found = problems_of(f'[{section}]\noauth2_token_command = "get-token"\n')

    assert found == [(f"{section}.username", f"is required when {section}.oauth2_token_command is set")]


def test_a_mailbox_without_a_username_is_reported_once() -> None:
    found = problems_of('[mailbox]\nhost = "imap.example.org"\noauth2_token_command = "get-token"\n')

    assert [key for key, _ in found] == ["mailbox.username"]


@pytest.mark.parametrize(
    ("command", "says"),
    [
        ("false", "token command failed"),
        ("sh -c 'echo refresh token expired: sign in again >&2; exit 1'", "sign in again"),
        ("/nonexistent/casewatch-token-helper", "token command failed"),
        ("true", "printed no token"),
        ("echo '   '", "printed no token"),
    ],
)
def test_a_failing_token_command_is_a_config_error_naming_the_key(command: str, says: str) -> None:
    with pytest.raises(ConfigError) as excinfo:
        config.oauth2_token(command, "smtp.oauth2_token_command")

    assert [p.key for p in excinfo.value.problems] == ["smtp.oauth2_token_command"]
    assert says in excinfo.value.problems[0].message


def test_a_token_command_prints_its_first_line_trimmed() -> None:
    assert (
        config.oauth2_token("printf ' tok-1 \\r\\nsecond line\\n'", "mailbox.oauth2_token_command") == "tok-1"
    )


# --------------------------------------------------------------------------- IMAP


@pytest.fixture(scope="module")
def dovecot_oauth2() -> Iterator[Dovecot]:
    """A Dovecot that accepts XOAUTH2 with the JWTs of ``Dovecot.token()``, besides passwords."""
    binary = find_dovecot()
    if binary is None:
        reason = "DOVECOT IS NOT INSTALLED: the IMAP OAuth 2 tests did NOT run"
        if os.environ.get("CASEWATCH_REQUIRE_DOVECOT") == "1":
            pytest.fail(f"{reason}; CASEWATCH_REQUIRE_DOVECOT=1 requires them", pytrace=False)
        pytest.skip(reason)
    with Dovecot(binary, oauth2=True) as server:
        yield server


def notification(n: int) -> bytes:
    return mailmaker.created(
        case=f"107300{n:02d}",
        date=f"Tue, {n:02d} Sep 2026 10:00:00 +0000",
        token=f"thread::oauth{n:08d}::",
        message_id=f"<oauth{n}@sfdc.test>",
    )


def imap_config(server: Dovecot, folder: str, command: str) -> Config:
    return Config(mailbox=server.mailbox(folders=(folder,), oauth2_token_command=command))


_folders = itertools.count(1)


@pytest.fixture
def oauth2_folder(dovecot_oauth2: Dovecot) -> str:
    """A fresh, empty folder on the OAuth 2 server (which lives for this module only)."""
    name = f"oauth{next(_folders)}"
    dovecot_oauth2.create_folder(name)
    return name


@pytest.mark.imap
def test_imap_logs_in_with_the_token_and_reads_the_mail(
    dovecot_oauth2: Dovecot, oauth2_folder: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CASEWATCH_IMAP_PASSWORD", raising=False)  # no password anywhere
    dovecot_oauth2.append(oauth2_folder, notification(1))
    dovecot_oauth2.append(oauth2_folder, notification(2))
    command, count = token_command(tmp_path, dovecot_oauth2.token())

    with Store(tmp_path / "cw.db") as store:
        counts = poll_imap(store, imap_config(dovecot_oauth2, oauth2_folder, command))
        assert (counts.read, counts.ingested) == (2, 2)
        assert {c.number for c in store.cases()} == {"10730001", "10730002"}
    assert runs(count) == 1
    assert "method=XOAUTH2" in dovecot_oauth2.log_tail(200)


@pytest.mark.imap
@pytest.mark.parametrize(
    "which",
    ["signed with another key", "for another user", "expired"],
)
def test_imap_refuses_a_bad_token_as_a_mailbox_error(
    dovecot_oauth2: Dovecot, oauth2_folder: str, tmp_path: Path, which: str
) -> None:
    token = {
        "signed with another key": dovecot_oauth2.token(key=b"not the server's key"),
        "for another user": dovecot_oauth2.token("someone-else"),
        "expired": dovecot_oauth2.token(expires_in=-60),
    }[which]
    command, _count = token_command(tmp_path, token)

    with Store(tmp_path / "cw.db") as store, pytest.raises(MailboxError) as excinfo:
        poll_imap(store, imap_config(dovecot_oauth2, oauth2_folder, command))

    assert "XOAUTH2 login as 'casewatch' failed" in str(excinfo.value)
    assert token not in str(excinfo.value)


@pytest.mark.imap
def test_imap_runs_the_token_command_again_for_every_connection(
    dovecot_oauth2: Dovecot, oauth2_folder: str, tmp_path: Path
) -> None:
    """The second token is refused (as if it had expired): only a fresh run can see it."""
    command, count = token_command(
        tmp_path,
        dovecot_oauth2.token(),
        dovecot_oauth2.token(expires_in=-60),
        dovecot_oauth2.token(),
    )
    cfg = imap_config(dovecot_oauth2, oauth2_folder, command)

    with Store(tmp_path / "cw.db") as store:
        poll_imap(store, cfg)
        assert runs(count) == 1
        dovecot_oauth2.append(oauth2_folder, notification(3))
        with pytest.raises(MailboxError):
            poll_imap(store, cfg)
        assert runs(count) == 2
        assert poll_imap(store, cfg).ingested == 1
        assert runs(count) == 3


@pytest.mark.imap
def test_imap_with_a_failing_token_command_is_a_config_error_before_connecting(
    dovecot_oauth2: Dovecot, oauth2_folder: str, tmp_path: Path
) -> None:
    with Store(tmp_path / "cw.db") as store, pytest.raises(ConfigError) as excinfo:
        poll_imap(store, imap_config(dovecot_oauth2, oauth2_folder, "false"))

    assert [p.key for p in excinfo.value.problems] == ["mailbox.oauth2_token_command"]
    assert "token command failed" in excinfo.value.problems[0].message


@pytest.mark.imap
def test_imap_source_takes_a_token_beside_the_password(dovecot_oauth2: Dovecot, oauth2_folder: str) -> None:
    """The token wins over a (wrong) password; without a token the password logs in as before."""
    mailbox = dovecot_oauth2.mailbox(folders=(oauth2_folder,))
    with ImapSource(mailbox, "not-the-password", token=dovecot_oauth2.token()) as source:
        assert list(source.scan(oauth2_folder, None)) == []
    with ImapSource(mailbox, dovecot_oauth2.password) as source:
        assert list(source.scan(oauth2_folder, None)) == []


@pytest.mark.imap
def test_imap_server_without_xoauth2_is_a_mailbox_error_saying_so(dovecot: Dovecot) -> None:
    with pytest.raises(MailboxError, match="does not offer AUTH=XOAUTH2"):
        ImapSource(dovecot.mailbox(), None, token=dovecot.token()).__enter__()


# --------------------------------------------------------------------------- SMTP


@pytest.fixture(scope="module")
def smtp_oauth2_server() -> Iterator[SmtpServer]:
    with SmtpServer(tls=find_openssl() is not None, xoauth2=True) as server:
        yield server


@pytest.fixture
def smtp_oauth2(smtp_oauth2_server: SmtpServer) -> SmtpServer:
    smtp_oauth2_server.reset()
    return smtp_oauth2_server


def smtp_config(server: SmtpServer, command: str, **smtp: Any) -> Config:
    return Config(
        outbound=Outbound(transport="smtp"),
        smtp=server.smtp(username=server.user, oauth2_token_command=command, **smtp),
    )


def test_smtp_logs_in_with_the_token_from_the_command_and_sends(
    smtp_oauth2: SmtpServer, tmp_path: Path
) -> None:
    command, count = token_command(tmp_path, TOKEN)

    with transport_for(smtp_config(smtp_oauth2, command)) as transport:
        transport.send(SENDER, [OWNER], MESSAGE, MID)

    assert smtp_oauth2.oauth2_attempts == [(smtp_oauth2.user, TOKEN)]
    assert [(m.login, m.oauth2, m.data) for m in smtp_oauth2.messages] == [(smtp_oauth2.user, True, MESSAGE)]
    assert runs(count) == 1


def test_smtp_starttls_then_xoauth2(smtp_oauth2: SmtpServer, tmp_path: Path) -> None:
    if not smtp_oauth2.tls:
        pytest.skip("OPENSSL IS NOT INSTALLED: no test certificate for STARTTLS")
    command, _count = token_command(tmp_path, TOKEN)
    cfg = smtp_config(smtp_oauth2, command, security="starttls", verify_tls=False)

    with transport_for(cfg) as transport:
        transport.send(SENDER, [OWNER], MESSAGE, MID)

    assert [(m.tls, m.oauth2, m.login) for m in smtp_oauth2.messages] == [(True, True, smtp_oauth2.user)]


def test_smtp_refuses_a_wrong_token_as_a_temporary_failure(smtp_oauth2: SmtpServer) -> None:
    """An expired or revoked token must not lose mail: the message waits, as after a 535."""
    wrong = "expired-" + TOKEN
    with SmtpTransport(smtp_oauth2.smtp(username=smtp_oauth2.user), None, token=wrong) as transport:
        with pytest.raises(TemporaryFailure) as excinfo:
            transport.send(SENDER, [OWNER], MESSAGE, MID)
        assert type(excinfo.value) is TemporaryFailure
        assert excinfo.value.code == 535
        assert "XOAUTH2 login as 'casewatch' failed" in excinfo.value.message
        assert "smtp.oauth2_token_command" in excinfo.value.message
        assert wrong not in excinfo.value.message
        assert wrong not in repr(transport)

    assert smtp_oauth2.oauth2_attempts == [(smtp_oauth2.user, wrong)]
    assert smtp_oauth2.messages == []


def test_smtp_runs_the_token_command_again_for_every_connection(
    smtp_oauth2: SmtpServer, tmp_path: Path
) -> None:
    command, count = token_command(tmp_path, "token-one", "token-two", "token-three")
    smtp_oauth2.accept_tokens("token-one", "token-two", "token-three")
    cfg = smtp_config(smtp_oauth2, command)

    with transport_for(cfg) as transport:
        assert runs(count) == 0  # nothing sent, nothing asked
        transport.send(SENDER, [OWNER], MESSAGE, MID)
        transport.send(SENDER, [OWNER], MESSAGE, MID)  # the same connection, the same login
        assert runs(count) == 1
        smtp_oauth2.drop_connections()  # as a server's idle timeout does
        transport.send(SENDER, [OWNER], MESSAGE, MID)
    with transport_for(cfg) as transport:
        transport.send(SENDER, [OWNER], MESSAGE, MID)

    assert runs(count) == 3
    assert [token for _user, token in smtp_oauth2.oauth2_attempts] == [
        "token-one",
        "token-two",
        "token-three",
    ]
    assert len(smtp_oauth2.messages) == 4


def test_smtp_with_a_failing_token_command_is_a_config_error_before_connecting(
    smtp_oauth2: SmtpServer, tmp_path: Path
) -> None:
    command, count = token_command(tmp_path)  # no token: the command fails

    with transport_for(smtp_config(smtp_oauth2, command)) as transport, pytest.raises(ConfigError) as excinfo:
        transport.send(SENDER, [OWNER], MESSAGE, MID)

    assert [p.key for p in excinfo.value.problems] == ["smtp.oauth2_token_command"]
    assert "token command failed" in excinfo.value.problems[0].message
    assert runs(count) == 1
    assert smtp_oauth2.connections == 0
    assert smtp_oauth2.messages == []


def test_smtp_server_without_xoauth2_is_a_temporary_failure_saying_so(smtp: SmtpServer) -> None:
    with (
        SmtpTransport(smtp.smtp(username=smtp.user), None, token=TOKEN) as transport,
        pytest.raises(TemporaryFailure, match="does not offer AUTH XOAUTH2") as excinfo,
    ):
        transport.send(SENDER, [OWNER], MESSAGE, MID)

    assert "LOGIN PLAIN" in excinfo.value.message
    assert smtp.messages == []
