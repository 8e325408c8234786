"""Running unattended: sd_notify, logs for the journal, Prometheus metrics, the systemd unit."""

from __future__ import annotations

import importlib
import io
import json
import logging
import os
import pkgutil
import re
import shutil
import socket
import subprocess
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType

import pytest

from daemon.ops import logs, metrics, notify
from daemon.store import Store

UNIT = Path(__file__).resolve().parent.parent / "deploy" / "casewatch.service"

# --------------------------------------------------------------------------- notify


@pytest.fixture
def listener(tmp_path: Path) -> Iterator[socket.socket]:
    """A datagram socket bound in tmp_path, standing in for systemd's notify socket."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(tmp_path / "notify.sock"))
    sock.settimeout(5)
    try:
        yield sock
    finally:
        sock.close()


def test_notify_without_notify_socket_does_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)
    assert notify.notify("READY=1") is False
    monkeypatch.setenv("NOTIFY_SOCKET", "")
    assert notify.notify("READY=1") is False


def test_notify_sends_all_lines_as_one_datagram(
    listener: socket.socket, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NOTIFY_SOCKET", listener.getsockname())
    assert notify.notify("READY=1", "STATUS=polling every 5 min") is True
    assert notify.notify("WATCHDOG=1") is True
    assert notify.notify("STOPPING=1") is True
    assert listener.recv(4096) == b"READY=1\nSTATUS=polling every 5 min"
    assert listener.recv(4096) == b"WATCHDOG=1"
    assert listener.recv(4096) == b"STOPPING=1"


def test_notify_reaches_an_abstract_socket(monkeypatch: pytest.MonkeyPatch) -> None:
    name = f"casewatch-test-{uuid.uuid4().hex}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind("\0" + name)
        sock.settimeout(5)
        monkeypatch.setenv("NOTIFY_SOCKET", "@" + name)
        assert notify.notify("READY=1") is True
        assert sock.recv(4096) == b"READY=1"


def test_a_newline_inside_a_line_cannot_inject_another_assignment(
    listener: socket.socket, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NOTIFY_SOCKET", listener.getsockname())
    assert notify.notify("STATUS=subject\nREADY=1") is True
    assert listener.recv(4096) == b"STATUS=subject READY=1"


def test_notify_with_nothing_to_say_sends_nothing(
    listener: socket.socket, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NOTIFY_SOCKET", listener.getsockname())
    assert notify.notify() is False
    listener.setblocking(False)
    with pytest.raises(BlockingIOError):
        listener.recv(4096)


@pytest.mark.parametrize(
    "address",
    ["/nonexistent/casewatch/notify.sock", "@casewatch-nobody-listens-here", "vsock:2:1234", "relative"],
)
def test_notify_never_raises_when_it_cannot_send(
    address: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("NOTIFY_SOCKET", address)
    with caplog.at_level(logging.DEBUG, logger="casewatch.ops.notify"):
        assert notify.notify("WATCHDOG=1") is False
    assert [r.levelno for r in caplog.records] == [logging.DEBUG]


@pytest.mark.parametrize(
    ("usec", "pid", "expected"),
    [
        (None, None, None),  # no watchdog
        ("300000000", None, 150.0),  # WatchdogSec=300: ping every 150 s
        ("300000000", "self", 150.0),  # meant for this process
        ("300000000", "other", None),  # meant for another process
        ("300000000", "not-a-pid", None),
        ("", None, None),
        ("abc", None, None),
        ("0", None, None),
        ("-5", None, None),
        ("1000000", None, 0.5),
    ],
)
def test_watchdog_interval_is_half_of_watchdog_usec_for_this_process(
    usec: str | None, pid: str | None, expected: float | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    pids = {"self": str(os.getpid()), "other": str(os.getpid() + 1)}
    for name, value in (("WATCHDOG_USEC", usec), ("WATCHDOG_PID", pid)):
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, pids.get(value, value))
    assert notify.watchdog_interval() == expected


# --------------------------------------------------------------------------- logs


class FakeTty(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture
def root_logger() -> Iterator[logging.Logger]:
    """The root logger, put back as it was after the test."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        yield root
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)


