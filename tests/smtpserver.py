"""A real SMTP server for the tests (aiosmtpd), that records what it receives and fails on demand.

``SmtpServer`` runs aiosmtpd's threaded ``Controller`` on 127.0.0.1, on a free port, and
keeps every message it accepts as a ``Received`` (envelope sender, recipients, the bytes as
they arrived, the client's address, the AUTH login, whether TLS was on). A test tells it
what to do next, Mailman's test-MTA style:

- ``fail_next("DATA", 451)``: answer the next ``DATA`` (or ``MAIL`` / ``RCPT``, optionally
  only for one recipient) with that reply, ``times`` times;
- ``drop_next("MAIL")``: close the connection instead of answering;
- ``drop_connections()``: close every open connection now, as an idle timeout does;
- ``reset()``: forget the messages, the connection count and every injected failure.

AUTH (PLAIN and LOGIN) accepts one user, ``casewatch`` / ``secret``, and is offered without
TLS (``auth_require_tls=False``: the tests run on loopback) but not required. With
``xoauth2=True`` the server also offers AUTH XOAUTH2 (OAuth 2 bearer tokens, as Microsoft 365
and Gmail do) for the same user, accepting the tokens in ``tokens`` (``TOKEN``, as long as a
real one, unless a test says otherwise) and answering any other with the error challenge
and then 535, as those servers do; ``oauth2_attempts`` lists what clients sent. With
``tls=True`` a self-signed certificate for ``localhost`` and 127.0.0.1 is made with the
``openssl`` command-line tool: the server then offers STARTTLS on ``port`` and listens for
implicit TLS on ``tls_port``.

aiosmtpd 1.4.6 cannot listen on port 0 (its controller then connects to port 0 to check
that the server is up), and a port it fails to bind costs the whole ``ready_timeout``
before the error shows. So the controller here binds a socket to a free port first and
hands that very socket to asyncio: no other process can take the port in between.
"""

from __future__ import annotations

import asyncio
import binascii
import json
import logging
import shutil
import socket
import ssl
import subprocess
import tempfile
import threading
from base64 import b64decode
from dataclasses import dataclass, replace
from pathlib import Path
from types import TracebackType
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import MISSING, SMTP, AuthResult, Envelope, LoginPassword, Session

from daemon.config import Smtp

HOST = "127.0.0.1"
USER = "casewatch"
PASSWORD = "secret"
# An OAuth 2 access token of the size Microsoft 365 issues (1.5 kB and more): longer than the
# 512 octets of an SMTP command line (aiosmtpd's limit for an AUTH line too), so it must come
# in answer to a 334 (and longer than aiosmtpd's 1,001-octet lines: see _LongLinesSMTP).
TOKEN = "casewatch-test-access-token." + "0123456789abcdef" * 96
COMMANDS = ("MAIL", "RCPT", "DATA")
_REPLIES = {
    421: "421 4.3.2 Service shutting down (injected)",
    450: "450 4.2.1 Mailbox busy (injected)",
    451: "451 4.3.0 Try again later (injected)",
    452: "452 4.5.3 Too many recipients (injected)",
    550: "550 5.1.1 No such user (injected)",
    552: "552 5.3.4 Message too big (injected)",
    554: "554 5.7.1 Refused (injected)",
}


def find_openssl() -> str | None:
    return shutil.which("openssl")


