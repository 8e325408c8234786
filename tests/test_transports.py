"""Transports against a real SMTP server (aiosmtpd, ``tests/smtpserver.py``) and a real folder.

What is pinned: bytes and envelope arrive exactly; one connection serves many sends; which
failures are temporary (kept and retried) and which permanent (marked failed); a dropped
connection is reconnected once; TLS and AUTH; the file transport's one-file-per-Message-ID.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from smtpserver import SilentServer, SmtpServer

from daemon.config import Config, Outbound, Smtp
from daemon.errors import ConfigError, RuntimeFailure
from daemon.outbound.transports import (
    FileTransport,
    PermanentFailure,
    SendFailure,
    SmtpTransport,
    TemporaryFailure,
    file_name,
    transport_for,
)

SENDER = "casewatch@orbiscascade.org"
OWNER = "jdoe@wwu.edu"
PM = "mlopez@orbiscascade.org"
MID = "<casewatch.0123456789abcdef@orbiscascade.org>"


def message(mid: str = MID, body: str = "The vendor has been silent for 2 business days.") -> bytes:
    """A composed message as the outbox hands it over: CRLF lines, 8-bit UTF-8, a leading dot."""
    return (
        f"From: casewatch <{SENDER}>\r\n"
        f"To: {OWNER}\r\n"
        f"Cc: {PM}\r\n"
        f"Message-ID: {mid}\r\n"
        "Subject: Case 10712345: request an update\r\n"
        "Auto-Submitted: auto-generated\r\n"
        "MIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n"
        "Content-Transfer-Encoding: 8bit\r\n"
        "\r\n"
        f"{body}\r\n"
        ".a line that starts with a dot (SMTP dot-stuffing must undo itself)\r\n"
        "..and one with two\r\n"
        "Résumé: café, naïve, 東京\r\n"
    ).encode()


def envelopes(server: SmtpServer) -> list[tuple[str, tuple[str, ...], bytes]]:
    return [(m.mail_from, m.rcpt_tos, m.data) for m in server.messages]


@pytest.fixture
def smtp_tls(smtp: SmtpServer) -> SmtpServer:
    if not smtp.tls:
        pytest.skip("OPENSSL IS NOT INSTALLED: the SMTP TLS tests did NOT run (no test certificate)")
    return smtp


@pytest.fixture
def closed_port() -> int:
    """A port of 127.0.0.1 nobody listens on (it was free a moment ago)."""
    with SilentServer() as server:
        return server.port


# --------------------------------------------------------------------------- delivery


def test_message_arrives_byte_identical_with_the_envelope_given(smtp: SmtpServer) -> None:
    with SmtpTransport(smtp.smtp(), None) as transport:
        transport.send(SENDER, [OWNER, PM], message(), MID)

    assert envelopes(smtp) == [(SENDER, (OWNER, PM), message())]


def test_8bit_bytes_are_declared_8bitmime_and_ascii_ones_are_not(smtp: SmtpServer) -> None:
    ascii_only = message().decode().replace("Résumé: café, naïve, 東京", "plain").encode()

    with SmtpTransport(smtp.smtp(), None) as transport:
        transport.send(SENDER, [OWNER], message(), MID)
        transport.send(SENDER, [OWNER], ascii_only, MID)

    assert [("BODY=8BITMIME" in m.mail_options, m.data) for m in smtp.messages] == [
        (True, message()),
        (False, ascii_only),
    ]


@pytest.mark.parametrize(
    ("sender", "recipients"), [("josé@orbiscascade.org", [OWNER]), (SENDER, [OWNER, "zoë@wwu.edu"])]
)
def test_an_address_smtplib_cannot_write_is_permanent_and_the_next_send_works(
    smtp: SmtpServer, sender: str, recipients: list[str]
) -> None:
    with SmtpTransport(smtp.smtp(), None) as transport:
        with pytest.raises(PermanentFailure) as excinfo:
            transport.send(sender, recipients, message(), MID)
        transport.send(SENDER, [OWNER], message(), MID)

    assert "ASCII" in excinfo.value.message
    assert envelopes(smtp) == [(SENDER, (OWNER,), message())]


def test_envelope_recipients_need_not_be_the_headers(smtp: SmtpServer) -> None:
    """A Bcc-like recipient: the envelope says who gets it, the bytes stay as they are."""
    with SmtpTransport(smtp.smtp(), None) as transport:
        transport.send(SENDER, ["coordinator@orbiscascade.org"], message(), MID)

    assert envelopes(smtp) == [(SENDER, ("coordinator@orbiscascade.org",), message())]


def test_several_sends_reuse_one_connection(smtp: SmtpServer) -> None:
    mids = [f"<casewatch.{n}@orbiscascade.org>" for n in range(3)]

    with SmtpTransport(smtp.smtp(), None) as transport:
        for mid in mids:
            transport.send(SENDER, [OWNER], message(mid), mid)

    assert [m.data for m in smtp.messages] == [message(mid) for mid in mids]
    assert smtp.connections == 1
    assert len({m.peer for m in smtp.messages}) == 1


def test_no_connection_before_the_first_send(smtp: SmtpServer) -> None:
    with SmtpTransport(smtp.smtp(), None):
        pass

    assert smtp.connections == 0


def test_closed_transport_connects_again_on_the_next_send(smtp: SmtpServer) -> None:
    transport = SmtpTransport(smtp.smtp(), None)
    transport.send(SENDER, [OWNER], message(), MID)
    transport.close()
    transport.send(SENDER, [OWNER], message(), MID)
    transport.close()

    assert (len(smtp.messages), smtp.connections) == (2, 2)


# --------------------------------------------------------------------------- refusals


@pytest.mark.parametrize(
    ("command", "code", "failure"),
    [
        ("MAIL", 451, TemporaryFailure),
        ("MAIL", 550, PermanentFailure),
        ("RCPT", 450, TemporaryFailure),
        ("RCPT", 550, PermanentFailure),
        ("DATA", 451, TemporaryFailure),
        ("DATA", 552, PermanentFailure),
        ("DATA", 554, PermanentFailure),
        ("MAIL", 421, TemporaryFailure),  # the server closes after a 421
        ("DATA", 421, TemporaryFailure),
    ],
)
def test_a_4xx_reply_is_temporary_and_a_5xx_permanent_and_the_next_send_still_works(
    smtp: SmtpServer, command: str, code: int, failure: type[SendFailure]
) -> None:
    smtp.fail_next(command, code, times=2 if command == "RCPT" else 1)

    with SmtpTransport(smtp.smtp(), None) as transport:
        with pytest.raises(SendFailure) as excinfo:
            transport.send(SENDER, [OWNER, PM], message(), MID)
        assert smtp.messages == []
        transport.send(SENDER, [OWNER], message(), MID)

    assert type(excinfo.value) is failure
    assert excinfo.value.code == code
    assert str(code) in excinfo.value.message
    assert "\n" not in excinfo.value.message
    assert envelopes(smtp) == [(SENDER, (OWNER,), message())]


def test_451_is_temporary_and_the_same_message_sends_once_the_server_recovers(smtp: SmtpServer) -> None:
    smtp.fail_next("DATA", 451)

    with SmtpTransport(smtp.smtp(), None) as transport:
        with pytest.raises(TemporaryFailure) as excinfo:
            transport.send(SENDER, [OWNER], message(), MID)
        transport.send(SENDER, [OWNER], message(), MID)

    assert excinfo.value.code == 451
    assert MID in excinfo.value.message
    assert envelopes(smtp) == [(SENDER, (OWNER,), message())]
    assert smtp.connections == 1  # a refusal leaves the connection usable


def test_550_is_permanent(smtp: SmtpServer) -> None:
    smtp.fail_next("DATA", "550 5.7.1 Message rejected as spam")

    with SmtpTransport(smtp.smtp(), None) as transport, pytest.raises(PermanentFailure) as excinfo:
        transport.send(SENDER, [OWNER], message(), MID)

    assert excinfo.value.code == 550
    assert "Message rejected as spam" in excinfo.value.message
    assert isinstance(excinfo.value, RuntimeFailure)
    assert excinfo.value.exit_code == 3
    assert smtp.messages == []


def test_one_recipient_refused_for_good_is_permanent_naming_it_and_the_others_got_it(
    smtp: SmtpServer,
) -> None:
    smtp.fail_next("RCPT", 550, address=PM)

    with SmtpTransport(smtp.smtp(), None) as transport, pytest.raises(PermanentFailure) as excinfo:
        transport.send(SENDER, [OWNER, PM], message(), MID)

    failure = excinfo.value
    assert failure.code == 550
    assert list(failure.refused) == [PM]
    assert failure.refused[PM][0] == 550
    assert failure.accepted == (OWNER,)
    assert PM in failure.message
    assert f"sent to {OWNER}" in failure.message
    assert envelopes(smtp) == [(SENDER, (OWNER,), message())]


def test_recipients_refused_temporarily_and_for_good_make_a_temporary_failure(smtp: SmtpServer) -> None:
    """Worth retrying: the 4xx recipient may take it later (the 5xx one is named too)."""
    coordinator = "coordinator@orbiscascade.org"
    smtp.fail_next("RCPT", 550, address=PM)
    smtp.fail_next("RCPT", 451, address=coordinator)

    with SmtpTransport(smtp.smtp(), None) as transport, pytest.raises(TemporaryFailure) as excinfo:
        transport.send(SENDER, [OWNER, PM, coordinator], message(), MID)

    failure = excinfo.value
    assert failure.code == 451
    assert {a: code for a, (code, _) in failure.refused.items()} == {PM: 550, coordinator: 451}
    assert failure.accepted == (OWNER,)
    assert PM in failure.message
    assert coordinator in failure.message
    assert envelopes(smtp) == [(SENDER, (OWNER,), message())]


def test_every_recipient_refused_sends_to_nobody(smtp: SmtpServer) -> None:
    smtp.fail_next("RCPT", 550, times=2)

    with SmtpTransport(smtp.smtp(), None) as transport, pytest.raises(PermanentFailure) as excinfo:
        transport.send(SENDER, [OWNER, PM], message(), MID)

    assert set(excinfo.value.refused) == {OWNER, PM}
    assert excinfo.value.accepted == ()
    assert "sent to nobody" in excinfo.value.message
    assert smtp.messages == []


# --------------------------------------------------------------------------- the network


def test_a_connection_dropped_between_sends_is_reconnected(smtp: SmtpServer) -> None:
    """As after a server's idle timeout: the next send reconnects and the message goes once."""
    second = "<casewatch.second@orbiscascade.org>"

    with SmtpTransport(smtp.smtp(), None) as transport:
        transport.send(SENDER, [OWNER], message(), MID)
        smtp.drop_connections()
        transport.send(SENDER, [OWNER], message(second), second)

    assert [m.data for m in smtp.messages] == [message(), message(second)]
    assert smtp.connections == 2