def _json_lines(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_json_lines_when_not_a_terminal(root_logger: logging.Logger) -> None:
    out = io.StringIO()
    logs.setup(1, stream=out)
    logging.getLogger("casewatch.runner").info("polled %s", "INBOX", extra={"fetched": 3, "folder": "INBOX"})
    logging.getLogger("casewatch").debug("not at -v")
    (line,) = _json_lines(out)
    ts = line.pop("ts")
    assert line == {
        "level": "INFO",
        "logger": "casewatch.runner",
        "msg": "polled INBOX",
        "fetched": 3,
        "folder": "INBOX",
    }
    assert isinstance(ts, str)
    assert ts.endswith("+00:00")
    parsed = datetime.fromisoformat(ts)
    assert parsed.utcoffset() is not None
    assert abs((datetime.now(UTC) - parsed).total_seconds()) < 60


def _every_module() -> list[ModuleType]:
    import daemon

    # daemon.__main__ runs the command line when imported: it defines no logger.
    names = [m.name for m in pkgutil.walk_packages(daemon.__path__, "daemon.") if m.name != "daemon.__main__"]
    return [daemon, *(importlib.import_module(name) for name in names)]


def test_every_module_logs_under_casewatch() -> None:
    modules = _every_module()
    loggers = {
        f"{module.__name__}.{attr}": value.name
        for module in modules
        for attr, value in vars(module).items()
        if isinstance(value, logging.Logger)
    }
    assert len(loggers) >= 8  # the modules that log: the test would pass vacuously on none
    assert {where: name for where, name in loggers.items() if name.split(".")[0] != "casewatch"} == {}
    # Nothing made a logger under the package's import name either (e.g. getLogger(__name__)).
    assert sorted(n for n in logging.Logger.manager.loggerDict if n.split(".")[0] == "daemon") == []


def test_a_module_logger_reaches_the_json_output(root_logger: logging.Logger) -> None:
    from daemon.sources import imap

    out = io.StringIO()
    logs.setup(0, stream=out)
    imap.log.warning("UIDVALIDITY changed")
    (line,) = _json_lines(out)
    assert (line["logger"], line["msg"]) == ("casewatch.sources.imap", "UIDVALIDITY changed")


def test_human_lines_on_a_terminal(root_logger: logging.Logger) -> None:
    out = FakeTty()
    logs.setup(0, stream=out)
    logging.getLogger("casewatch").warning("IMAP %s unreachable", "imap.example.edu", extra={"n": 1})
    logging.getLogger("casewatch").info("not at verbosity 0")
    assert out.getvalue() == "casewatch: WARNING: IMAP imap.example.edu unreachable\n"


@pytest.mark.parametrize(
    ("stream", "json_lines", "expect_json"),
    [(FakeTty, True, True), (io.StringIO, False, False), (FakeTty, None, False), (io.StringIO, None, True)],
)
def test_json_lines_argument_overrides_the_terminal_check(
    stream: type[io.StringIO], json_lines: bool | None, expect_json: bool, root_logger: logging.Logger
) -> None:
    out = stream()
    logs.setup(0, json_lines=json_lines, stream=out)
    logging.getLogger("x").error("hello")
    text = out.getvalue()
    assert text.startswith("{") is expect_json
    assert (text == "casewatch: ERROR: hello\n") is not expect_json


def test_stdout_is_the_default_stream(
    root_logger: logging.Logger, capsys: pytest.CaptureFixture[str]
) -> None:
    logs.setup(0, json_lines=True)
    logging.getLogger("casewatch").error("to stdout")
    captured = capsys.readouterr()
    assert json.loads(captured.out)["msg"] == "to stdout"
    assert captured.err == ""


@pytest.mark.parametrize(
    ("verbosity", "level"), [(0, logging.WARNING), (1, logging.INFO), (2, logging.DEBUG), (5, logging.DEBUG)]
)
def test_verbosity_sets_the_root_level_and_replaces_handlers(
    verbosity: int, level: int, root_logger: logging.Logger
) -> None:
    root_logger.addHandler(logging.NullHandler())
    handler = logs.setup(verbosity, stream=io.StringIO())
    assert root_logger.level == level
    assert root_logger.handlers == [handler]


def test_exceptions_carry_their_traceback(root_logger: logging.Logger) -> None:
    out, tty = io.StringIO(), FakeTty()
    logs.setup(0, stream=out)
    try:
        raise ValueError("boom")
    except ValueError:
        logging.getLogger("casewatch").exception("cycle failed", extra={"stage": "fetch"})
    (line,) = _json_lines(out)
    assert (line["msg"], line["stage"], line["level"]) == ("cycle failed", "fetch", "ERROR")
    exc = line["exc"]
    assert isinstance(exc, str)
    assert exc.startswith("Traceback (most recent call last):")
    assert exc.endswith("ValueError: boom")

    logs.setup(0, stream=tty)
    try:
        raise ValueError("boom")
    except ValueError:
        logging.getLogger("casewatch").exception("cycle failed")
    lines = tty.getvalue().splitlines()
    assert lines[0] == "casewatch: ERROR: cycle failed"
    assert lines[1] == "Traceback (most recent call last):"
    assert lines[-1] == "ValueError: boom"


def test_no_exc_key_without_an_exception(root_logger: logging.Logger) -> None:
    out = io.StringIO()
    logs.setup(0, stream=out)
    logging.getLogger("casewatch").error("plain")
    (line,) = _json_lines(out)
    assert "exc" not in line


def test_json_formatter_works_on_its_own_handler() -> None:
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(logs.JsonFormatter())
    logger = logging.getLogger("casewatch.test.own")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning("token=abc123 here", extra={"smtp_password": "hunter2"})
    finally:
        logger.removeHandler(handler)
        logger.propagate = True
    (line,) = _json_lines(out)
    assert (line["msg"], line["smtp_password"], line["logger"]) == (
        "token=[redacted] here",
        "[redacted]",
        "casewatch.test.own",
    )


def test_an_extra_named_like_a_base_key_does_not_replace_it(root_logger: logging.Logger) -> None:
    out = io.StringIO()
    logs.setup(0, stream=out)
    logging.getLogger("casewatch").error("real", extra={"level": "fake", "ts": "fake"})
    (line,) = _json_lines(out)
    assert (line["level"], line["extra_level"], line["extra_ts"]) == ("ERROR", "fake", "fake")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("login password=hunter2 ok", "login password=[redacted] ok"),
        ("token=abc123", "token=[redacted]"),
        ("url ?access_token=abc&x=1", "url ?access_token=[redacted]&x=1"),
        ("PASSWORD = hunter2", "PASSWORD = [redacted]"),
        ('cfg {"password": "a b c"}', 'cfg {"password": [redacted]}'),
        ("password='a b' user=x", "password=[redacted] user=x"),
        ("Authorization: Bearer eyJhbGc.eyJzdWIi.sig", "Authorization: [redacted]"),
        ("sent Bearer eyJhbGciOi.J9x-_~+/== to api", "sent Bearer [redacted] to api"),
        ("client_secret=s3cr3t, next", "client_secret=[redacted], next"),
        ("nothing secret here", "nothing secret here"),
        ("the token expired", "the token expired"),
    ],
)
def test_redact_text_masks_credentials(text: str, expected: str) -> None:
    assert logs.redact_text(text) == expected


