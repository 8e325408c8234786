"""Send failures and how SMTP errors are classified (temporary or permanent).

The hierarchy (``daemon.outbound.transports`` re-exports it; its docstring says which
failure is which)::

    RuntimeFailure (daemon.errors)   the world failed: exit 3
    └── SendFailure                  a send failed; .code (SMTP reply code or None), .message
        ├── TemporaryFailure         try again later; the message is kept and the failure shown
        └── PermanentFailure         the server refused this message for good: mark it failed

``by_code`` maps a reply code to one of them, ``refusal`` builds the error for refused
recipients, ``timed_out`` / ``dropped`` / ``describe`` read a network exception.
"""

from __future__ import annotations

import smtplib
from collections.abc import Mapping, Sequence

from daemon.errors import RuntimeFailure


def _one_line(text: str) -> str:
    return " ".join(text.split())


def reply_text(reply: bytes | str) -> str:
    """An SMTP reply's text on one line."""
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


def by_code(code: int, message: str) -> SendFailure:
    """A 5xx reply is permanent, anything else temporary."""
    if 500 <= code <= 599:
        return PermanentFailure(message, code)
    return TemporaryFailure(message, code if code > 0 else None)


def timed_out(exc: BaseException) -> bool:
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


def dropped(exc: BaseException) -> bool:
    """True when the server closed or reset a connection that was up."""
    if timed_out(exc):
        return False
    return isinstance(
        exc,
        smtplib.SMTPServerDisconnected | ConnectionResetError | ConnectionAbortedError | BrokenPipeError,
    )


def describe(exc: BaseException) -> str:
    """A network or SMTP exception in a few words."""
    if timed_out(exc):
        return "timed out"
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        return "the server closed the connection"
    text = str(exc) or type(exc).__name__
    return text if isinstance(exc, smtplib.SMTPException) else f"{type(exc).__name__}: {text}"


def refusal(where: str, refused: Mapping[str, tuple[int, bytes]], recipients: Sequence[str]) -> SendFailure:
    """The error for refused recipients: temporary if any refusal is, else permanent."""
    answers = {address: (code, reply_text(text)) for address, (code, text) in refused.items()}
    temporary = [a for a, (code, _) in answers.items() if not 500 <= code <= 599]
    accepted = [r for r in recipients if r not in answers]
    detail = "; ".join(f"{address}: {code} {text}" for address, (code, text) in answers.items())
    sent = f"sent to {', '.join(accepted)}" if accepted else "sent to nobody"
    message = f"{where}: {len(answers)} of {len(recipients)} recipient(s) refused ({detail}); {sent}"
    if temporary:
        return TemporaryFailure(message, answers[temporary[0]][0], refused=answers, accepted=accepted)
    first = next(iter(answers.values()))[0]
    return PermanentFailure(message, first, refused=answers, accepted=accepted)