def make_certificate(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate for ``localhost`` and 127.0.0.1: (cert.pem, key.pem)."""
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-days", "2", "-subj", "/CN=localhost",
         "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    return cert, key


@dataclass(frozen=True)
class Received:
    """One message the server accepted."""

    mail_from: str
    rcpt_tos: tuple[str, ...]
    mail_options: tuple[str, ...]  # the MAIL FROM parameters, upper-cased (e.g. BODY=8BITMIME)
    data: bytes  # the bytes after DATA, dot-unstuffed, as the client sent them
    peer: tuple[str, int]  # the client's address and port: one port per connection
    login: str | None  # the AUTH user, None without AUTH
    tls: bool  # the session was encrypted (STARTTLS or implicit TLS)
    oauth2: bool = False  # the AUTH was XOAUTH2 (an OAuth 2 token), not a password


@dataclass(frozen=True)
class BearerLogin:
    """The ``auth_data`` of a session logged in with XOAUTH2."""

    login: bytes
    token: bytes


@dataclass
class _Fault:
    command: str
    reply: str | None  # None: drop the connection
    times: int
    address: str | None  # RCPT only: this recipient only (None: any)


class _Handler:
    """aiosmtpd hooks: injected failures first, else aiosmtpd's own default behaviour."""

    def __init__(self, owner: SmtpServer) -> None:
        self.owner = owner

    async def _fault(self, server: SMTP, command: str, address: str | None = None) -> str | None:
        fault = self.owner._take_fault(command, address)
        if fault is None:
            return None
        if fault.reply is not None:
            return fault.reply
        assert isinstance(server.transport, asyncio.Transport)
        server.transport.abort()  # connection_lost() then cancels this session's task
        await asyncio.sleep(3600)
        raise AssertionError("unreachable: the dropped session was not cancelled")

    async def handle_MAIL(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, mail_options: list[str]
    ) -> str:
        reply = await self._fault(server, "MAIL")
        if reply is not None:
            return reply
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, rcpt_options: list[str]
    ) -> str:
        reply = await self._fault(server, "RCPT", address)
        if reply is not None:
            return reply
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        reply = await self._fault(server, "DATA")
        if reply is not None:
            return reply
        assert envelope.mail_from is not None
        assert isinstance(envelope.original_content, bytes)
        transport = server.transport
        auth = session.auth_data
        peer: Any = session.peer  # (host, port), though aiosmtpd types it a str
        self.owner._record(
            Received(
                mail_from=envelope.mail_from,
                rcpt_tos=tuple(envelope.rcpt_tos),
                mail_options=tuple(envelope.mail_options),
                data=envelope.original_content,
                peer=(str(peer[0]), int(peer[1])),
                login=auth.login.decode() if isinstance(auth, LoginPassword | BearerLogin) else None,
                tls=transport is not None and transport.get_extra_info("ssl_object") is not None,
                oauth2=isinstance(auth, BearerLogin),
            )
        )
        return "250 2.0.0 OK: queued"


class _OAuth2Handler(_Handler):
    """``_Handler`` with AUTH XOAUTH2: aiosmtpd offers every ``auth_<NAME>`` of the handler."""

    async def auth_XOAUTH2(self, server: SMTP, args: list[str]) -> AuthResult:
        """``user=<user>^Aauth=Bearer <token>^A^A``, on the AUTH line or after a 334."""
        if len(args) == 2:
            try:
                blob: Any = b64decode(args[1], validate=True)
            except binascii.Error:
                await server.push("501 5.5.2 Can't decode base64")
                return AuthResult(success=False, handled=True)
        else:
            blob = await server.challenge_auth("")
            if blob is MISSING:  # the client gave up ("*") or sent bad base64: answered already
                return AuthResult(success=False, handled=True)
        parsed = _parse_xoauth2(blob)
        if parsed is None:
            await server.push("501 5.5.2 Malformed XOAUTH2 response")
            return AuthResult(success=False, handled=True)
        user, token = parsed
        if self.owner._check_token(user, token):
            return AuthResult(success=True, auth_data=BearerLogin(user.encode(), token.encode()))
        # Gmail and Microsoft 365 answer a bad token with a challenge carrying the error, and
        # the final 535 only once the client has answered that with an empty line.
        error = json.dumps({"status": "401", "schemes": "bearer", "scope": "https://outlook.office.com/"})
        reply = await server.challenge_auth(error)
        if reply is MISSING:
            return AuthResult(success=False, handled=True)
        if reply != b"":
            await server.push("501 5.5.2 The answer to an XOAUTH2 error challenge must be empty")
            return AuthResult(success=False, handled=True)
        return AuthResult(success=False, handled=False, message="535 5.7.3 Authentication unsuccessful")


class _LongLinesSMTP(SMTP):
    """An aiosmtpd session reading lines of up to 12,288 octets, RFC 4954's limit for AUTH
    exchanges (aiosmtpd reads at most 1,001, too few for a Microsoft 365 token); the limit
    of DATA lines grows with it on this server."""

    line_length_limit = 12288


def _parse_xoauth2(blob: bytes) -> tuple[str, str] | None:
    """(user, token) of an XOAUTH2 initial response, or None when it is not one."""
    text = blob.decode("ascii", "replace")
    if not text.endswith("\x01\x01"):
        return None
    fields = dict(part.split("=", 1) for part in text[:-2].split("\x01") if "=" in part)
    auth = fields.get("auth", "")
    if "user" not in fields or not auth.startswith("Bearer ") or len(fields) != 2:
        return None
    return fields["user"], auth.removeprefix("Bearer ")