def test_redaction_in_json_lines(root_logger: logging.Logger) -> None:
    out = io.StringIO()
    logs.setup(0, stream=out)
    logging.getLogger("casewatch").error(
        "login as %s with password=%s failed (header Bearer %s)",
        "alice",
        "hunter2",
        "tok.en-1",
        extra={
            "imap_password": "hunter2",
            "Authorization": "Basic YWxpY2U6aHVudGVyMg==",
            "api_token": 12345,
            "reply_secret": {"k": "v"},
            "user": "alice",
            "note": "retry with token=abc999",
            "server": {"host": "imap.example.edu", "password": "hunter2"},
        },
    )
    text = out.getvalue()
    for secret in ("hunter2", "tok.en-1", "YWxpY2U6aHVudGVyMg", "12345", "abc999"):
        assert secret not in text
    (line,) = _json_lines(out)
    assert line["msg"] == "login as alice with password=[redacted] failed (header Bearer [redacted])"
    assert line["imap_password"] == line["Authorization"] == line["api_token"] == line["reply_secret"]
    assert line["imap_password"] == "[redacted]"
    assert line["user"] == "alice"
    assert line["note"] == "retry with token=[redacted]"
    assert line["server"] == {"host": "imap.example.edu", "password": "[redacted]"}


def test_redaction_in_human_lines_and_tracebacks(root_logger: logging.Logger) -> None:
    out, tty = io.StringIO(), FakeTty()
    for stream in (out, tty):
        logs.setup(0, stream=stream)
        try:
            raise RuntimeError("AUTH failed: password=hunter2")
        except RuntimeError:
            logging.getLogger("casewatch").exception("send failed with token=abc999")
    assert "hunter2" not in out.getvalue() + tty.getvalue()
    assert "abc999" not in out.getvalue() + tty.getvalue()
    assert tty.getvalue().splitlines()[0] == "casewatch: ERROR: send failed with token=[redacted]"
    assert tty.getvalue().splitlines()[-1] == "RuntimeError: AUTH failed: password=[redacted]"
    assert str(_json_lines(out)[0]["exc"]).endswith("RuntimeError: AUTH failed: password=[redacted]")