def test_a_connection_dropped_during_a_send_is_reconnected_once(smtp: SmtpServer) -> None:
    smtp.drop_next("DATA")

    with SmtpTransport(smtp.smtp(), None) as transport:
        transport.send(SENDER, [OWNER], message(), MID)

    assert envelopes(smtp) == [(SENDER, (OWNER,), message())]
    assert smtp.connections == 2


def test_a_connection_dropped_again_after_reconnecting_is_temporary(smtp: SmtpServer) -> None:
    smtp.drop_next("MAIL", times=3)

    with SmtpTransport(smtp.smtp(), None) as transport:
        with pytest.raises(TemporaryFailure) as excinfo:
            transport.send(SENDER, [OWNER], message(), MID)
        assert smtp.connections == 2  # one reconnection, not more
        transport.send(SENDER, [OWNER], message(), MID)  # the third drop, then a fourth connection

    assert excinfo.value.code is None
    assert "closed the connection" in excinfo.value.message
    assert envelopes(smtp) == [(SENDER, (OWNER,), message())]
    assert smtp.connections == 4


def test_connection_refused_is_temporary(closed_port: int) -> None:
    smtp = Smtp(host="127.0.0.1", port=closed_port, security="plain", timeout=5.0)

    with SmtpTransport(smtp, None) as transport, pytest.raises(TemporaryFailure) as excinfo:
        transport.send(SENDER, [OWNER], message(), MID)

    assert excinfo.value.code is None
    assert "refused" in excinfo.value.message.lower()
    assert f"127.0.0.1:{closed_port}" in excinfo.value.message


