"""The IMAP source against a real Dovecot (tests/dovecot.py), and its bisection."""

from __future__ import annotations

import logging
import socket
import time
import traceback
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta, timezone

import pytest
from dovecot import CuttingProxy, Dovecot

from daemon.config import Mailbox
from daemon.errors import RuntimeFailure
from daemon.model import Batch, Cursor
from daemon.sources.imap import (
    Fetched,
    FetchRefused,
    ImapSource,
    MailboxError,
    fetch_with_bisect,
    is_loopback,
)

PST = timezone(timedelta(hours=-8))
IST = timezone(timedelta(hours=5, minutes=30))


def message(n: int, size: int = 0) -> bytes:
    """A distinct message; ``size`` pads its body with lines up to about that many bytes."""
    body = b"".join(b"line %d of message %d\r\n" % (i, n) for i in range(size // 24))
    return (
        b"From: Vendor Support <support@exlibrisgroup.com>\r\n"
        b"To: casewatch@orbiscascade.org\r\n"
        b"Subject: Case 0071234%d has been updated\r\n"
        b"Message-ID: <m%d@example.test>\r\n"
        b"Content-Type: text/plain; charset=utf-8\r\n"
        b"Content-Transfer-Encoding: 8bit\r\n"
        b"\r\n"
        b"Message %d, caf\xc3\xa9 \xe2\x80\x94 tab\there.\r\n" % (n, n, n) + body
    )


def scan_all(dovecot: Dovecot, folder: str, cursor: Cursor | None = None, **mailbox: object) -> list[Batch]:
    with ImapSource(dovecot.mailbox(**mailbox), dovecot.password) as source:
        return list(source.scan(folder, cursor))


def uids_of(batches: list[Batch]) -> list[list[int | None]]:
    return [[m.uid for m in b.messages] for b in batches]


# --------------------------------------------------------------------------- scanning


@pytest.mark.imap
def test_empty_folder_yields_nothing(dovecot: Dovecot, imap_folder: str) -> None:
    assert scan_all(dovecot, imap_folder) == []
    assert scan_all(dovecot, imap_folder, Cursor(imap_folder, 1, 0)) == []


@pytest.mark.imap
def test_messages_come_back_byte_exact_in_uid_order_in_batches(dovecot: Dovecot, imap_folder: str) -> None:
    dates = [
        datetime(2024, 3, 1, 9, 0, 0, tzinfo=PST),
        datetime(2024, 3, 1, 8, 0, 0, tzinfo=IST),
        datetime(2024, 3, 2, 23, 59, 59, tzinfo=UTC),
        datetime(2023, 12, 31, 23, 0, 0, tzinfo=PST),
        datetime(2024, 7, 4, 12, 30, 0, tzinfo=IST),
    ]
    raws = [message(n) for n in range(5)]
    for raw, when in zip(raws, dates, strict=True):
        dovecot.append(imap_folder, raw, internaldate=when)
    uidvalidity = dovecot.uidvalidity(imap_folder)

    batches = scan_all(dovecot, imap_folder, batch_size=2)

    assert uids_of(batches) == [[1, 2], [3, 4], [5]]
    assert [b.cursor for b in batches] == [
        Cursor(imap_folder, uidvalidity, 2),
        Cursor(imap_folder, uidvalidity, 4),
        Cursor(imap_folder, uidvalidity, 5),
    ]
    got = [m for b in batches for m in b.messages]
    assert [m.data for m in got] == raws
    assert [m.origin for m in got] == [f"imap:{imap_folder}:{n}" for n in range(1, 6)]
    assert {m.folder for m in got} == {imap_folder}
    for m, when in zip(got, dates, strict=True):
        assert m.internaldate is not None
        assert m.internaldate.utcoffset() is not None
        assert m.internaldate == when
    assert all(b.failures == () for b in batches)


@pytest.fixture
def local_timezone(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """This process's local time zone set to UTC+05:30 (what a naive time would be read in)."""
    monkeypatch.setenv("TZ", "Asia/Kolkata")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.mark.imap
@pytest.mark.usefixtures("local_timezone")
def test_internaldate_is_the_right_instant_whatever_the_local_zone(
    dovecot: Dovecot, imap_folder: str
) -> None:
    when = datetime(2024, 2, 29, 23, 30, 0, tzinfo=PST)  # 2024-03-01 07:30 UTC
    dovecot.append(imap_folder, message(1), internaldate=when)
    [batch] = scan_all(dovecot, imap_folder)
    [m] = batch.messages
    assert m.internaldate is not None
    assert m.internaldate.astimezone(UTC) == datetime(2024, 3, 1, 7, 30, tzinfo=UTC)


@pytest.mark.imap
def test_cursor_at_the_highest_uid_yields_nothing(dovecot: Dovecot, imap_folder: str) -> None:
    for n in range(3):
        dovecot.append(imap_folder, message(n))
    uidvalidity = dovecot.uidvalidity(imap_folder)
    # "UID SEARCH UID 4:*" answers 3: the source must not hand UID 3 over again.
    assert scan_all(dovecot, imap_folder, Cursor(imap_folder, uidvalidity, 3)) == []
    assert scan_all(dovecot, imap_folder, Cursor(imap_folder, uidvalidity, 10)) == []


@pytest.mark.imap
def test_cursor_in_the_middle_yields_only_the_later_messages(dovecot: Dovecot, imap_folder: str) -> None:
    raws = [message(n) for n in range(4)]
    for raw in raws:
        dovecot.append(imap_folder, raw)
    uidvalidity = dovecot.uidvalidity(imap_folder)

    batches = scan_all(dovecot, imap_folder, Cursor(imap_folder, uidvalidity, 2), batch_size=50)

    assert uids_of(batches) == [[3, 4]]
    assert [m.data for m in batches[0].messages] == raws[2:]
    assert batches[0].cursor == Cursor(imap_folder, uidvalidity, 4)


@pytest.mark.imap
def test_new_uidvalidity_makes_the_scan_start_over(
    dovecot: Dovecot, imap_folder: str, caplog: pytest.LogCaptureFixture
) -> None:
    raws = [message(n) for n in range(3)]
    for raw in raws:
        dovecot.append(imap_folder, raw)
    [first] = scan_all(dovecot, imap_folder)
    assert first.cursor is not None
    old = first.cursor.uidvalidity
    assert first.cursor == Cursor(imap_folder, old, 3)

    new = dovecot.reset_uidvalidity(imap_folder)
    assert new != old
    with caplog.at_level(logging.WARNING, logger="casewatch.sources.imap"):
        batches = scan_all(dovecot, imap_folder, first.cursor)

    assert uids_of(batches) == [[1, 2, 3]]
    assert [m.data for m in batches[0].messages] == raws
    assert batches[0].cursor == Cursor(imap_folder, new, 3)
    assert f"UIDVALIDITY changed from {old} to {new}" in caplog.text


@pytest.mark.imap
def test_scan_changes_no_flag_and_removes_nothing(dovecot: Dovecot, imap_folder: str) -> None:
    dovecot.append(imap_folder, message(1))
    dovecot.append(imap_folder, message(2), flags=(b"\\Flagged",))
    dovecot.append(imap_folder, message(3))

    batches = scan_all(dovecot, imap_folder, batch_size=1)

    assert uids_of(batches) == [[1], [2], [3]]
    flags = dovecot.flags(imap_folder)
    assert sorted(flags) == [1, 2, 3]
    assert not any(b"\\Seen" in f for f in flags.values())
    assert not any(b"\\Deleted" in f for f in flags.values())
    assert b"\\Flagged" in flags[2]


@pytest.mark.imap
def test_a_message_that_vanishes_during_the_scan_becomes_a_failure(
    dovecot: Dovecot, imap_folder: str
) -> None:
    raws = [message(n) for n in range(5)]
    for raw in raws:
        dovecot.append(imap_folder, raw)
    uidvalidity = dovecot.uidvalidity(imap_folder)

    with ImapSource(dovecot.mailbox(batch_size=2, fetch_retries=1), dovecot.password) as source:
        scan = source.scan(imap_folder, None)
        first = next(scan)
        # Listed by the SEARCH, gone before its FETCH: Dovecot answers it without a body.
        dovecot.remove_message_file(imap_folder, 4)
        rest = list(scan)

    assert uids_of([first, *rest]) == [[1, 2], [3], [5]]
    assert [m.data for b in (first, *rest) for m in b.messages] == [*raws[:3], raws[4]]
    assert first.failures == ()
    assert [(f.origin, f.folder, f.uid) for f in rest[0].failures] == [
        (f"imap:{imap_folder}:4", imap_folder, 4)
    ]
    assert "did not contain" in rest[0].failures[0].reason
    assert rest[1].failures == ()
    assert [b.cursor for b in rest] == [
        Cursor(imap_folder, uidvalidity, 4),
        Cursor(imap_folder, uidvalidity, 5),
    ]


@pytest.mark.imap
def test_a_message_dovecot_cannot_open_ends_the_connection(dovecot: Dovecot, imap_folder: str) -> None:
    """Dovecot answers an unreadable message file with BYE, not NO: a MailboxError.

    Known limitation: the next poll stops at the same message again.
    """
    for n in range(3):
        dovecot.append(imap_folder, message(n))
    dovecot.make_message_unreadable(imap_folder, 2)
    with pytest.raises(MailboxError, match=r"fetching from folder .*Internal error"):
        scan_all(dovecot, imap_folder)


@pytest.mark.imap
def test_socket_has_a_timeout_and_keepalive(dovecot: Dovecot) -> None:
    with ImapSource(dovecot.mailbox(timeout=7.5), dovecot.password) as source:
        sock = source._client.socket()
        assert sock.gettimeout() == 7.5
        assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE) != 0


@pytest.mark.imap
def test_cursor_of_another_folder_is_a_bug(dovecot: Dovecot, imap_folder: str) -> None:
    with (
        ImapSource(dovecot.mailbox(), dovecot.password) as source,
        pytest.raises(ValueError, match="cursor of folder 'INBOX'"),
    ):
        list(source.scan(imap_folder, Cursor("INBOX", 1, 1)))


# --------------------------------------------------------------------------- failures


@pytest.mark.imap
def test_wrong_password_is_a_mailbox_error_that_never_shows_the_password(
    dovecot: Dovecot, caplog: pytest.LogCaptureFixture
) -> None:
    wrong = "Wr0ng-passw0rd-4711"
    source = ImapSource(dovecot.mailbox(), wrong)
    with caplog.at_level(logging.DEBUG), pytest.raises(MailboxError) as excinfo:
        source.__enter__()

    error = excinfo.value
    assert isinstance(error, RuntimeFailure)
    assert error.exit_code == 3
    text = str(error)
    assert f"127.0.0.1:{dovecot.port}" in text
    assert "login as 'casewatch' failed" in text
    assert "AUTHENTICATIONFAILED" in text
    assert wrong not in "".join(traceback.format_exception(error))
    assert wrong not in caplog.text
    assert wrong not in repr(source)


@pytest.mark.parametrize("host", ["imap.example.org", "192.0.2.10", "10.1.2.3", "::2"])
def test_plain_security_to_a_non_loopback_host_is_refused(host: str) -> None:
    mailbox = Mailbox(host=host, security="plain", username="u", timeout=0.5)
    with pytest.raises(MailboxError, match="only allowed to a loopback address"):
        ImapSource(mailbox, "pw").__enter__()


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.3.2.1", True),
        ("::1", True),
        ("[::1]", True),
        ("localhost", True),
        ("LocalHost.", True),
        ("10.0.0.1", False),
        ("localhost.example.org", False),
        ("imap.example.org", False),
        ("", False),
    ],
)
def test_is_loopback(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


@pytest.mark.imap
def test_connection_cut_in_the_middle_of_a_fetch_is_a_mailbox_error(
    dovecot: Dovecot, imap_folder: str
) -> None:
    raws = [message(n, size=4000) for n in range(6)]
    for raw in raws:
        dovecot.append(imap_folder, raw)
    with CuttingProxy(dovecot.port) as proxy:
        mailbox = dovecot.mailbox(port=proxy.port, batch_size=2)
        with ImapSource(mailbox, dovecot.password) as source:
            scan = source.scan(imap_folder, None)
            first = next(scan)
            assert [m.data for m in first.messages] == raws[:2]
            proxy.cut_after(3000)  # less than one message: cut inside the FETCH answer
            with pytest.raises(MailboxError, match="fetching from folder") as excinfo:
                next(scan)
        assert "socket error" in str(excinfo.value) or "EOF" in str(excinfo.value)
        assert proxy.connections == 1

    # The caller reconnects and resumes from the cursor it committed.
    batches = scan_all(dovecot, imap_folder, first.cursor, batch_size=2)
    assert uids_of(batches) == [[3, 4], [5, 6]]
    assert [m.data for b in batches for m in b.messages] == raws[2:]


@pytest.mark.imap
def test_connection_cut_before_the_scan_is_a_mailbox_error(dovecot: Dovecot, imap_folder: str) -> None:
    dovecot.append(imap_folder, message(1))
    with (
        CuttingProxy(dovecot.port) as proxy,
        ImapSource(dovecot.mailbox(port=proxy.port), dovecot.password) as source,
    ):
        proxy.cut()
        with pytest.raises(MailboxError, match=f"reading folder '{imap_folder}'"):
            list(source.scan(imap_folder, None))


@pytest.mark.imap
def test_nothing_listening_is_a_mailbox_error() -> None:
    with socket.create_server(("127.0.0.1", 0)) as s:
        port = s.getsockname()[1]
    mailbox = Mailbox(host="127.0.0.1", port=port, security="plain", username="u", timeout=5)
    with pytest.raises(MailboxError, match=f"IMAP 127.0.0.1:{port}: connect failed"):
        ImapSource(mailbox, "pw").__enter__()


def test_a_server_that_never_greets_times_out() -> None:
    with socket.create_server(("127.0.0.1", 0)) as silent:  # the kernel accepts, nobody speaks
        port = silent.getsockname()[1]
        mailbox = Mailbox(host="127.0.0.1", port=port, security="plain", username="u", timeout=0.3)
        with pytest.raises(MailboxError, match=f"IMAP 127.0.0.1:{port}: connect failed: timed out"):
            ImapSource(mailbox, "pw").__enter__()


# --------------------------------------------------------------------------- TLS


@pytest.mark.imap
def test_implicit_tls_without_verification(dovecot_tls: Dovecot, imap_folder: str) -> None:
    mailbox = dovecot_tls.mailbox(security="tls", port=dovecot_tls.tls_port, verify_tls=False)
    with ImapSource(mailbox, dovecot_tls.password) as source:
        assert source._client.socket().version() in ("TLSv1.2", "TLSv1.3")
        assert list(source.scan("INBOX", None)) == []


@pytest.mark.imap
@pytest.mark.parametrize("security", ["tls", "starttls"])
def test_tls_is_verified_by_default(dovecot_tls: Dovecot, security: str) -> None:
    port = dovecot_tls.tls_port if security == "tls" else dovecot_tls.port
    mailbox = dovecot_tls.mailbox(security=security, port=port)
    assert mailbox.verify_tls is True
    with pytest.raises(MailboxError, match="certificate verify failed"):
        ImapSource(mailbox, dovecot_tls.password).__enter__()


@pytest.mark.imap
@pytest.mark.parametrize("security", ["tls", "starttls"])
def test_tls_verified_against_a_trusted_certificate(
    dovecot_tls: Dovecot, security: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", str(dovecot_tls.cert_file))
    port = dovecot_tls.tls_port if security == "tls" else dovecot_tls.port
    mailbox = dovecot_tls.mailbox(security=security, port=port, host="localhost")
    with ImapSource(mailbox, dovecot_tls.password) as source:
        assert source._client.socket().version() in ("TLSv1.2", "TLSv1.3")


@pytest.mark.imap
def test_starttls_to_a_server_without_it_is_a_mailbox_error(dovecot: Dovecot) -> None:
    mailbox = dovecot.mailbox(security="starttls", verify_tls=False)
    with pytest.raises(MailboxError, match="STARTTLS failed"):
        ImapSource(mailbox, dovecot.password).__enter__()


@pytest.mark.imap
def test_implicit_tls_to_a_plain_port_is_a_mailbox_error(dovecot: Dovecot) -> None:
    mailbox = dovecot.mailbox(security="tls", verify_tls=False)
    with pytest.raises(MailboxError, match="connect failed"):
        ImapSource(mailbox, dovecot.password).__enter__()


# --------------------------------------------------------------------------- bisection

WHEN = datetime(2024, 1, 1, tzinfo=UTC)


class FlakyServer:
    """A plain stand-in for FETCH: fails for chosen UIDs, records every request.

    ``mode="refuse"``: a request containing a bad UID fails as a whole (a NO);
    ``mode="omit"``: the bad UIDs are left out of the answer. ``transient`` maps a
    UID to how many requests containing it fail before it is served.
    """

    def __init__(
        self, bad: set[int], mode: str = "refuse", transient: Mapping[int, int] | None = None
    ) -> None:
        self.bad = bad
        self.mode = mode
        self.transient = dict(transient or {})
        self.requests: list[list[int]] = []

    def _fails(self, uid: int) -> bool:
        if uid in self.bad:
            return True
        if self.transient.get(uid, 0) > 0:
            self.transient[uid] -= 1
            return True
        return False

    def __call__(self, uids: list[int]) -> dict[int, Fetched]:
        self.requests.append(uids)
        failing = {uid for uid in uids if self._fails(uid)}
        if failing and self.mode == "refuse":
            raise FetchRefused("NO [SERVERBUG] Internal error")
        return {uid: (b"message %d" % uid, WHEN) for uid in uids if uid not in failing}


ALL = list(range(1, 9))


@pytest.mark.parametrize("mode", ["refuse", "omit"])
@pytest.mark.parametrize(
    ("bad", "expected_failures"),
    [
        (set(), []),
        ({1}, [1]),
        ({8}, [8]),
        ({3, 6}, [3, 6]),
        ({4, 5}, [4, 5]),
        (set(ALL), ALL),
    ],
    ids=["none-bad", "first-bad", "last-bad", "two-bad", "two-adjacent-bad", "all-bad"],
)
def test_bisection_isolates_the_bad_uids(mode: str, bad: set[int], expected_failures: list[int]) -> None:
    server = FlakyServer(bad, mode)
    found, failures = fetch_with_bisect(ALL, server, retries=2)
    assert sorted(failures) == expected_failures
    assert sorted(found) == [uid for uid in ALL if uid not in bad]
    assert all(found[uid] == (b"message %d" % uid, WHEN) for uid in found)
    expected_reason = "FETCH refused: NO [SERVERBUG]" if mode == "refuse" else "did not contain"
    assert all(expected_reason in reason for reason in failures.values())
    # A bad UID is given up only after 1 + retries requests, the last one for it alone.
    for uid in expected_failures:
        asked = [r for r in server.requests if uid in r]
        assert len(asked) >= 3
        assert asked[-1] == [uid]


def test_bisection_requests_in_order_when_refused() -> None:
    server = FlakyServer({4}, "refuse")
    found, failures = fetch_with_bisect([1, 2, 3, 4], server, retries=1)
    assert sorted(found) == [1, 2, 3]
    assert list(failures) == [4]
    assert server.requests == [
        [1, 2, 3, 4],
        [1, 2, 3, 4],
        [1, 2],
        [3, 4],
        [3, 4],
        [3],
        [4],
        [4],
    ]


def test_bisection_asks_again_only_for_what_was_omitted() -> None:
    server = FlakyServer({3}, "omit")
    found, failures = fetch_with_bisect([1, 2, 3, 4, 5], server, retries=2)
    assert sorted(found) == [1, 2, 4, 5]
    assert list(failures) == [3]
    assert server.requests == [[1, 2, 3, 4, 5], [3], [3]]


@pytest.mark.parametrize("mode", ["refuse", "omit"])
def test_a_transient_failure_succeeds_on_retry(mode: str) -> None:
    server = FlakyServer(set(), mode, transient={5: 1})
    found, failures = fetch_with_bisect(ALL, server, retries=1)
    assert failures == {}
    assert sorted(found) == ALL
    expected = [ALL, ALL] if mode == "refuse" else [ALL, [5]]
    assert server.requests == expected


def test_a_failure_outlasting_the_retries_is_bisected_and_then_recovers() -> None:
    server = FlakyServer(set(), "refuse", transient={2: 2})
    found, failures = fetch_with_bisect([1, 2, 3, 4], server, retries=1)
    assert failures == {}
    assert sorted(found) == [1, 2, 3, 4]
    assert server.requests == [[1, 2, 3, 4], [1, 2, 3, 4], [1, 2], [3, 4]]


def test_no_retries_means_one_attempt_per_request() -> None:
    server = FlakyServer({2}, "refuse")
    found, failures = fetch_with_bisect([1, 2], server, retries=0)
    assert sorted(found) == [1]
    assert list(failures) == [2]
    assert server.requests == [[1, 2], [1], [2]]


def test_bisection_sorts_and_dedupes_and_does_nothing_for_no_uids() -> None:
    server = FlakyServer(set())
    assert fetch_with_bisect([], server, retries=2) == ({}, {})
    assert server.requests == []
    found, _ = fetch_with_bisect([3, 1, 2, 3], server, retries=2)
    assert sorted(found) == [1, 2, 3]
    assert server.requests == [[1, 2, 3]]


def test_other_errors_are_not_bisected_but_propagate() -> None:
    requests: list[list[int]] = []

    def broken(uids: list[int]) -> dict[int, Fetched]:
        requests.append(uids)
        raise ConnectionResetError("peer reset")

    with pytest.raises(ConnectionResetError):
        fetch_with_bisect([1, 2, 3], broken, retries=2)
    assert requests == [[1, 2, 3]]


def test_source_without_connection_refuses_to_scan() -> None:
    source = ImapSource(Mailbox(host="127.0.0.1", security="plain"), "pw")
    with pytest.raises(RuntimeError, match="outside its with block"):
        next(source.scan("INBOX", None))


def test_missing_password_or_host_is_a_mailbox_error() -> None:
    with pytest.raises(MailboxError, match="no password"):
        ImapSource(Mailbox(host="127.0.0.1", security="plain", username="u"), None).__enter__()
    with pytest.raises(MailboxError, match="no host"):
        ImapSource(Mailbox(), "pw").__enter__()


def test_default_ports() -> None:
    assert ImapSource(Mailbox(host="h", security="tls"), "pw").port == 993
    assert ImapSource(Mailbox(host="h", security="starttls"), "pw").port == 143
    assert ImapSource(Mailbox(host="h", security="plain"), "pw").port == 143
    assert ImapSource(Mailbox(host="h", security="tls", port=1993), "pw").port == 1993