# --------------------------------------------------------------------------- metrics

# One line of the text format 0.0.4: a HELP or TYPE comment, or a sample.
_COMMENT = re.compile(r"# (?P<kind>HELP|TYPE) (?P<name>[a-zA-Z_:][a-zA-Z0-9_:]*) (?P<rest>.*)")
_SAMPLE = re.compile(
    r"(?P<name>[a-zA-Z_:][a-zA-Z0-9_:]*)"
    r"(?:\{(?P<labels>(?:[a-zA-Z_][a-zA-Z0-9_]*=\"(?:[^\"\\\n]|\\[\\\"n])*\",?)*)\})?"
    r" (?P<value>[-+]?(?:[0-9]+(?:\.[0-9]*)?(?:[eE][-+]?[0-9]+)?|NaN|Inf))"
)
_LABEL_PAIR = re.compile(r"([a-zA-Z_][a-zA-Z0-9_]*)=\"((?:[^\"\\]|\\.)*)\"")

SAMPLE_HEALTH = {
    "messages": 120,
    "quarantined": 2,
    "cases": 14,
    "open_cases": 9,
    "events": 301,
    "outbox": {"sent": 40, "queued": 3},
    "last_poll": "2026-03-02T17:55:00+00:00",
    "last_ingest": "2026-03-02T17:55:00+00:00",
    "cursors": [{"folder": "INBOX", "uidvalidity": 1, "last_uid": 120, "at": "2026-03-02T17:55:00+00:00"}],
    "failures": [{"kind": "imap", "count": 3, "since": "2026-03-02T17:00:00+00:00", "last_error": "x"}],
    "last_cycle": "2026-03-02T17:59:00+00:00",
    "due_now": 4,
}
NOW = datetime(2026, 3, 2, 18, 0, tzinfo=UTC)