def _authenticate(
    server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
) -> AuthResult:
    ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (
        USER.encode(),
        PASSWORD.encode(),
    )
    if ok:
        return AuthResult(success=True, auth_data=auth_data)
    # handled=False: aiosmtpd answers 535. Its default (handled=True) means "the
    # authenticator has already replied", and the client would wait for an answer.
    return AuthResult(success=False, handled=False)


class _QuietDeprecation(logging.Filter):
    """aiosmtpd 1.4.6 itself sets the deprecated ``Session.login_data`` on every AUTH, and
    logs a warning about it each time: that line says nothing about the test."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "login_data is deprecated" not in record.getMessage()


logging.getLogger("mail.log").addFilter(_QuietDeprecation())


class _Controller(Controller):
    """Listens on a socket bound beforehand to a free port of 127.0.0.1; counts the
    sessions it creates and keeps them, to drop them on demand."""

    def __init__(self, owner: SmtpServer, handler: _Handler, **kwargs: Any) -> None:
        self.sock = socket.create_server((HOST, 0))
        super().__init__(handler, hostname=HOST, port=int(self.sock.getsockname()[1]), **kwargs)
        self.owner = owner

    def _create_server(self) -> Any:
        return self.loop.create_server(self._factory_invoker, sock=self.sock, ssl=self.ssl_context)

    def factory(self) -> SMTP:
        smtp_class = _LongLinesSMTP if self.owner.xoauth2 else SMTP
        session = smtp_class(self.handler, **self.SMTP_kwargs)  # what Controller.factory() does
        self.owner._opened(session)
        return session


class SmtpServer:
    """An aiosmtpd server on 127.0.0.1 in a thread; ``start()`` / ``stop()`` or a ``with`` block."""

    host = HOST
    user = USER
    password = PASSWORD

    def __init__(self, *, tls: bool = False, xoauth2: bool = False) -> None:
        self.tls = tls
        self.xoauth2 = xoauth2
        self.tokens: set[str] = {TOKEN}  # the XOAUTH2 tokens accepted for USER
        self._oauth2_attempts: list[tuple[str, str]] = []
        self.port = 0
        self.tls_port = 0
        self.dir: Path | None = None
        self.cert_file: Path | None = None
        self._lock = threading.Lock()
        self._messages: list[Received] = []
        self._faults: list[_Fault] = []
        self._sessions: list[SMTP] = []
        self._connections = 0
        self._controllers: list[_Controller] = []

    def __enter__(self) -> SmtpServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # ----------------------------------------------------------------- lifecycle

    def start(self) -> None:
        if self._controllers:
            return
        self.dir = Path(tempfile.mkdtemp(prefix="casewatch-smtp-"))
        try:
            context = None
            if self.tls:
                self.cert_file, key = make_certificate(self.dir)
                context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
                context.load_cert_chain(self.cert_file, key)
            self.port = self._listen(tls_context=context)
            if context is not None:
                self.tls_port = self._listen(ssl_context=context)
        except BaseException:
            self.stop()
            raise
        self.reset()

    def _listen(self, **tls: Any) -> int:
        """Start one controller; returns its port."""
        controller = _Controller(
            self,
            _OAuth2Handler(self) if self.xoauth2 else _Handler(self),
            server_hostname="localhost",  # else aiosmtpd asks getfqdn() for every session
            authenticator=_authenticate,
            auth_require_tls=False,
            ready_timeout=10.0,
            **tls,
        )
        try:
            controller.start()
        except BaseException:
            controller.sock.close()
            raise
        self._controllers.append(controller)
        return int(controller.port)

    def stop(self) -> None:
        controllers, self._controllers = self._controllers, []
        for controller in controllers:
            controller.stop()
            controller.sock.close()
        with self._lock:
            self._sessions.clear()
        if self.dir is not None:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None

    # ----------------------------------------------------------------- what a test sees

    @property
    def messages(self) -> list[Received]:
        """The messages accepted since the last ``reset()``, in order."""
        with self._lock:
            return list(self._messages)

    @property
    def oauth2_attempts(self) -> list[tuple[str, str]]:
        """Every XOAUTH2 login tried since the last ``reset()``: (user, token), in order."""
        with self._lock:
            return list(self._oauth2_attempts)

    @property
    def connections(self) -> int:
        """How many connections the server accepted since the last ``reset()``."""
        with self._lock:
            return self._connections

    def smtp(self, **changes: Any) -> Smtp:
        """An ``[smtp]`` configuration for this server: plain, no AUTH, a 10 s timeout."""
        base = Smtp(host=HOST, port=self.port, security="plain", timeout=10.0)
        return replace(base, **changes)

    # ----------------------------------------------------------------- what a test asks

    def fail_next(
        self, command: str, reply: int | str, *, times: int = 1, address: str | None = None
    ) -> None:
        """Answer the next ``times`` ``command``s (MAIL, RCPT or DATA) with ``reply``.

        ``reply`` is a code (451, 550 ...: a canned text is added) or a whole reply line.
        ``address`` (RCPT only) limits it to that recipient; other recipients are accepted.
        """
        text = reply if isinstance(reply, str) else _REPLIES.get(reply, f"{reply} Failure (injected)")
        self._add_fault(_Fault(command.upper(), text, times, address))

    def drop_next(self, command: str, *, times: int = 1, address: str | None = None) -> None:
        """Close the connection instead of answering the next ``times`` ``command``s."""
        self._add_fault(_Fault(command.upper(), None, times, address))

    def drop_connections(self) -> None:
        """Close every open connection now, as a server's idle timeout does; returns once done."""
        with self._lock:
            sessions, self._sessions = self._sessions, []
        for controller in self._controllers:
            mine = [s for s in sessions if s.loop is controller.loop]
            asyncio.run_coroutine_threadsafe(_abort(mine), controller.loop).result(timeout=10)

    def accept_tokens(self, *tokens: str) -> None:
        """Accept these XOAUTH2 tokens (for ``USER``) instead of ``TOKEN``, until ``reset()``."""
        with self._lock:
            self.tokens = set(tokens)

    def reset(self) -> None:
        """Forget the messages, the connection count, the injected failures, the XOAUTH2
        attempts and the accepted tokens other than ``TOKEN``."""
        with self._lock:
            self._messages.clear()
            self._faults.clear()
            self._oauth2_attempts.clear()
            self.tokens = {TOKEN}
            self._connections = 0
            self._sessions = [s for s in self._sessions if s.transport is not None]

    # ----------------------------------------------------------------- called by the server thread

    def _add_fault(self, fault: _Fault) -> None:
        if fault.command not in COMMANDS:
            raise ValueError(f"can only fail {', '.join(COMMANDS)}, not {fault.command!r}")
        if fault.address is not None and fault.command != "RCPT":
            raise ValueError("address= only applies to RCPT")
        with self._lock:
            self._faults.append(fault)

    def _take_fault(self, command: str, address: str | None) -> _Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.command == command and fault.address in (None, address) and fault.times > 0:
                    fault.times -= 1
                    return fault
        return None

    def _check_token(self, user: str, token: str) -> bool:
        with self._lock:
            self._oauth2_attempts.append((user, token))
            return user == USER and token in self.tokens

    def _record(self, message: Received) -> None:
        with self._lock:
            self._messages.append(message)

    def _opened(self, session: SMTP) -> None:
        with self._lock:
            self._connections += 1
            self._sessions.append(session)


async def _abort(sessions: list[SMTP]) -> None:
    """Close these sessions' connections (run in their server's event loop); returns once
    every socket is closed."""
    for session in sessions:
        if isinstance(session.transport, asyncio.Transport):
            session.transport.abort()
    # abort() closes the socket in a callback it schedules; SMTP.connection_lost(), called
    # from there, then clears the session's transport.
    for _ in range(1000):
        if all(session.transport is None for session in sessions):
            return
        await asyncio.sleep(0)
    raise RuntimeError("aborted SMTP sessions did not close")


class SilentServer:
    """A listening socket that never accepts: connections complete, nothing is ever said."""

    def __init__(self) -> None:
        self.sock = socket.create_server((HOST, 0), backlog=8)
        self.port = int(self.sock.getsockname()[1])

    def __enter__(self) -> SilentServer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.sock.close()

    def pending(self) -> int:
        """How many connections wait to be accepted (taken off the queue and closed)."""
        self.sock.setblocking(False)
        count = 0
        while True:
            try:
                conn, _ = self.sock.accept()
            except BlockingIOError:
                return count
            conn.close()
            count += 1