def test_a_server_that_never_answers_times_out_temporarily_without_a_retry() -> None:
    with SilentServer() as silent:
        smtp = Smtp(host="127.0.0.1", port=silent.port, security="plain", timeout=0.2)
        with SmtpTransport(smtp, None) as transport, pytest.raises(TemporaryFailure) as excinfo:
            transport.send(SENDER, [OWNER], message(), MID)
        connections = silent.pending()

    assert "timed out" in excinfo.value.message
    assert excinfo.value.code is None
    assert connections == 1


# --------------------------------------------------------------------------- AUTH


def test_auth_accepted_sends_as_the_user(smtp: SmtpServer) -> None:
    with SmtpTransport(smtp.smtp(username=smtp.user), smtp.password) as transport:
        transport.send(SENDER, [OWNER], message(), MID)

    assert [(m.login, m.data) for m in smtp.messages] == [(smtp.user, message())]


def test_without_a_username_there_is_no_auth(smtp: SmtpServer) -> None:
    with SmtpTransport(smtp.smtp(), "unused") as transport:
        transport.send(SENDER, [OWNER], message(), MID)

    assert [m.login for m in smtp.messages] == [None]


def test_auth_rejected_is_temporary_not_permanent(smtp: SmtpServer) -> None:
    """A password typo must not lose mail: the message waits and the failure is shown."""
    with SmtpTransport(smtp.smtp(username=smtp.user), "secrte") as transport:
        with pytest.raises(SendFailure) as excinfo:
            transport.send(SENDER, [OWNER], message(), MID)
        assert type(excinfo.value) is TemporaryFailure
        assert excinfo.value.code == 535
        assert smtp.user in excinfo.value.message
        assert "secrte" not in excinfo.value.message
        assert "secrte" not in repr(transport)

    assert smtp.messages == []


