"""The IMAP source: reads the new messages of a folder, by UID, and changes nothing.

An adapter that only moves bytes. ``ImapSource.scan`` selects a folder read-only,
asks for the UIDs above the caller's cursor and fetches them with ``BODY.PEEK[]``
in chunks, one ``Batch`` per chunk; the caller stores each batch together with its
cursor. Nothing is ever flagged, moved, deleted or expunged.

A message the server refuses to hand over (FETCH answered NO, or a UID missing
from the answer) does not block the others: the chunk is retried, then bisected
down to the bad UIDs, which are reported as ``FetchFailure`` values. A broken
connection is a ``MailboxError``; the caller reconnects and resumes from the
cursor it committed last.
"""

from __future__ import annotations

import ast
import contextlib
import ipaddress
import logging
import re
import socket
import ssl
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime, timezone
from types import TracebackType
from typing import Any

from imapclient import IMAPClient
from imapclient.exceptions import LoginError

from daemon.config import Mailbox, no_password
from daemon.errors import RuntimeFailure
from daemon.model import Batch, Cursor, FetchFailure, RawMessage

log = logging.getLogger(__name__.replace("daemon", "casewatch", 1))  # one namespace: casewatch.*

#: The bytes of a message and its INTERNALDATE (timezone-aware).
Fetched = tuple[bytes, datetime]

DEFAULT_PORTS = {"tls": 993, "starttls": 143, "plain": 143}
FETCH_ITEMS = ("BODY.PEEK[]", "INTERNALDATE")
MISSING = "the server's FETCH answer did not contain this message"


class MailboxError(RuntimeFailure):
    """Connecting to, logging in to or talking with the IMAP server failed."""


class FetchRefused(Exception):
    """The server refused a FETCH (answered NO/BAD); the connection is still usable."""


_BYTES_REPR = re.compile(r"""\[?(?<!\w)b(?:'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")\]?""")


def server_text(exc: BaseException) -> str:
    """What the server said, as text: imapclient and imaplib carry it as bytes (``b'[...]'``)."""
    parts = [a.decode("utf-8", "replace") if isinstance(a, bytes) else str(a) for a in exc.args]
    text = " ".join(p for p in parts if p) or type(exc).__name__

    def plain(m: re.Match[str]) -> str:
        try:
            value = ast.literal_eval(m.group(0).strip("[]"))
        except (ValueError, SyntaxError):
            return m.group(0)
        return value.decode("utf-8", "replace") if isinstance(value, bytes) else m.group(0)

    return _BYTES_REPR.sub(plain, text).strip()


