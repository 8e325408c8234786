"""casewatch's health as Prometheus metrics (text exposition format 0.0.4).

`render` turns the dict of ``Store.health()`` (plus, optionally, ``"due_now"``) and the runner's
own numbers into the text format; `write` puts it in place atomically, for node_exporter's
textfile collector (``--collector.textfile.directory``) or any scraper that reads a file.

From the health dict (a missing key leaves its metric out):

    casewatch_messages_stored_total         counter  messages stored (vendor, list, noise)
    casewatch_quarantined_messages          gauge    messages quarantined as unreadable
    casewatch_cases                         gauge    cases known
    casewatch_open_cases                    gauge    cases open or pending customer
    casewatch_events_total                  counter  timeline events stored
    casewatch_outbox_messages{status=...}   gauge    outgoing messages by status
    casewatch_due_actions                   gauge    actions due now and not yet sent ("due_now")
    casewatch_consecutive_failures{kind=..} gauge    failures not yet recovered from ("failures")
    casewatch_last_poll_timestamp_seconds   gauge    Unix time of the last poll
    casewatch_seconds_since_last_poll       gauge    seconds from the last poll to `now`
    casewatch_last_cycle_timestamp_seconds  gauge    the same for the last cycle ("last_cycle")
    casewatch_seconds_since_last_cycle      gauge

`extra` adds the caller's numbers by name, either ``"casewatch_ticks_total"`` or with labels,
``'casewatch_stage_failures_total{stage="fetch"}'`` (build these with `series`). A name ending in
``_total`` is typed a counter, anything else a gauge. An extra name that the health dict also
gave (say ``casewatch_due_actions``) replaces it: the caller's number is the fresher one.
"""

from __future__ import annotations

import contextlib
import math
import os
import re
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

OUTBOX_STATUSES = ("queued", "sent", "failed")  # always exported, 0 when absent

_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
_LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
_KEY = re.compile(r"(?P<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(?P<labels>.*)\})?", re.DOTALL)
_LABEL = re.compile(r'\s*(?P<name>[a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*"(?P<value>(?:[^"\\]|\\.)*)"\s*(?:,|$)')

EXTRA_HELP = {
    "casewatch_ticks_total": "Cycles the daemon has run since it started.",
    "casewatch_stage_failures_total": "Cycle stages that raised, by stage, since the daemon started.",
}


_Labels = tuple[tuple[str, str], ...]


@dataclass
class _Family:
    name: str
    kind: str  # "counter" | "gauge"
    help: str
    samples: list[tuple[_Labels, float | int]] = field(default_factory=list)


def escape_label_value(value: str) -> str:
    """A label value as the format wants it: backslash, double quote and newline escaped."""
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _unescape_label_value(value: str) -> str:
    return re.sub(r"\\(.)", lambda m: "\n" if m[1] == "n" else m[1], value)


