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

The failures and their classification live in ``daemon.outbound.failures``, the file transport
in ``daemon.outbound.folder``; both are re-exported here.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from collections.abc import Callable, Sequence
from types import TracebackType
from typing import Protocol, Self

from daemon.config import Config, Smtp, no_password, oauth2_token, secret
from daemon.errors import ConfigError, Problem
from daemon.outbound.failures import (
    PermanentFailure,
    SendFailure,
    TemporaryFailure,
    by_code,
    describe,
    dropped,
    refusal,
    reply_text,
)
from daemon.outbound.folder import FileTransport, file_name
from daemon.sources.imap import is_loopback

#: Callers import these from here (the failures and the file transport have modules of their own).
__all__ = [
    "FileTransport",
    "PermanentFailure",
    "SendFailure",
    "SmtpTransport",
    "TemporaryFailure",
    "Transport",
    "file_name",
    "transport_for",
]

log = logging.getLogger(__name__.replace("daemon", "casewatch", 1))  # one namespace: casewatch.*

DEFAULT_PORTS = {"tls": 465, "starttls": 587, "plain": 25}


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
                f"{self._where()}: {step} failed: {e.smtp_code} {reply_text(e.smtp_error)} "
                f"(hint: check smtp.username and {check})",
                e.smtp_code,
            ) from e
        except smtplib.SMTPResponseException as e:  # greeting, EHLO, STARTTLS: never the message's fault
            _close(client)
            raise TemporaryFailure(
                f"{self._where()}: {step} failed: {e.smtp_code} {reply_text(e.smtp_error)}",
                e.smtp_code if e.smtp_code > 0 else None,
            ) from e
        except (smtplib.SMTPException, OSError) as e:
            _close(client)
            if dropped(e):
                raise
            raise TemporaryFailure(f"{self._where()}: {step} failed: {describe(e)}") from e
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
                raise refusal(where, e.recipients, recipients) from e
            except smtplib.SMTPResponseException as e:  # MAIL FROM or DATA refused (or 421)
                self._keep_if_usable()
                raise by_code(
                    e.smtp_code, f"{where} refused: {e.smtp_code} {reply_text(e.smtp_error)}"
                ) from e
            except UnicodeEncodeError as e:
                self._discard()
                raise PermanentFailure(
                    f"{where}: an address is not ASCII and the server was not asked for SMTPUTF8: {e}"
                ) from e
            except (smtplib.SMTPException, OSError) as e:
                self._discard()
                if dropped(e) and not retried:
                    log.warning("%s: the connection dropped (%s); reconnecting once", where, describe(e))
                    retried = True
                    continue
                again = " (again, after reconnecting)" if retried else ""
                raise TemporaryFailure(f"{where}: {describe(e)}{again}") from e
            if refused:
                raise refusal(where, refused, recipients)
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