def fetch_with_bisect(
    uids: Sequence[int],
    fetch: Callable[[list[int]], Mapping[int, Fetched]],
    retries: int,
) -> tuple[dict[int, Fetched], dict[int, str]]:
    """Fetch ``uids``, isolating the ones that cannot be fetched.

    ``fetch`` returns what it got, by UID, and raises ``FetchRefused`` when the
    server refuses the whole request; any other exception propagates. Every request
    (the whole set, a half, a single UID) is tried ``1 + retries`` times; a UID
    answered in any attempt is kept, and the next attempt asks only for the rest.
    A set still incomplete after that is split in two halves, each fetched the same
    way, until single UIDs remain: those are the failures.

    Returns ``(found, failures)``: UID -> (bytes, internaldate), UID -> reason.
    """
    found: dict[int, Fetched] = {}
    failures: dict[int, str] = {}
    pending = [sorted(set(uids))] if uids else []
    while pending:
        chunk = pending.pop()
        reason = MISSING
        for _attempt in range(1 + max(0, retries)):
            try:
                got = fetch(list(chunk))
            except FetchRefused as e:
                reason = f"FETCH refused: {e}"
                continue
            found.update((uid, got[uid]) for uid in chunk if uid in got)
            chunk = [uid for uid in chunk if uid not in got]
            if not chunk:
                break
            reason = MISSING
        if not chunk:
            continue
        if len(chunk) == 1:
            failures[chunk[0]] = reason
            continue
        middle = len(chunk) // 2
        pending += [chunk[middle:], chunk[:middle]]  # the lower half is popped first
    return found, failures


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and for literal loopback addresses (127.0.0.0/8, ::1)."""
    name = host.strip().rstrip(".").lower()
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name.strip("[]")).is_loopback
    except ValueError:
        return False


def _aware(when: datetime) -> datetime:
    """An INTERNALDATE as an aware datetime with a plain ``timezone`` offset."""
    offset = when.utcoffset()
    if offset is None:  # imapclient normalises to naive local time; not with our settings
        return when.astimezone()
    return when.replace(tzinfo=timezone(offset))


class ImapSource:
    """One logged-in connection to the mailbox; use it as a context manager.

    With ``token`` (an OAuth 2 access token) it logs in with SASL XOAUTH2, else with
    ``password``. Both are kept only to log in and never appear in a message or repr.
    """

    def __init__(self, mailbox: Mailbox, password: str | None, token: str | None = None) -> None:
        self.mailbox = mailbox
        self._password = password
        self._token = token
        self._client: Any = None
        self._broken = False  # the connection failed: close it without a LOGOUT
        self.port = mailbox.port or DEFAULT_PORTS.get(mailbox.security, 993)

    def __repr__(self) -> str:
        return f"ImapSource({self.mailbox.host}:{self.port}, {self.mailbox.security})"

    def __enter__(self) -> ImapSource:
        self.connect()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _error(self, what: str, cause: BaseException | str) -> MailboxError:
        said = server_text(cause) if isinstance(cause, IMAPClient.Error) else cause
        return MailboxError(f"IMAP {self.mailbox.host}:{self.port}: {what} failed: {said}")

    def _ssl_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context()
        if not self.mailbox.verify_tls:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        return context

    def connect(self) -> None:
        """Connect (TLS, STARTTLS or, to loopback only, plain) and log in."""
        mb = self.mailbox
        if not mb.host:
            raise MailboxError("IMAP: no host configured ([mailbox] host)")
        if mb.security not in DEFAULT_PORTS:
            raise self._error("connect", f"unknown security {mb.security!r}")
        if mb.security == "plain" and not is_loopback(mb.host):
            raise self._error(
                "connect",
                'security "plain" would send the password in clear text; it is only '
                'allowed to a loopback address (use "tls" or "starttls")',
            )
        if self._password is None and self._token is None:
            raise self._error(f"login as {mb.username!r}", no_password("mailbox", mb.password_env))
        context = None if mb.security == "plain" else self._ssl_context()
        client: Any = None
        step = "connect"
        try:
            client = IMAPClient(
                mb.host,
                port=self.port,
                ssl=mb.security == "tls",
                ssl_context=context,
                timeout=mb.timeout,
            )
            client.normalise_times = False  # keep INTERNALDATE's own offset
            client.socket().setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
            if mb.security == "starttls":
                step = "STARTTLS"
                client.starttls(context)
            if self._token is not None:
                step = f"XOAUTH2 login as {mb.username!r}"
                if not client.has_capability("AUTH=XOAUTH2"):
                    raise IMAPClient.Error("the server does not offer AUTH=XOAUTH2 (OAuth 2)")
                client.oauth2_login(mb.username, self._token)
            else:
                step = f"login as {mb.username!r}"
                client.login(mb.username, self._password)
        except (IMAPClient.Error, OSError) as e:  # OSError: socket, timeout, ssl.SSLError
            if client is not None:
                with contextlib.suppress(Exception):
                    client.shutdown()
            if isinstance(e, LoginError):
                if self._token is not None:
                    check = "the token mailbox.oauth2_token_command prints"
                elif mb.password_command:
                    check = "the password mailbox.password_command prints"
                else:
                    check = f"the password in ${mb.password_env}"
                raise self._error(step, f"{server_text(e)} (hint: check mailbox.username and {check})") from e
            raise self._error(step, e) from e
        self._client = client
        self._broken = False

    def close(self) -> None:
        """Log out, ignoring errors (the connection may already be gone)."""
        client, self._client = self._client, None
        if client is None:
            return
        if not self._broken:
            with contextlib.suppress(Exception):
                client.logout()
                return
        with contextlib.suppress(Exception):
            client.shutdown()

    # IDLE, for sources/idle.py: a wake-up hint on one folder (the scan stays the truth)

    def has_idle(self) -> bool:
        """Whether the connected server offers IDLE."""
        return bool(self._client.has_capability("IDLE"))

    def start_idle(self, folder: str) -> None:
        """Select ``folder`` read-only and start IDLE on it."""
        self._client.select_folder(folder, readonly=True)
        self._client.idle()

    def restart_idle(self) -> None:
        """End IDLE and start it again (servers drop an IDLE after about 30 minutes)."""
        self._client.idle_done()
        self._client.idle()

    def idle_check(self, timeout: float) -> list[Any]:
        """The server's untagged responses during IDLE, waiting up to ``timeout`` seconds."""
        return list(self._client.idle_check(timeout=timeout))

    def end_idle(self) -> None:
        """End IDLE if connected, ignoring errors (the connection may already be gone)."""
        if self._client is not None:
            with contextlib.suppress(Exception):
                self._client.idle_done()

    def mark_broken(self) -> None:
        """The connection failed: ``close()`` drops it without a LOGOUT."""
        self._broken = True

    def _fetch(self, uids: list[int]) -> dict[int, Fetched]:
        try:
            response = self._client.fetch(uids, list(FETCH_ITEMS))
        except IMAPClient.AbortError:
            raise
        except IMAPClient.Error as e:
            raise FetchRefused(server_text(e)) from e
        out: dict[int, Fetched] = {}
        for uid, data in response.items():
            body = data.get(b"BODY[]")
            when = data.get(b"INTERNALDATE")
            if isinstance(body, bytes) and isinstance(when, datetime):
                out[int(uid)] = (body, _aware(when))
        return out

    def scan(self, folder: str, cursor: Cursor | None) -> Iterator[Batch]:
        """Yield the messages of ``folder`` above ``cursor``, one Batch per chunk, by UID.

        A cursor of another UIDVALIDITY counts for nothing: the folder is read from
        the start (the caller dedupes by Message-ID).
        """
        if self._client is None:
            raise RuntimeError("ImapSource.scan() outside its with block")
        if cursor is not None and cursor.folder != folder:
            raise ValueError(f"cursor of folder {cursor.folder!r} used for {folder!r}")
        client = self._client
        mb = self.mailbox
        try:
            selected = client.select_folder(folder, readonly=True)
            uidvalidity = int(selected[b"UIDVALIDITY"])
            last = 0
            if cursor is not None:
                if cursor.uidvalidity == uidvalidity:
                    last = cursor.last_uid
                else:
                    log.warning(
                        "IMAP folder %s: UIDVALIDITY changed from %d to %d; reading it again from the start",
                        folder,
                        cursor.uidvalidity,
                        uidvalidity,
                    )
            # "n:*" always matches the highest UID, even one <= last: filter.
            answered = client.search(["UID", f"{last + 1}:*"])
        except (IMAPClient.Error, OSError, KeyError, ValueError) as e:
            self._broken = isinstance(e, IMAPClient.AbortError | OSError)
            raise self._error(f"reading folder {folder!r}", e) from e
        uids = sorted({int(uid) for uid in answered if int(uid) > last})
        size = max(1, mb.batch_size)
        for start in range(0, len(uids), size):
            chunk = uids[start : start + size]
            try:
                found, failed = fetch_with_bisect(chunk, self._fetch, mb.fetch_retries)
            except (IMAPClient.Error, OSError) as e:
                self._broken = isinstance(e, IMAPClient.AbortError | OSError)
                raise self._error(f"fetching from folder {folder!r}", e) from e
            yield Batch(
                messages=tuple(
                    RawMessage(
                        data=found[uid][0],
                        origin=f"imap:{folder}:{uid}",
                        internaldate=found[uid][1],
                        folder=folder,
                        uid=uid,
                    )
                    for uid in chunk
                    if uid in found
                ),
                failures=tuple(
                    FetchFailure(origin=f"imap:{folder}:{uid}", reason=failed[uid], folder=folder, uid=uid)
                    for uid in chunk
                    if uid in failed
                ),
                cursor=Cursor(folder, uidvalidity, chunk[-1]),
            )
