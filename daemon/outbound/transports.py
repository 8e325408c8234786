"""Transports: how one composed message leaves, through an SMTP server or into a folder.

A transport moves bytes and decides nothing: ``send(sender, recipients, message,
message_id)`` hands the message over exactly as given and returns only when every
recipient was accepted. Otherwise it raises one of two errors, and the caller (the
outbox) decides what happens to the message::

    RuntimeFailure (daemon.errors)   the world failed: exit 3
    └── SendFailure                  a send failed; .code (SMTP reply code or None), .message
        ├── TemporaryFailure         try again later; the message is kept and the failure shown
        └── PermanentFailure         the server refused this message for good: mark it failed

``TemporaryFailure``: a 4xx reply; the network (connection refused, reset, a timeout, a
disconnect); a TLS handshake or certificate failure; anything that goes wrong before the
message itself is offered (greeting, EHLO, STARTTLS) whatever its code; a failed SMTP AUTH
(a 535 too: a password typo or an expired OAuth 2 token must not lose mail, it is retried
and shown until fixed); a file that cannot be written.

``PermanentFailure``: a 5xx reply to the message itself, to ``MAIL FROM``, ``RCPT TO``
or ``DATA``; a sender or recipient that cannot be written in ASCII (no SMTPUTF8).

When the server accepts some recipients and refuses others, the message has been sent to
the accepted ones: the error is temporary if any refusal is 4xx, else permanent, and it
carries ``refused`` (address -> (code, text)) and ``accepted`` (the addresses that got the
message), so that a retry goes to the refused ones only.

``SmtpTransport`` connects on its first ``send`` and keeps the connection for the next
ones. A connection found dropped (the server closed it, or reset it) is reconnected once
and the message sent again; a second drop is a ``TemporaryFailure``. A drop after the
message data went out but before the server's answer may deliver it twice: SMTP cannot tell.
It logs in with the password (AUTH PLAIN / LOGIN) or, given an OAuth 2 token source, with
SASL XOAUTH2, asking the source for a token on every new connection (tokens expire).

``FileTransport`` writes ``<folder>/<name>.eml``, the name derived from the Message-ID, so
sending the same message again replaces its file instead of adding one.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import re
import smtplib
import ssl
import tempfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Protocol, Self

from daemon.config import Config, Smtp, no_password, oauth2_token, secret
from daemon.errors import ConfigError, Problem, RuntimeFailure
from daemon.sources.imap import is_loopback

log = logging.getLogger(__name__.replace("daemon", "casewatch", 1))  # one namespace: casewatch.*

DEFAULT_PORTS = {"tls": 465, "starttls": 587, "plain": 25}


# --------------------------------------------------------------------------- errors


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _text(reply: bytes | str) -> str:
    return _one_line(reply.decode("utf-8", "replace") if isinstance(reply, bytes) else reply)


class SendFailure(RuntimeFailure):
    """A message could not be sent. ``code``: the SMTP reply code, or None; ``message``: one line.

    ``refused`` and ``accepted`` are set when the server refused some recipients only.
    """

    def __init__(
        self,
        message: str,
        code: int | None = None,
        *,
        refused: Mapping[str, tuple[int, str]] | None = None,
        accepted: Sequence[str] = (),
    ) -> None:
        self.message = _one_line(message)
        self.code = code
        self.refused: dict[str, tuple[int, str]] = dict(refused or {})
        self.accepted: tuple[str, ...] = tuple(accepted)
        super().__init__(self.message)


class TemporaryFailure(SendFailure):
    """Try again later: 4xx, network, timeout, TLS, SMTP AUTH, an unwritable folder."""


class PermanentFailure(SendFailure):
    """The server refused this message for good (5xx to MAIL FROM, RCPT TO or DATA)."""


def _by_code(code: int, message: str) -> SendFailure:
    if 500 <= code <= 599:
        return PermanentFailure(message, code)
    return TemporaryFailure(message, code if code > 0 else None)


def _timed_out(exc: BaseException) -> bool:
    """True when ``exc`` is, or was raised while handling, a timeout (smtplib re-raises
    a timeout while reading a reply as ``SMTPServerDisconnected``)."""
    seen: BaseException | None = exc
    for _ in range(5):
        if seen is None:
            return False
        if isinstance(seen, TimeoutError):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _dropped(exc: BaseException) -> bool:
    """True when the server closed or reset a connection that was up."""
    if _timed_out(exc):
        return False
    return isinstance(
        exc,
        smtplib.SMTPServerDisconnected | ConnectionResetError | ConnectionAbortedError | BrokenPipeError,
    )


# --------------------------------------------------------------------------- the protocol


class Transport(Protocol):
    """Something that sends a composed message; a context manager that closes itself."""

    def send(self, sender: str, recipients: Sequence[str], message: bytes, message_id: str) -> None:
        """Send ``message`` (bytes, exactly as given) from ``sender`` to every one of ``recipients``.

        Returns only when every recipient was accepted; raises ``TemporaryFailure`` or
        ``PermanentFailure`` otherwise.
        """
        ...

    def close(self) -> None:
        """Release the connection, if any; never raises. The transport may be used again."""
        ...

    def __enter__(self) -> Self: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...


# --------------------------------------------------------------------------- SMTP


class SmtpTransport:
    """Sends through the SMTP server of ``[smtp]``, over one connection kept between sends.

    ``security``: "tls" (implicit TLS, port 465 by default), "starttls" (587) or "plain"
    (25; refused unless the host is a loopback address). ``password`` is used for SMTP AUTH
    when ``username`` is set, and never appears in a message or repr. ``token``, when given,
    replaces it: an OAuth 2 access token for SASL XOAUTH2, or a function returning a current
    one, called on every new connection (a failure there, such as a ``ConfigError``, goes
    to the caller of ``send`` before anything is sent).
    """

    def __init__(
        self, smtp: Smtp, password: str | None, token: str | Callable[[], str] | None = None
    ) -> None:
        if smtp.security not in DEFAULT_PORTS:
            raise ConfigError(
                [
                    Problem(
                        "smtp.security",
                        f"unknown value {smtp.security!r}",
                        'one of "tls", "starttls", "plain"',
                    )
                ]
            )
        if smtp.security == "plain" and not is_loopback(smtp.host):
            raise ConfigError(
                [
                    Problem(
                        "smtp.security",
                        f'"plain" would send mail and password unencrypted to {smtp.host!r}; '
                        "it is only allowed to a loopback host",
                        'use "tls" or "starttls", or a relay on localhost',
                    )
                ]
            )
        self.smtp = smtp
        self.port = smtp.port or DEFAULT_PORTS[smtp.security]
        self._password = password
        self._token = token
        self._client: smtplib.SMTP | None = None

    def __repr__(self) -> str:
        return f"SmtpTransport({self.smtp.host}:{self.port}, {self.smtp.security})"

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _where(self) -> str:
        return f"SMTP {self.smtp.host}:{self.port}"

    def _ssl_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context()
        if not self.smtp.verify_tls:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        return context

    def _connect(self) -> smtplib.SMTP:
        """A new connection, greeted, (STARTTLS,) EHLO'd and logged in.

        Raises ``TemporaryFailure``, or lets a drop through for ``send`` to retry.
        """
        smtp = self.smtp
        token = None
        if smtp.username and self._token is not None:  # first: a failure here leaves no socket open
            token = self._token() if callable(self._token) else self._token
        client: smtplib.SMTP | None = None
        step = "connecting"
        try:
            # Given the host, smtplib connects and reads the greeting (a non-220 one is an
            # SMTPConnectError); it also keeps the host name for the certificate check.
            if smtp.security == "tls":
                client = smtplib.SMTP_SSL(
                    smtp.host, self.port, timeout=smtp.timeout, context=self._ssl_context()
                )
            else:
                client = smtplib.SMTP(smtp.host, self.port, timeout=smtp.timeout)
            step = "EHLO"
            client.ehlo_or_helo_if_needed()  # raises on a refusal, where ehlo() would not
            if smtp.security == "starttls":
                step = "STARTTLS"
                client.starttls(context=self._ssl_context())
                client.ehlo_or_helo_if_needed()  # again: STARTTLS forgets what EHLO said
            if token is not None:
                step = f"XOAUTH2 login as {smtp.username!r}"
                offered = client.esmtp_features.get("auth", "").upper().split()
                if "XOAUTH2" not in offered:
                    raise TemporaryFailure(
                        f"{self._where()}: {step} failed: the server does not offer AUTH XOAUTH2 "
                        f"(it offers: {' '.join(offered) or 'no AUTH'})"
                    )
                _xoauth2(client, smtp.username, token)
            elif smtp.username:
                step = f"login as {smtp.username!r}"
                if self._password is None:
                    raise TemporaryFailure(
                        f"{self._where()}: {step} failed: {no_password('smtp', smtp.password_env)}"
                    )
                client.login(smtp.username, self._password)
        except TemporaryFailure:
            _close(client)
            raise
        except smtplib.SMTPAuthenticationError as e:
            _close(client)
            if token is not None:
                check = "the token smtp.oauth2_token_command prints"
            elif smtp.password_command:
                check = "the password smtp.password_command prints"
            else:
                check = f"the password in ${smtp.password_env}"
            raise TemporaryFailure(
                f"{self._where()}: {step} failed: {e.smtp_code} {_text(e.smtp_error)} "
                f"(hint: check smtp.username and {check})",
                e.smtp_code,
            ) from e
        except smtplib.SMTPResponseException as e:  # greeting, EHLO, STARTTLS: never the message's fault
            _close(client)
            raise TemporaryFailure(
                f"{self._where()}: {step} failed: {e.smtp_code} {_text(e.smtp_error)}",
                e.smtp_code if e.smtp_code > 0 else None,
            ) from e
        except (smtplib.SMTPException, OSError) as e:
            _close(client)
            if _dropped(e):
                raise
            raise TemporaryFailure(f"{self._where()}: {step} failed: {_describe(e)}") from e
        log.info("connected to %s:%d (%s)", smtp.host, self.port, smtp.security)
        return client

    def _discard(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            client.close()

    def send(self, sender: str, recipients: Sequence[str], message: bytes, message_id: str) -> None:
        if not recipients:
            raise ValueError(f"message {message_id} has no recipients")
        where = f"{self._where()}: message {message_id}"
        retried = False
        while True:
            client = self._client
            try:
                if client is None or client.sock is None:
                    self._client = client = self._connect()
                # 8-bit bytes are declared where the server knows the word; they are sent
                # as they are in any case.
                eight_bit = not message.isascii() and client.has_extn("8bitmime")
                options = ["BODY=8BITMIME"] if eight_bit else []
                refused = client.sendmail(sender, list(recipients), message, mail_options=options)
            except TemporaryFailure:
                self._discard()
                raise
            except smtplib.SMTPRecipientsRefused as e:
                self._keep_if_usable()
                raise _refusal(where, e.recipients, recipients) from e
            except smtplib.SMTPResponseException as e:  # MAIL FROM or DATA refused (or 421)
                self._keep_if_usable()
                raise _by_code(e.smtp_code, f"{where} refused: {e.smtp_code} {_text(e.smtp_error)}") from e
            except UnicodeEncodeError as e:
                self._discard()
                raise PermanentFailure(
                    f"{where}: an address is not ASCII and the server was not asked for SMTPUTF8: {e}"
                ) from e
            except (smtplib.SMTPException, OSError) as e:
                self._discard()
                if _dropped(e) and not retried:
                    log.warning("%s: the connection dropped (%s); reconnecting once", where, _describe(e))
                    retried = True
                    continue
                again = " (again, after reconnecting)" if retried else ""
                raise TemporaryFailure(f"{where}: {_describe(e)}{again}") from e
            if refused:
                raise _refusal(where, refused, recipients)
            return

    def _keep_if_usable(self) -> None:
        """After a refusal smtplib has reset the envelope; after a 421 it has closed."""
        if self._client is not None and self._client.sock is None:
            self._discard()

    def close(self) -> None:
        client, self._client = self._client, None
        if client is None:
            return
        try:
            client.quit()
        except (smtplib.SMTPException, OSError):
            pass
        finally:
            client.close()


def _xoauth2(client: smtplib.SMTP, username: str, token: str) -> None:
    """SMTP AUTH XOAUTH2 (Google's and Microsoft's SASL for OAuth 2 bearer tokens).

    The credentials go in answer to the server's first, empty, challenge rather than on the
    AUTH command line, as Microsoft documents it: a token of a few kilobytes is longer than
    the 512 octets RFC 5321 allows a command (RFC 4954 allows AUTH more, not every server
    does). A refused token is answered with a challenge carrying the error (JSON); an empty
    reply to it brings the final 535, raised as ``SMTPAuthenticationError``.
    """
    credentials = f"user={username}\x01auth=Bearer {token}\x01\x01"

    def answer(challenge: bytes | None = None) -> str:
        return "" if challenge else credentials

    client.auth("XOAUTH2", answer, initial_response_ok=False)


def _close(client: smtplib.SMTP | None) -> None:
    if client is not None:
        client.close()


def _describe(exc: BaseException) -> str:
    if _timed_out(exc):
        return "timed out"
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        return "the server closed the connection"
    text = str(exc) or type(exc).__name__
    return text if isinstance(exc, smtplib.SMTPException) else f"{type(exc).__name__}: {text}"


def _refusal(where: str, refused: Mapping[str, tuple[int, bytes]], recipients: Sequence[str]) -> SendFailure:
    """The error for refused recipients: temporary if any refusal is, else permanent."""
    answers = {address: (code, _text(text)) for address, (code, text) in refused.items()}
    temporary = [a for a, (code, _) in answers.items() if not 500 <= code <= 599]
    accepted = [r for r in recipients if r not in answers]
    detail = "; ".join(f"{address}: {code} {text}" for address, (code, text) in answers.items())
    sent = f"sent to {', '.join(accepted)}" if accepted else "sent to nobody"
    message = f"{where}: {len(answers)} of {len(recipients)} recipient(s) refused ({detail}); {sent}"
    if temporary:
        return TemporaryFailure(message, answers[temporary[0]][0], refused=answers, accepted=accepted)
    first = next(iter(answers.values()))[0]
    return PermanentFailure(message, first, refused=answers, accepted=accepted)


# --------------------------------------------------------------------------- files

_SAFE = re.compile(r"[a-z0-9][a-z0-9.@+=-]*")
_UNSAFE = re.compile(r"[^A-Za-z0-9.@+=-]")
NAME_LIMIT = 150


def file_name(message_id: str) -> str:
    """The file name of a message, from its Message-ID: the same ID, the same name.

    An ID of lower-case letters, digits and ``.@+=-`` (as casewatch makes them) is the
    name as it is, without its angle brackets; any other is made safe and gets ``_`` and
    a hash of the ID, so that two IDs never share a file, even on a case-insensitive disk.
    """
    mid = message_id.strip()
    if mid.startswith("<") and mid.endswith(">"):
        mid = mid[1:-1].strip()
    if not mid:
        raise ValueError("a message without a Message-ID cannot be written to a file")
    if len(mid) <= NAME_LIMIT and _SAFE.fullmatch(mid):
        return f"{mid}.eml"
    digest = hashlib.sha256(mid.encode("utf-8", "surrogateescape")).hexdigest()[:16]
    stem = _UNSAFE.sub("_", mid[:100]).lstrip(".")
    return f"{stem}_{digest}.eml"


class FileTransport:
    """Writes each message to ``folder/<name>.eml`` (see ``file_name``), atomically.

    The bytes go to a temporary file in the folder (``.<name>.<random>.tmp``), flushed to
    disk, then renamed over the final name: a reader sees the old file or the new one,
    never a part. The folder is created when missing. Files are private to their owner.
    """

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)

    def __repr__(self) -> str:
        return f"FileTransport({str(self.folder)!r})"

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def path_of(self, message_id: str) -> Path:
        """Where the message with this Message-ID is written."""
        return self.folder / file_name(message_id)

    def send(self, sender: str, recipients: Sequence[str], message: bytes, message_id: str) -> None:
        target = self.path_of(message_id)
        tmp: str | None = None
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=f".{target.stem[:60]}.", suffix=".tmp", dir=self.folder)
            with os.fdopen(fd, "wb") as out:
                out.write(message)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, target)
            tmp = None
        except OSError as e:
            raise TemporaryFailure(f"cannot write message {message_id} to {target}: {e}") from e
        finally:
            if tmp is not None:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)

    def close(self) -> None:
        pass


# --------------------------------------------------------------------------- choosing


def transport_for(config: Config) -> Transport:
    """The transport of ``[outbound] transport``; the SMTP password is read here.

    With ``smtp.oauth2_token_command`` the transport gets, instead, a function that runs the
    command for a fresh token on each new connection (and never when nothing is sent).
    """
    kind = config.outbound.transport
    if kind == "file":
        return FileTransport(config.outbound.folder)
    if kind == "smtp":
        smtp = config.smtp
        if smtp.username and smtp.oauth2_token_command:
            command = smtp.oauth2_token_command
            return SmtpTransport(smtp, None, lambda: oauth2_token(command, "smtp.oauth2_token_command"))
        password = (
            secret(smtp.password_env, smtp.password_command, "smtp.password_command")
            if smtp.username
            else None
        )
        return SmtpTransport(smtp, password)
    raise ConfigError(
        [Problem("outbound.transport", f"unknown transport {kind!r}", 'either "smtp" or "file"')]
    )
