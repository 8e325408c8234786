"""The iCalendar file (RFC 5545): written by hand, read back here by an independent reader.

The reader below unfolds lines (CRLF followed by a space), splits each content line at its first
unquoted colon and undoes TEXT escaping, as RFC 5545 sections 3.1 and 3.3.11 say; it shares no
code with ``daemon/ics.py``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from policytools import t

from daemon import ics
from daemon.cli import main
from daemon.config import load
from daemon.digest import calendar_for
from daemon.ingest import ingest
from daemon.sources.files import read_paths
from daemon.store import Store

HERE = Path(__file__).parent
CONFIG_PATH = HERE / "fixtures" / "digest" / "config.toml"
CONFIG = load(str(CONFIG_PATH))
MAIL = [
    *sorted((HERE / "fixtures" / "due" / "other-words").glob("*.eml")),
    *sorted((HERE.parent / "daemon" / "demo" / "mailbox").glob("*.eml")),
]
MARIA = next(p for p in CONFIG.program_managers if p.email == "mlopez@orbiscascade.org")
STAMP = datetime(2026, 10, 19, 15, 0, tzinfo=UTC)


def unescape(value: str) -> str:
    out, i = [], 0
    while i < len(value):
        ch = value[i]
        if ch == "\\" and i + 1 < len(value):
            nxt = value[i + 1]
            out.append("\n" if nxt in "nN" else nxt)
            i += 2
        else:
            out.append(ch)
            i += 1
    return "".join(out)


def parse(data: bytes) -> list[dict[str, str]]:
    """The VEVENTs of a calendar, each as {property name: raw value}."""
    text = data.decode("utf-8")
    assert text.endswith("\r\n")
    assert "\n" not in text.replace("\r\n", "")  # CRLF line ends only
    unfolded = text.replace("\r\n ", "").replace("\r\n\t", "")
    events: list[dict[str, str]] = []
    current: dict[str, str] | None = None
    lines = unfolded.split("\r\n")[:-1]
    assert lines[0] == "BEGIN:VCALENDAR"
    assert lines[-1] == "END:VCALENDAR"
    for line in lines:
        name, _, value = line.partition(":")
        if line == "BEGIN:VEVENT":
            current = {}
        elif line == "END:VEVENT":
            assert current is not None
            events.append(current)
            current = None
        elif current is not None:
            current[name.split(";")[0]] = value
    return events


def test_long_lines_are_folded_at_75_octets_never_inside_a_character():
    summary = "Agenda: " + "Bibliothèque numérique – prêt entre bibliothèques; " * 4
    entry = ics.Entry("x-1@example.org", STAMP, summary, "première ligne\nseconde, ligne")
    data = ics.calendar([entry], STAMP)
    physical = data.split(b"\r\n")[:-1]
    assert max(len(line) for line in physical) == 75
    assert all(len(line) <= 75 for line in physical)
    assert any(line.startswith(b" ") for line in physical)
    for line in physical:
        line.decode("utf-8")  # raises if a fold split a character
    [event] = parse(data)
    assert unescape(event["SUMMARY"]) == summary
    assert unescape(event["DESCRIPTION"]) == "première ligne\nseconde, ligne"


def test_text_is_escaped():
    summary = r"a; b, c \ d" + "\nnext"
    data = ics.calendar([ics.Entry("x-2@example.org", STAMP, summary)], STAMP)
    assert "SUMMARY:a\\; b\\, c \\\\ d\\nnext\r\n" in data.decode()
    [event] = parse(data)
    assert unescape(event["SUMMARY"]) == summary


def test_times_are_utc_and_stamped_with_the_instant_given():
    start = t("2026-11-04 10:00")  # PST
    data = ics.calendar([ics.Entry("x-3@example.org", start, "call", duration=timedelta(hours=1))], STAMP)
    [event] = parse(data)
    assert event["DTSTART"] == "20261104T180000Z"
    assert event["DTSTAMP"] == "20261019T150000Z"
    assert event["DURATION"] == "PT1H"
    with pytest.raises(ValueError, match="time zone"):
        ics.utc(datetime(2026, 11, 4, 10))


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("ics") / "cw.db"
    with Store(path) as s:
        assert ingest(s, CONFIG, read_paths(MAIL)).quarantined == 0
    return path


def test_uids_are_stable_from_one_file_to_the_next(db):
    """The same call, cut-off and action keep their UID, so a calendar client replaces them."""
    with Store(db) as s:
        early = calendar_for(s.snapshot(t("2026-10-19 08:00")), t("2026-10-19 08:00"), CONFIG, MARIA)
        later = calendar_for(s.snapshot(t("2026-10-19 12:00")), t("2026-10-19 12:00"), CONFIG, MARIA)
    assert len({e.uid for e in early}) == len(early)
    assert [e.uid for e in early] == [e.uid for e in later]
    uids = [e.uid for e in early]
    # The next three calls (first Wednesdays: Nov 4, Dec 2, Jan 6), each with its cut-off, then
    # 10800001's update request (due Mon 2026-10-19 14:10 PDT, in the coming week).
    assert uids[:6] == [
        "support-call-2026-11-04@orbiscascade.org",
        "agenda-cutoff-2026-11-04@orbiscascade.org",
        "support-call-2026-12-02@orbiscascade.org",
        "agenda-cutoff-2026-12-02@orbiscascade.org",
        "support-call-2027-01-06@orbiscascade.org",
        "agenda-cutoff-2027-01-06@orbiscascade.org",
    ]
    assert [e.summary for e in early[6:]] == ["Update request due: case 10800001 (PSU)"]
    assert uids[6].startswith("request-update-")


def test_the_calendar_command_writes_the_file(db, tmp_path, capsys):
    config = tmp_path / "config.toml"
    config.write_text(CONFIG_PATH.read_text() + f'\n[state]\ndb = "{db}"\n')
    out = tmp_path / "cal" / "maria.ics"
    out.parent.mkdir()
    argv = ["--config", str(config), "calendar", "--ics", str(out), "--pm", MARIA.email]
    assert main([*argv, "--at", "2026-10-19T08:00"]) == 0
    assert f"wrote {out}: 7 event(s)" in capsys.readouterr().out
    first = out.read_bytes()
    events = parse(first)
    assert events[0]["UID"] == "support-call-2026-11-04@orbiscascade.org"
    assert {e["DTSTAMP"] for e in events} == {"20261019T150000Z"}
    # The same instant writes the same bytes; without --pm, every area's due actions.
    assert main([*argv, "--at", "2026-10-19T08:00"]) == 0
    assert out.read_bytes() == first
    assert main(["--config", str(config), "calendar", "--ics", str(out), "--at", "2026-10-19T08:00"]) == 0
    assert len(parse(out.read_bytes())) >= len(events)
    assert [p.name for p in out.parent.iterdir()] == ["maria.ics"]  # no partial file left


@pytest.mark.parametrize("where", ["missing-folder", "a-folder"])
def test_a_bad_path_exits_2_without_a_traceback(db, tmp_path, capsys, where):
    config = tmp_path / "config.toml"
    config.write_text(CONFIG_PATH.read_text() + f'\n[state]\ndb = "{db}"\n')
    path = tmp_path / "no" / "such" / "x.ics" if where == "missing-folder" else tmp_path
    assert main(["--config", str(config), "calendar", "--ics", str(path), "--at", "2026-10-19T08:00"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("casewatch: --ics: ")
    assert "Traceback" not in err
    assert (
        main(["--config", str(config), "calendar", "--ics", str(tmp_path / "y.ics"), "--pm", "x@y.org"]) == 2
    )