def test_a_username_without_a_password_is_temporary_naming_where_the_password_comes_from(
    smtp: SmtpServer,
) -> None:
    with (
        SmtpTransport(smtp.smtp(username=smtp.user), None) as transport,
        pytest.raises(TemporaryFailure) as excinfo,
    ):
        transport.send(SENDER, [OWNER], message(), MID)

    assert "CASEWATCH_SMTP_PASSWORD" in excinfo.value.message
    assert smtp.messages == []


# --------------------------------------------------------------------------- TLS


def test_starttls_encrypts_then_logs_in_and_sends(smtp_tls: SmtpServer) -> None:
    config = smtp_tls.smtp(security="starttls", verify_tls=False, username=smtp_tls.user)

    with SmtpTransport(config, smtp_tls.password) as transport:
        transport.send(SENDER, [OWNER], message(), MID)

    assert [(m.tls, m.login, m.data) for m in smtp_tls.messages] == [(True, smtp_tls.user, message())]


def test_plain_security_sends_without_tls(smtp_tls: SmtpServer) -> None:
    """The server offers STARTTLS: "plain" does not take it."""
    with SmtpTransport(smtp_tls.smtp(security="plain"), None) as transport:
        transport.send(SENDER, [OWNER], message(), MID)

    assert [m.tls for m in smtp_tls.messages] == [False]


def test_implicit_tls_sends(smtp_tls: SmtpServer) -> None:
    config = smtp_tls.smtp(security="tls", port=smtp_tls.tls_port, verify_tls=False)

    with SmtpTransport(config, None) as transport:
        transport.send(SENDER, [OWNER], message(), MID)

    assert [(m.tls, m.data) for m in smtp_tls.messages] == [(True, message())]


def test_an_unverifiable_certificate_is_temporary(smtp_tls: SmtpServer) -> None:
    """verify_tls = true (the default) refuses the self-signed certificate."""
    with (
        SmtpTransport(smtp_tls.smtp(security="starttls"), None) as transport,
        pytest.raises(TemporaryFailure) as excinfo,
    ):
        transport.send(SENDER, [OWNER], message(), MID)

    assert "certificate" in excinfo.value.message.lower()
    assert "STARTTLS" in excinfo.value.message
    assert smtp_tls.messages == []


