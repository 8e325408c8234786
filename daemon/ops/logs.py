"""Logging for a daemon: one handler on the root logger, writing to stdout.

On a terminal each record is one human line, ``casewatch: LEVEL: message`` (the CLI's format).
Elsewhere (under systemd, stdout goes to the journal) each record is one JSON object per line::

    {"ts": "2026-03-02T18:00:00.123+00:00", "level": "INFO", "logger": "casewatch.runner",
     "msg": "polled", "folder": "INBOX", "fetched": 3}

with the fields the caller passed as ``extra={...}`` and, when there is one, ``"exc"`` with the
traceback text.

Both formats redact: an extra field whose key contains "password", "token", "secret" or
"authorization" becomes ``"[redacted]"`` whatever its value, and in the message, the extra
string values and the traceback text, ``password=...``, ``token=...`` (and the like) and
``Bearer <credential>`` are masked. Redaction is the formatters' job, so a handler added
elsewhere with ``JsonFormatter`` is redacted too.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, TextIO

REDACTED = "[redacted]"
SENSITIVE_KEYS = ("password", "token", "secret", "authorization")
HUMAN_FORMAT = "casewatch: %(levelname)s: %(message)s"

# The attributes every LogRecord has; anything else on a record came from `extra`.
_RECORD_ATTRS = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}

# `password=hunter2`, `smtp_password: "a b"`, `access_token=...`, `Authorization: Bearer x`:
# a key naming a secret, "=" or ":", then the value (quoted, or up to a space or separator).
_KEY_VALUE = re.compile(
    r"(?P<key>\b[\w.-]*(?:password|passwd|token|secret|authorization)[\w.-]*)"
    r"(?P<sep>[\"']?\s*[=:]\s*)"
    r"(?P<value>(?:(?:bearer|basic)\s+)?(?:\"[^\"]*\"|'[^']*'|[^\s,;&\"']+))",
    re.IGNORECASE,
)
_BEARER = re.compile(r"\b(?P<scheme>bearer)\s+(?!\[redacted\])[A-Za-z0-9\-._~+/]+=*", re.IGNORECASE)


def redact_text(text: str) -> str:
    """The text with ``password=...``, ``token=...`` and ``Bearer <x>`` credentials masked."""
    text = _KEY_VALUE.sub(lambda m: f"{m['key']}{m['sep']}{REDACTED}", text)
    return _BEARER.sub(lambda m: f"{m['scheme']} {REDACTED}", text)


def is_sensitive(key: str) -> bool:
    """Whether a field named `key` holds a secret (its name contains a sensitive word)."""
    lowered = key.lower()
    return any(word in lowered for word in SENSITIVE_KEYS)


def redact_value(key: str, value: Any) -> Any:
    """A field's value fit for a log: replaced when the key is sensitive, else masked inside."""
    if is_sensitive(key):
        return REDACTED
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, Mapping):
        return {str(k): redact_value(str(k), v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact_value("", v) for v in value]
    return value


def extra_fields(record: logging.LogRecord) -> dict[str, Any]:
    """The fields the caller passed with ``extra=``, redacted."""
    return {k: redact_value(k, v) for k, v in vars(record).items() if k not in _RECORD_ATTRS}


class HumanFormatter(logging.Formatter):
    """``casewatch: LEVEL: message`` (and the traceback below it), redacted."""

    def __init__(self) -> None:
        super().__init__(HUMAN_FORMAT)

    def format(self, record: logging.LogRecord) -> str:
        return redact_text(super().format(record))


class JsonFormatter(logging.Formatter):
    """One JSON object per record, on one line: ts, level, logger, msg, the extras, exc."""

    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "msg": redact_text(record.getMessage()),
        }
        for key, value in extra_fields(record).items():
            payload[f"extra_{key}" if key in payload else key] = value
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            payload["exc"] = redact_text(record.exc_text)
        if record.stack_info:
            payload["stack"] = redact_text(self.formatStack(record.stack_info))
        return json.dumps(payload, ensure_ascii=False, default=str)


def _isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        return False


def level_for(verbosity: int) -> int:
    """The CLI's mapping: 0 warnings, 1 (-v) info, 2 or more (-vv) debug."""
    return logging.WARNING - 10 * min(max(verbosity, 0), 2)


def setup(verbosity: int, json_lines: bool | None = None, stream: TextIO | None = None) -> logging.Handler:
    """Points the root logger at `stream` (default: stdout) and returns the handler.

    `json_lines` None picks by the stream: human lines on a terminal, JSON lines otherwise.
    Handlers already on the root logger are replaced.
    """
    out = sys.stdout if stream is None else stream
    as_json = not _isatty(out) if json_lines is None else json_lines
    handler: logging.StreamHandler[TextIO] = logging.StreamHandler(out)
    handler.setFormatter(JsonFormatter() if as_json else HumanFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level_for(verbosity))
    return handler