def parse_exposition(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Checks every line against the format and returns {(name, labels): value}."""
    assert text.endswith("\n")
    types: dict[str, str] = {}
    samples: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
    for line in text.splitlines():
        comment = _COMMENT.fullmatch(line)
        if comment:
            if comment["kind"] == "TYPE":
                assert comment["rest"] in {"counter", "gauge"}, line
                assert comment["name"] not in types, f"second TYPE line: {line}"
                types[comment["name"]] = comment["rest"]
            continue
        sample = _SAMPLE.fullmatch(line)
        assert sample, f"not the exposition format: {line!r}"
        assert sample["name"] in types, f"sample before its TYPE: {line}"
        labels = tuple(_LABEL_PAIR.findall(sample["labels"] or ""))
        key = (sample["name"], labels)
        assert key not in samples, f"repeated series: {line}"
        samples[key] = float(sample["value"])
    return samples


def test_render_sample_health() -> None:
    text = metrics.render(
        SAMPLE_HEALTH,
        {
            "casewatch_ticks_total": 17,
            metrics.series("casewatch_stage_failures_total", stage="fetch"): 1,
            'casewatch_stage_failures_total{stage="send"}': 0,
        },
        now=NOW,
    )
    assert parse_exposition(text) == {
        ("casewatch_messages_stored_total", ()): 120,
        ("casewatch_quarantined_messages", ()): 2,
        ("casewatch_cases", ()): 14,
        ("casewatch_open_cases", ()): 9,
        ("casewatch_events_total", ()): 301,
        ("casewatch_outbox_messages", (("status", "failed"),)): 0,
        ("casewatch_outbox_messages", (("status", "queued"),)): 3,
        ("casewatch_outbox_messages", (("status", "sent"),)): 40,
        ("casewatch_due_actions", ()): 4,
        ("casewatch_last_poll_timestamp_seconds", ()): datetime(2026, 3, 2, 17, 55, tzinfo=UTC).timestamp(),
        ("casewatch_seconds_since_last_poll", ()): 300.0,
        ("casewatch_consecutive_failures", (("kind", "imap"),)): 3,
        ("casewatch_last_cycle_timestamp_seconds", ()): datetime(2026, 3, 2, 17, 59, tzinfo=UTC).timestamp(),
        ("casewatch_seconds_since_last_cycle", ()): 60.0,
        ("casewatch_ticks_total", ()): 17,
        ("casewatch_stage_failures_total", (("stage", "fetch"),)): 1,
        ("casewatch_stage_failures_total", (("stage", "send"),)): 0,
    }
    assert "# TYPE casewatch_messages_stored_total counter\n" in text
    assert "# TYPE casewatch_open_cases gauge\n" in text
    assert "# TYPE casewatch_ticks_total counter\n" in text
    assert text.count("# TYPE casewatch_stage_failures_total counter\n") == 1
    assert text.count("# HELP ") == text.count("# TYPE ")


def test_render_the_real_store_health(tmp_path: Path) -> None:
    """The keys rendered are the keys Store.health() returns."""
    with Store(tmp_path / "cw.db") as store:
        health = store.health()
    samples = parse_exposition(metrics.render(health, {}, now=NOW))
    assert samples[("casewatch_messages_stored_total", ())] == 0
    assert samples[("casewatch_outbox_messages", (("status", "failed"),))] == 0
    assert {name for name, _ in samples} == {
        "casewatch_messages_stored_total",
        "casewatch_quarantined_messages",
        "casewatch_cases",
        "casewatch_open_cases",
        "casewatch_events_total",
        "casewatch_outbox_messages",
    }  # never polled: no poll metrics; no "due_now" in the store's dict


def test_render_leaves_out_what_health_does_not_say() -> None:
    assert metrics.render({}, {}) == ""
    assert metrics.render({"messages": None, "last_poll": None, "outbox": None}, {}) == ""
    assert metrics.render({"last_poll": "not a time"}, {}) == ""
    text = metrics.render({"cases": 3}, {"casewatch_up": 1})
    assert parse_exposition(text) == {("casewatch_cases", ()): 3, ("casewatch_up", ()): 1}
    assert "# TYPE casewatch_up gauge\n" in text


def test_seconds_since_a_naive_last_poll_counts_it_as_utc() -> None:
    samples = parse_exposition(metrics.render({"last_poll": "2026-03-02T17:59:30"}, {}, now=NOW))
    assert samples[("casewatch_seconds_since_last_poll", ())] == 30.0


def test_label_values_are_escaped() -> None:
    key = metrics.series("casewatch_stage_failures_total", stage='a "b"\\c\nd')
    assert key == 'casewatch_stage_failures_total{stage="a \\"b\\"\\\\c\\nd"}'
    text = metrics.render({"outbox": {'odd"status\n': 1}}, {key: 2})
    assert 'casewatch_stage_failures_total{stage="a \\"b\\"\\\\c\\nd"} 2\n' in text
    assert 'casewatch_outbox_messages{status="odd\\"status\\n"} 1\n' in text
    parse_exposition(text)


def test_extra_keys_in_label_form_are_re_emitted_canonically() -> None:
    text = metrics.render(
        {}, {'x_total{ b = "2" , a="1",}': 5, "y": 1.5, "z": float("nan"), "w": float("inf")}
    )
    assert 'x_total{b="2",a="1"} 5\n' in text
    assert "y 1.5\n" in text
    assert "z NaN\n" in text
    assert "w +Inf\n" in text
    parse_exposition(text)


@pytest.mark.parametrize(
    "key",
    [
        "9starts_with_a_digit",
        "has space",
        'x{stage="unterminated}',
        "x{stage=fetch}",
        'x{a="1",a="2"}',
        'x{__name__="y"}',
    ],
)
def test_malformed_extra_keys_are_refused(key: str) -> None:
    with pytest.raises(ValueError, match="metric"):
        metrics.render({"cases": 1}, {key: 1})


def test_an_extra_metric_replaces_the_one_from_health() -> None:
    """The runner passes its own casewatch_due_actions; it wins over health["due_now"]."""
    text = metrics.render({"due_now": 4, "cases": 1}, {"casewatch_due_actions": 7})
    assert parse_exposition(text) == {("casewatch_due_actions", ()): 7, ("casewatch_cases", ()): 1}
    assert text.count("# TYPE casewatch_due_actions gauge\n") == 1


def test_the_same_series_twice_is_refused() -> None:
    with pytest.raises(ValueError, match="twice"):
        metrics.render({}, {'x{a="1"}': 1, 'x{ a="1" }': 2})


def test_write_replaces_the_file_and_leaves_nothing_else(tmp_path: Path) -> None:
    path = tmp_path / "casewatch.prom"
    metrics.write(path, "old 1\n")
    assert path.read_text() == "old 1\n"
    assert path.stat().st_mode & 0o777 == 0o644
    with path.open() as reader:  # a reader that opened the old file...
        old_inode = os.fstat(reader.fileno()).st_ino
        metrics.write(path, "new 2\n")
        assert reader.read() == "old 1\n"  # ...still sees it whole: replaced, not truncated
    assert path.read_text() == "new 2\n"
    assert path.stat().st_ino != old_inode
    assert sorted(p.name for p in tmp_path.iterdir()) == ["casewatch.prom"]


def test_a_failed_write_keeps_the_old_file_and_removes_its_temp_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "casewatch.prom"
    metrics.write(path, "old 1\n")

    def fail(src: str, dst: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", fail)
    with pytest.raises(OSError, match="No space"):
        metrics.write(path, "new 2\n")
    assert path.read_text() == "old 1\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["casewatch.prom"]


def test_a_concurrent_reader_sees_the_old_or_the_new_file_never_a_part(tmp_path: Path) -> None:
    path = tmp_path / "casewatch.prom"
    texts = ["a 1\n" * 20_000, "b 2\n" * 30_000]
    metrics.write(path, texts[0])
    seen: set[str] = set()
    stop = threading.Event()

    def read() -> None:
        while not stop.is_set():
            seen.add(path.read_text())

    reader = threading.Thread(target=read)
    reader.start()
    try:
        for i in range(60):
            metrics.write(path, texts[i % 2])
    finally:
        stop.set()
        reader.join()
    assert seen <= set(texts)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["casewatch.prom"]


# --------------------------------------------------------------------------- the systemd unit


def parse_unit(text: str) -> dict[str, dict[str, list[str]]]:
    """A unit file as {section: {key: [values, in order]}} (keys may repeat)."""
    sections: dict[str, dict[str, list[str]]] = {}
    current: dict[str, list[str]] | None = None
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1], {})
            continue
        assert current is not None, f"a key outside any section: {line}"
        assert not line.endswith("\\"), "no continuation lines"
        key, sep, value = line.partition("=")
        assert sep, f"not KEY=value: {line}"
        current.setdefault(key.strip(), []).append(value.strip())
    return sections


@pytest.fixture(scope="module")
def unit() -> dict[str, dict[str, list[str]]]:
    return parse_unit(UNIT.read_text())


def test_unit_runs_casewatch_as_a_notify_service_with_a_watchdog(
    unit: dict[str, dict[str, list[str]]],
) -> None:
    service = {k: v[-1] for k, v in unit["Service"].items()}
    assert {
        k: service.get(k)
        for k in (
            "Type",
            "NotifyAccess",
            "WatchdogSec",
            "Restart",
            "ExecStart",
            "ExecReload",
            "KillSignal",
            "KillMode",
            "TimeoutStopSec",
            "User",
            "Group",
            "StateDirectory",
            "WorkingDirectory",
            "EnvironmentFile",
        )
    } == {
        "Type": "notify",
        "NotifyAccess": "main",
        "WatchdogSec": "300",
        "Restart": "on-failure",
        "ExecStart": "/opt/casewatch/.venv/bin/casewatch run",
        "ExecReload": "/bin/kill -HUP $MAINPID",
        "KillSignal": "SIGTERM",
        "KillMode": "mixed",  # the daemon ends its parsing workers itself
        "TimeoutStopSec": "60",
        "User": "casewatch",
        "Group": "casewatch",
        "StateDirectory": "casewatch",
        "WorkingDirectory": "/var/lib/casewatch",
        "EnvironmentFile": "-/etc/casewatch/secrets.env",
    }
    assert "RestartSec" in service
    assert {"StartLimitIntervalSec", "StartLimitBurst"} <= set(unit["Unit"])
    assert "CASEWATCH_CONFIG=/etc/casewatch/config.toml" in unit["Service"]["Environment"]
    assert unit["Install"]["WantedBy"] == ["multi-user.target"]


def test_unit_is_hardened(unit: dict[str, dict[str, list[str]]]) -> None:
    service = unit["Service"]
    expected = {
        "NoNewPrivileges": "yes",
        "ProtectSystem": "strict",
        "ReadWritePaths": "/var/lib/casewatch",
        "ProtectHome": "yes",
        "PrivateTmp": "yes",
        "PrivateDevices": "yes",
        "ProtectKernelTunables": "yes",
        "ProtectKernelModules": "yes",
        "ProtectKernelLogs": "yes",
        "ProtectControlGroups": "yes",
        "RestrictAddressFamilies": "AF_UNIX AF_INET AF_INET6",
        "RestrictNamespaces": "yes",
        "LockPersonality": "yes",
        "MemoryDenyWriteExecute": "yes",
        "SystemCallArchitectures": "native",
        "CapabilityBoundingSet": "",
        "UMask": "0077",
    }
    assert {k: service.get(k, ["<missing>"])[-1] for k in expected} == expected
    assert service["SystemCallFilter"][0] == "@system-service"


def test_unit_holds_no_secret() -> None:
    text = UNIT.read_text()
    assignment = re.compile(r"(password|passwd|token|secret|authorization)\w*\s*[=:]\s*\S", re.IGNORECASE)
    assert assignment.findall(text) == []
    for value in parse_unit(text)["Service"].get("Environment", []):
        name = value.strip('"').partition("=")[0]
        assert not logs.is_sensitive(name), f"a secret in Environment=: {name}"


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed")
def test_systemd_analyze_verify_accepts_the_unit(tmp_path: Path) -> None:
    """The unit as systemd reads it (ExecStart pointed at a binary that exists here)."""
    copy = tmp_path / "casewatch.service"
    copy.write_text(UNIT.read_text().replace("/opt/casewatch/.venv/bin/casewatch run", "/bin/true run"))
    result = subprocess.run(
        ["systemd-analyze", "verify", str(copy)], capture_output=True, text=True, timeout=60, check=False
    )
    assert (result.returncode, result.stderr) == (0, "")