def test_a_trusted_certificate_is_verified_and_accepted(
    smtp_tls: SmtpServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same certificate, trusted (OpenSSL reads $SSL_CERT_FILE), passes verify_tls = true."""
    assert smtp_tls.cert_file is not None
    monkeypatch.setenv("SSL_CERT_FILE", str(smtp_tls.cert_file))

    for config in (
        smtp_tls.smtp(security="starttls", host="localhost"),
        smtp_tls.smtp(security="tls", port=smtp_tls.tls_port),
    ):
        with SmtpTransport(config, None) as transport:
            transport.send(SENDER, [OWNER], message(), MID)

    assert [m.tls for m in smtp_tls.messages] == [True, True]


def test_a_tls_handshake_failure_is_temporary(smtp_tls: SmtpServer) -> None:
    """Implicit TLS to the port that speaks plain SMTP: the handshake fails."""
    config = smtp_tls.smtp(security="tls", port=smtp_tls.port, verify_tls=False, timeout=5.0)

    with SmtpTransport(config, None) as transport, pytest.raises(TemporaryFailure) as excinfo:
        transport.send(SENDER, [OWNER], message(), MID)

    assert excinfo.value.code is None
    assert "SSL" in excinfo.value.message
    assert smtp_tls.messages == []


# --------------------------------------------------------------------------- configuration


@pytest.mark.parametrize(
    "host", ["smtp.example.org", "10.0.0.25", "::ffff:10.0.0.25", "localhost.example.org"]
)
def test_plain_to_a_host_that_is_not_loopback_is_a_config_error_naming_smtp_security(host: str) -> None:
    with pytest.raises(ConfigError) as excinfo:
        SmtpTransport(Smtp(host=host, security="plain"), "pw")

    assert [p.key for p in excinfo.value.problems] == ["smtp.security"]
    assert excinfo.value.exit_code == 2


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1", "127.0.0.53", "::1"])
def test_plain_to_a_loopback_host_is_allowed(host: str) -> None:
    assert SmtpTransport(Smtp(host=host, security="plain"), None).port == 25


@pytest.mark.parametrize(
    ("security", "port", "expected"),
    [("tls", 0, 465), ("starttls", 0, 587), ("plain", 0, 25), ("starttls", 2525, 2525)],
)
def test_port_0_means_the_usual_port_of_the_security(security: str, port: int, expected: int) -> None:
    assert SmtpTransport(Smtp(host="localhost", port=port, security=security), None).port == expected


def test_unknown_security_is_a_config_error() -> None:
    with pytest.raises(ConfigError) as excinfo:
        SmtpTransport(Smtp(security="ssl"), None)

    assert [p.key for p in excinfo.value.problems] == ["smtp.security"]


def test_transport_for_file_writes_into_the_outbound_folder(tmp_path: Path) -> None:
    config = Config(outbound=Outbound(transport="file", folder=str(tmp_path / "outbox")))

    with transport_for(config) as transport:
        transport.send(SENDER, [OWNER], message(), MID)

    assert [p.read_bytes() for p in (tmp_path / "outbox").iterdir()] == [message()]


def test_transport_for_smtp_logs_in_with_the_password_from_the_environment(
    smtp: SmtpServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CASEWATCH_TEST_SMTP_PASSWORD", smtp.password)
    config = Config(
        outbound=Outbound(transport="smtp"),
        smtp=smtp.smtp(username=smtp.user, password_env="CASEWATCH_TEST_SMTP_PASSWORD"),
    )

    with transport_for(config) as transport:
        transport.send(SENDER, [OWNER], message(), MID)

    assert [m.login for m in smtp.messages] == [smtp.user]


def test_transport_for_smtp_reads_a_password_command(smtp: SmtpServer) -> None:
    config = Config(
        outbound=Outbound(transport="smtp"),
        smtp=smtp.smtp(username=smtp.user, password_command=f"echo {smtp.password}"),
    )

    with transport_for(config) as transport:
        transport.send(SENDER, [OWNER], message(), MID)

    assert [m.login for m in smtp.messages] == [smtp.user]


def test_transport_for_smtp_with_a_failing_password_command_is_a_config_error() -> None:
    config = Config(outbound=Outbound(transport="smtp"), smtp=Smtp(username="u", password_command="false"))

    with pytest.raises(ConfigError) as excinfo:
        transport_for(config)

    assert [p.key for p in excinfo.value.problems] == ["smtp.password_command"]


# --------------------------------------------------------------------------- the file transport


def test_file_transport_writes_the_bytes_to_a_file_named_after_the_message_id(tmp_path: Path) -> None:
    folder = tmp_path / "state" / "outbox"  # created on the first send

    with FileTransport(folder) as transport:
        transport.send(SENDER, [OWNER], message(), MID)

    assert sorted(p.name for p in folder.iterdir()) == ["casewatch.0123456789abcdef@orbiscascade.org.eml"]
    assert (folder / "casewatch.0123456789abcdef@orbiscascade.org.eml").read_bytes() == message()


def test_file_transport_writes_one_file_per_message_id_and_overwrites_on_resend(tmp_path: Path) -> None:
    other = "<casewatch.other@orbiscascade.org>"

    with FileTransport(tmp_path) as transport:
        transport.send(SENDER, [OWNER], message(body="first"), MID)
        transport.send(SENDER, [OWNER], message(other), other)
        transport.send(SENDER, [OWNER], message(body="second"), MID)

    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "casewatch.0123456789abcdef@orbiscascade.org.eml",
        "casewatch.other@orbiscascade.org.eml",
    ]
    assert (tmp_path / file_name(MID)).read_bytes() == message(body="second")


def test_file_transport_replaces_the_file_atomically(tmp_path: Path) -> None:
    """A reader that opened the old file still reads all of it: a new file was renamed
    over the name, the old one was not rewritten in place. No temporary file is left."""
    transport = FileTransport(tmp_path)
    transport.send(SENDER, [OWNER], message(body="first"), MID)
    path = transport.path_of(MID)
    old_inode = path.stat().st_ino

    with path.open("rb") as reader:
        transport.send(SENDER, [OWNER], message(body="second"), MID)
        seen_by_the_reader = reader.read()

    assert seen_by_the_reader == message(body="first")
    assert path.read_bytes() == message(body="second")
    assert path.stat().st_ino != old_inode
    assert os.listdir(tmp_path) == [path.name]


def test_file_transport_into_an_unwritable_folder_is_temporary(tmp_path: Path) -> None:
    """A folder that cannot be made (a file stands in its path): kept, retried, shown."""
    (tmp_path / "state").write_text("not a folder")

    with (
        FileTransport(tmp_path / "state" / "outbox") as transport,
        pytest.raises(TemporaryFailure) as excinfo,
    ):
        transport.send(SENDER, [OWNER], message(), MID)

    assert excinfo.value.code is None
    assert MID in excinfo.value.message


def test_file_transport_that_cannot_replace_the_file_is_temporary_and_leaves_no_temporary_file(
    tmp_path: Path,
) -> None:
    (tmp_path / file_name(MID)).mkdir()  # a folder where the file should go

    with FileTransport(tmp_path) as transport, pytest.raises(TemporaryFailure):
        transport.send(SENDER, [OWNER], message(), MID)

    assert os.listdir(tmp_path) == [file_name(MID)]


@pytest.mark.parametrize(
    ("message_id", "name"),
    [
        ("<casewatch.0a1b@orbiscascade.org>", "casewatch.0a1b@orbiscascade.org.eml"),
        ("casewatch.0a1b@orbiscascade.org", "casewatch.0a1b@orbiscascade.org.eml"),
        ("  <casewatch.0a1b@orbiscascade.org>\r\n", "casewatch.0a1b@orbiscascade.org.eml"),
        ("<a+b=c-d@x.org>", "a+b=c-d@x.org.eml"),
    ],
)
def test_file_name_of_a_plain_message_id_is_the_id(message_id: str, name: str) -> None:
    assert file_name(message_id) == name


@pytest.mark.parametrize(
    "message_id",
    ["<../../etc/passwd>", "<a/b@x>", "<.hidden@x>", "<CAPS@X.ORG>", "<a b@x>", "<" + "x" * 300 + "@x>"],
)
def test_file_name_of_any_other_message_id_is_safe_and_hashed(message_id: str) -> None:
    name = file_name(message_id)

    assert "/" not in name
    assert "\\" not in name
    assert " " not in name
    assert not name.startswith(".")
    assert name.endswith(".eml")
    assert len(name) <= 150
    assert file_name(message_id) == name  # the same ID, the same name


def test_file_names_differ_when_ids_differ_even_only_by_case_or_by_unsafe_characters() -> None:
    ids = ["<a/b@x>", "<a_b@x>", "<a b@x>", "<ab@x>", "<AB@x>", "<Ab@x>"]

    names = [file_name(mid).lower() for mid in ids]

    assert len(set(names)) == len(ids)


def test_a_message_without_a_message_id_is_refused() -> None:
    with pytest.raises(ValueError, match="Message-ID"):
        file_name(" <> ")


def test_sending_to_no_recipient_is_a_bug(smtp: SmtpServer) -> None:
    with SmtpTransport(smtp.smtp(), None) as transport, pytest.raises(ValueError, match="no recipients"):
        transport.send(SENDER, [], message(), MID)

    assert smtp.connections == 0


def test_failures_carry_a_code_and_a_one_line_message() -> None:
    failure = TemporaryFailure("SMTP x:25: 451 4.3.0 first line\n  second line", 451)

    assert (failure.code, failure.message, str(failure)) == (
        451,
        "SMTP x:25: 451 4.3.0 first line second line",
        "SMTP x:25: 451 4.3.0 first line second line",
    )