def _escape_help(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\n", "\\n")


def series(name: str, **labels: str) -> str:
    """The key of one series for `extra`: ``series("x_total", stage="fetch")`` gives
    ``'x_total{stage="fetch"}'``, the label values escaped."""
    if not labels:
        return name
    inner = ",".join(f'{k}="{escape_label_value(str(v))}"' for k, v in labels.items())
    return f"{name}{{{inner}}}"


def _parse_key(key: str) -> tuple[str, _Labels]:
    """``'name{a="x",b="y"}'`` -> ("name", (("a", "x"), ("b", "y"))); ValueError when malformed."""
    m = _KEY.fullmatch(key.strip())
    if m is None:
        raise ValueError(f"not a metric name: {key!r}")
    text = m["labels"] or ""
    labels: list[tuple[str, str]] = []
    pos = 0
    while pos < len(text):
        lm = _LABEL.match(text, pos)
        if lm is None or lm.end() == pos:
            raise ValueError(f"malformed labels in metric {key!r}")
        labels.append((lm["name"], _unescape_label_value(lm["value"])))
        pos = lm.end()
    names = [n for n, _ in labels]
    if len(set(names)) != len(names) or any(n.startswith("__") for n in names):
        raise ValueError(f"duplicate or reserved label name in metric {key!r}")
    return m["name"], tuple(labels)


def _format_value(value: float | int) -> str:
    if isinstance(value, bool):
        return str(int(value))
    if isinstance(value, int):
        return str(value)
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return repr(float(value))


def _instant(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        at = value
    elif isinstance(value, str) and value:
        try:
            at = datetime.fromisoformat(value)
        except ValueError:
            return None
    else:
        return None
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


def _number(value: Any) -> float | int | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return value


def _health_families(health: Mapping[str, Any], now: datetime) -> list[_Family]:
    families: list[_Family] = []

    def one(key: str, name: str, kind: str, help_text: str) -> None:
        value = _number(health.get(key))
        if value is not None:
            families.append(_Family(name, kind, help_text, [((), value)]))

    one("messages", "casewatch_messages_stored_total", "counter", "Messages stored (vendor, list and noise).")
    one("quarantined", "casewatch_quarantined_messages", "gauge", "Messages quarantined as unreadable.")
    one("cases", "casewatch_cases", "gauge", "Cases known.")
    one("open_cases", "casewatch_open_cases", "gauge", "Cases open or pending customer.")
    one("events", "casewatch_events_total", "counter", "Timeline events stored.")

    outbox = health.get("outbox")
    if isinstance(outbox, Mapping):
        counts: dict[str, float | int] = dict.fromkeys(OUTBOX_STATUSES, 0)
        for status, n in outbox.items():
            value = _number(n)
            if value is not None:
                counts[str(status)] = value
        samples: list[tuple[_Labels, float | int]] = [
            ((("status", status),), n) for status, n in sorted(counts.items())
        ]
        families.append(
            _Family("casewatch_outbox_messages", "gauge", "Outgoing messages by status.", samples)
        )

    one("due_now", "casewatch_due_actions", "gauge", "Actions due now and not yet sent.")

    failures = health.get("failures")
    if isinstance(failures, list):
        failing: list[tuple[_Labels, float | int]] = []
        for row in failures:
            count = _number(row.get("count")) if isinstance(row, Mapping) else None
            if count is not None:
                failing.append(((("kind", str(row.get("kind", ""))),), count))
        if failing:
            families.append(
                _Family(
                    "casewatch_consecutive_failures",
                    "gauge",
                    "Consecutive failures of each kind (imap, smtp ...) not yet recovered from.",
                    failing,
                )
            )

    for key, what in (("last_poll", "poll"), ("last_cycle", "cycle")):
        at = _instant(health.get(key))
        if at is None:
            continue
        families.append(
            _Family(
                f"casewatch_last_{what}_timestamp_seconds",
                "gauge",
                f"Unix time of the last {what}.",
                [((), at.timestamp())],
            )
        )
        families.append(
            _Family(
                f"casewatch_seconds_since_last_{what}",
                "gauge",
                f"Seconds from the last {what} to when the metrics were rendered.",
                [((), max(0.0, (now - at).total_seconds()))],
            )
        )
    return families


def render(
    health: Mapping[str, Any], extra: Mapping[str, float | int], *, now: datetime | None = None
) -> str:
    """The metrics as Prometheus text (format 0.0.4), each line ending in a newline ("" if none).

    `now` (default: the current time) is what "seconds since the last poll" counts to.
    Raises ValueError for a malformed `extra` key, or one that repeats a series.
    """
    at = now if now is not None else datetime.now(UTC)
    families = {f.name: f for f in _health_families(health, at)}
    from_health = set(families)
    for key, value in extra.items():
        name, labels = _parse_key(key)
        if name in from_health:  # the caller's series replace the health dict's
            families[name].samples.clear()
            from_health.discard(name)
        family = families.get(name)
        if family is None:
            kind = "counter" if name.endswith("_total") else "gauge"
            family = families[name] = _Family(name, kind, EXTRA_HELP.get(name, f"casewatch: {name}."))
        if any(existing == labels for existing, _ in family.samples):
            raise ValueError(f"extra metric {key!r} is given twice")
        family.samples.append((labels, value))

    lines: list[str] = []
    for family in families.values():
        lines.append(f"# HELP {family.name} {_escape_help(family.help)}")
        lines.append(f"# TYPE {family.name} {family.kind}")
        for labels, value in family.samples:
            inner = ",".join(f'{k}="{escape_label_value(v)}"' for k, v in labels)
            label_text = f"{{{inner}}}" if labels else ""
            lines.append(f"{family.name}{label_text} {_format_value(value)}")
    return "".join(line + "\n" for line in lines)


def write(path: str | os.PathLike[str], text: str, *, mode: int = 0o644) -> None:
    """Replaces the file at `path` with `text`, atomically: a reader sees the old file or the
    new one, never a partial one.

    The text goes to a hidden temp file in the same folder (``.NAME.XXXX.tmp``, which a
    textfile collector reading ``*.prom`` ignores), is flushed to disk, then renamed over
    `path`. On any failure the temp file is removed and the old file is left as it was.
    """
    target = Path(path)
    folder = target.parent
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    with contextlib.suppress(OSError):  # make the rename itself durable, where a folder can be synced
        dir_fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
