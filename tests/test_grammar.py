"""The reply-command grammar: one command a line, case numbers, snooze times across DST, problems.

Expected instants are worked out by hand and written in UTC, so that a comparison is between
instants and never between two wall clocks of the same zone. NOW is Wednesday 2026-10-14,
10:00 PDT (17:00 UTC).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from daemon.commands.grammar import Reading, Said, read_commands

LA = ZoneInfo("America/Los_Angeles")
NOW = datetime(2026, 10, 14, 10, 0, tzinfo=LA)
BEFORE_FALL_BACK = datetime(2026, 10, 31, 10, 0, tzinfo=LA)  # Saturday, PDT; 2026-11-01 02:00 ends DST
BEFORE_SPRING_FORWARD = datetime(2027, 3, 13, 10, 0, tzinfo=LA)  # Saturday, PST; 2027-03-14 02:00
DEC_20 = datetime(2026, 12, 20, 10, 0, tzinfo=LA)


def utc(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def row(text: str, name: str, id: str, **fields: Any) -> Any:
    """A line that reads as one command: ``Said(name, line=text stripped, **fields)``."""
    return pytest.param(text, Said(name, text.strip(), **fields), id=id)


# ------------------------------------------------------------------ one command a line


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        row("done", "done", "done"),
        row("Done.", "done", "done-capital-period"),
        row("DONE!", "done", "done-uppercase-bang"),
        row("  done  ", "done", "done-surrounding-spaces"),
        row("done 10712345", "done", "done-case", case="10712345"),
        row("done #10712345", "done", "done-hash-case", case="10712345"),
        row("done case 10712345", "done", "done-word-case", case="10712345"),
        row("done for case #10712345.", "done", "done-for-case-hash-period", case="10712345"),
        row("Done on case 10712345!", "done", "done-on-case", case="10712345"),
        row("done 170445", "done", "done-six-digits-padded", case="00170445"),
        row("commented", "commented", "commented"),
        row("asked", "commented", "asked"),
        row("update requested", "commented", "update-requested"),
        row("Update  Requested 10712345,", "commented", "update-requested-spaces-case", case="10712345"),
        row("escalated", "escalated", "escalated"),
        row("Escalated 10712345", "escalated", "escalated-case", case="10712345"),
        row("feedback", "feedback", "feedback"),
        row("resume", "resume", "resume"),
        row("unmute", "resume", "unmute"),
        row("unsnooze", "resume", "unsnooze"),
        row("closed", "closed", "closed"),
        row("closed 10712345", "closed", "closed-case", case="10712345"),
        row("agenda", "agenda", "agenda"),
        row("record", "record", "record"),
        row("case of record", "record", "case-of-record"),
        row("Case of Record 10712345", "record", "case-of-record-case", case="10712345"),
        row("mute", "mute", "mute"),
        row("mute 10712345", "mute", "mute-case", case="10712345"),
        row("undo", "undo", "undo"),
        row("help", "help", "help"),
        row("?", "help", "question-mark"),
        row("help 10712345", "help", "help-case", case="10712345"),
        # priority
        row("priority high", "priority", "priority-high", priority="high"),
        row("priority normal", "priority", "priority-normal", priority="normal"),
        row("priority medium", "priority", "priority-medium", priority="normal"),
        row("priority low", "priority", "priority-low", priority="low"),
        row("priority down", "priority", "priority-down", priority="system_down"),
        row("priority system down", "priority", "priority-system-down", priority="system_down"),
        row("priority system_down", "priority", "priority-system_down", priority="system_down"),
        row("Priority Critical!", "priority", "priority-critical", priority="system_down"),
        row("Priority: High", "priority", "priority-colon", priority="high"),
        row("priority high for case 10712345", "priority", "priority-case", priority="high", case="10712345"),
        # owner / handover
        row("owner jane.doe@wsu.edu", "owner", "owner", address="jane.doe@wsu.edu"),
        row("Owner Jane.Doe@WSU.EDU", "owner", "owner-lowercased", address="jane.doe@wsu.edu"),
        row("owner <jane@wsu.edu>", "owner", "owner-angle-brackets", address="jane@wsu.edu"),
        row("owner jane@wsu.edu.", "owner", "owner-trailing-period", address="jane@wsu.edu"),
        row(
            "owner jane@lib.wsu.edu 10712345",
            "owner",
            "owner-case",
            address="jane@lib.wsu.edu",
            case="10712345",
        ),
        row("handover jane@wsu.edu", "handover", "handover", address="jane@wsu.edu"),
        row("hand over jane@wsu.edu", "handover", "hand-over", address="jane@wsu.edu"),
        row("Hand over to Jane@wsu.edu", "handover", "hand-over-to", address="jane@wsu.edu"),
        # link: the first number is the other case
        row("link 10712345", "link", "link", other="10712345"),
        row("link case #10712345", "link", "link-case-hash", other="10712345"),
        row("link #170445", "link", "link-six-digits", other="00170445"),
        row("link to case 10712345", "link", "link-to-case", other="10712345"),
        row(
            "link 10712345 for case 10712399",
            "link",
            "link-other-and-case",
            other="10712345",
            case="10712399",
        ),
        row("link #10712345 #10712399", "link", "link-two-hashes", other="10712345", case="10712399"),
        # snooze for a duration: real elapsed time from NOW (17:00 UTC)
        row("snooze 3d", "snooze", "snooze-3d", until=utc(2026, 10, 17, 17)),
        row("snooze 4h", "snooze", "snooze-4h", until=utc(2026, 10, 14, 21)),
        row("snooze 1w", "snooze", "snooze-1w", until=utc(2026, 10, 21, 17)),
        row("snooze 2 days", "snooze", "snooze-2-days", until=utc(2026, 10, 16, 17)),
        row("snooze 36 hours", "snooze", "snooze-36-hours", until=utc(2026, 10, 16, 5)),
        row("snooze 1 week", "snooze", "snooze-1-week", until=utc(2026, 10, 21, 17)),
        row("snooze 30 min", "snooze", "snooze-30-min", until=utc(2026, 10, 14, 17, 30)),
        row("Snooze for 3 days.", "snooze", "snooze-for-3-days", until=utc(2026, 10, 17, 17)),
        row("SNOOZE 3D", "snooze", "snooze-uppercase", until=utc(2026, 10, 17, 17)),
        row("snooze 180d", "snooze", "snooze-180-days-is-allowed", until=utc(2027, 4, 12, 17)),
        row(
            "snooze 3d for case 10712345",
            "snooze",
            "snooze-3d-for-case",
            until=utc(2026, 10, 17, 17),
            case="10712345",
        ),
        # snooze until a date: 09:00 local unless a time is given
        row("snooze until 2026-10-20", "snooze", "until-iso-pdt", until=utc(2026, 10, 20, 16)),
        row("snooze until 2026-12-15", "snooze", "until-iso-pst", until=utc(2026, 12, 15, 17)),
        row("snooze until 2026-12-15 14:30", "snooze", "until-iso-time", until=utc(2026, 12, 15, 22, 30)),
        row("snooze until 2026-12-15T14:30", "snooze", "until-iso-t-time", until=utc(2026, 12, 15, 22, 30)),
        row("snooze until Dec 15", "snooze", "until-dec-15", until=utc(2026, 12, 15, 17)),
        row("snooze until 15 Dec", "snooze", "until-15-dec", until=utc(2026, 12, 15, 17)),
        row(
            "Snooze until December 15, 2026.", "snooze", "until-december-15-2026", until=utc(2026, 12, 15, 17)
        ),
        row("snooze until 15 December 2026", "snooze", "until-15-december-2026", until=utc(2026, 12, 15, 17)),
        row("snooze 2026-12-15", "snooze", "snooze-bare-date", until=utc(2026, 12, 15, 17)),
        row(
            "snooze until 2026-12-15 #10712345",
            "snooze",
            "until-iso-hash-case",
            until=utc(2026, 12, 15, 17),
            case="10712345",
        ),
        row(
            "snooze until Dec 15 for case 10712345",
            "snooze",
            "until-dec-15-for-case",
            until=utc(2026, 12, 15, 17),
            case="10712345",
        ),
    ],
)
def test_a_line_reads_as_one_command(text: str, expected: Said) -> None:
    assert read_commands(text, NOW, LA) == Reading((expected,), (), False)


# ------------------------------------------------------------------ malformed lines


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        pytest.param("snooze soon", "snooze: not a duration or date: 'soon'", id="snooze-soon"),
        pytest.param(
            "snooze",
            "snooze: needs a duration (3d, 4h, 1w) or until a date (2026-12-15)",
            id="snooze-nothing",
        ),
        pytest.param(
            "snooze until",
            "snooze: needs a duration (3d, 4h, 1w) or until a date (2026-12-15)",
            id="until-nothing",
        ),
        pytest.param(
            "snooze until tomorrow", "snooze: not a duration or date: 'tomorrow'", id="until-tomorrow"
        ),
        pytest.param("snooze until 3d", "snooze: not a duration or date: '3d'", id="until-a-duration"),
        pytest.param(
            "snooze 3 fortnights", "snooze: not a duration or date: '3 fortnights'", id="snooze-bad-unit"
        ),
        pytest.param("snooze -3d", "snooze: not a duration or date: '-3d'", id="snooze-negative"),
        pytest.param(
            "snooze until 2026-02-30", "snooze: not a duration or date: '2026-02-30'", id="until-no-such-day"
        ),
        pytest.param(
            "snooze until 2026-12-15 25:00",
            "snooze: not a duration or date: '2026-12-15 25:00'",
            id="until-no-such-hour",
        ),
        pytest.param(
            "snooze until Smarch 5", "snooze: not a duration or date: 'smarch 5'", id="until-no-such-month"
        ),
        pytest.param(
            "snooze 3 business days",
            "snooze: business time is not supported, write calendar time (3d, 4h, 1w): '3 business days'",
            id="snooze-business-days",
        ),
        pytest.param(
            "snooze 3d for case 00000000", "snooze: not a case number: '00000000'", id="snooze-zero-case"
        ),
        pytest.param("priority", "priority: needs high, normal, low or system down", id="priority-nothing"),
        pytest.param(
            "priority urgent",
            "priority: not a priority: 'urgent' (high, normal, low or system down)",
            id="priority-urgent",
        ),
        pytest.param("owner", "owner: needs an e-mail address", id="owner-nothing"),
        pytest.param("owner jane", "owner: not an e-mail address: 'jane'", id="owner-no-at"),
        pytest.param("owner jane@wsu", "owner: not an e-mail address: 'jane@wsu'", id="owner-no-tld"),
        pytest.param(
            "owner jane doe@wsu.edu", "owner: not an e-mail address: 'jane doe@wsu.edu'", id="owner-space"
        ),
        pytest.param("handover", "handover: needs an e-mail address", id="handover-nothing"),
        pytest.param(
            "hand over to Jane", "hand over: not an e-mail address: 'jane'", id="hand-over-no-address"
        ),
        pytest.param("link", "link: needs the other case number", id="link-nothing"),
        pytest.param("link 12345", "link: not a case number: '12345'", id="link-five-digits"),
        pytest.param("link 20261105", "link: not a case number: '20261105'", id="link-a-date"),
        pytest.param("link soon", "link: not a case number: 'soon'", id="link-word"),
        pytest.param(
            "link 10712345 for case 10712345",
            "link: a case cannot be linked to itself: '10712345'",
            id="link-itself",
        ),
        pytest.param(
            "done quickly", "done: unexpected 'quickly' (only a case number may follow)", id="done-word"
        ),
        pytest.param(
            "Done, thanks!", "done: unexpected 'thanks' (only a case number may follow)", id="done-thanks"
        ),
        pytest.param("done 20261105", "done: not a case number: '20261105'", id="done-date-number"),
        pytest.param(
            "done 12345", "done: unexpected '12345' (only a case number may follow)", id="done-short-number"
        ),
        pytest.param(
            "mute request_update",
            "mute: unexpected 'request_update' (only a case number may follow)",
            id="mute-kind",
        ),
        pytest.param(
            "unmute please", "unmute: unexpected 'please' (only a case number may follow)", id="synonym-named"
        ),
    ],
)
def test_a_malformed_line_is_a_problem(text: str, problem: str) -> None:
    assert read_commands(text, NOW, LA) == Reading((), (problem,), False)


# ------------------------------------------------------------------ snooze times and DST


@pytest.mark.parametrize(
    ("now", "text", "until", "local"),
    [
        # 10:00 PDT (17:00 UTC) + 24 real hours = 17:00 UTC, which is 09:00 PST after the change.
        pytest.param(
            BEFORE_FALL_BACK, "snooze 1d", utc(2026, 11, 1, 17), "2026-11-01 09:00 PST", id="fall-1d"
        ),
        pytest.param(
            BEFORE_FALL_BACK, "snooze 24h", utc(2026, 11, 1, 17), "2026-11-01 09:00 PST", id="fall-24h"
        ),
        pytest.param(
            BEFORE_FALL_BACK, "snooze 1w", utc(2026, 11, 7, 17), "2026-11-07 09:00 PST", id="fall-1w"
        ),
        # A date is the wall clock: 09:00 PST = 17:00 UTC.
        pytest.param(
            BEFORE_FALL_BACK,
            "snooze until 2026-11-02",
            utc(2026, 11, 2, 17),
            "2026-11-02 09:00 PST",
            id="fall-until-monday",
        ),
        pytest.param(
            BEFORE_FALL_BACK,
            "snooze until 2026-11-01",
            utc(2026, 11, 1, 17),
            "2026-11-01 09:00 PST",
            id="fall-until-the-day-itself",
        ),
        pytest.param(
            BEFORE_FALL_BACK,
            "snooze until 2026-10-31 14:00",
            utc(2026, 10, 31, 21),
            "2026-10-31 14:00 PDT",
            id="fall-until-same-day",
        ),
        # 10:00 PST (18:00 UTC) + 24 real hours = 18:00 UTC = 11:00 PDT.
        pytest.param(
            BEFORE_SPRING_FORWARD, "snooze 1d", utc(2027, 3, 14, 18), "2027-03-14 11:00 PDT", id="spring-1d"
        ),
        pytest.param(
            BEFORE_SPRING_FORWARD,
            "snooze until 2027-03-15",
            utc(2027, 3, 15, 16),
            "2027-03-15 09:00 PDT",
            id="spring-until-monday",
        ),
        # 02:30 does not exist that night; the wall clock moves forward to 03:30 PDT.
        pytest.param(
            BEFORE_SPRING_FORWARD,
            "snooze until 2027-03-14 02:30",
            utc(2027, 3, 14, 10, 30),
            "2027-03-14 03:30 PDT",
            id="spring-until-skipped-time",
        ),
        # No year: the next occurrence after now.
        pytest.param(
            DEC_20, "snooze until Jan 5", utc(2027, 1, 5, 17), "2027-01-05 09:00 PST", id="jan-5-next-year"
        ),
        pytest.param(
            DEC_20,
            "snooze until Dec 21",
            utc(2026, 12, 21, 17),
            "2026-12-21 09:00 PST",
            id="dec-21-same-year",
        ),
        pytest.param(
            datetime(2026, 12, 15, 8, 0, tzinfo=LA),
            "snooze until Dec 15",
            utc(2026, 12, 15, 17),
            "2026-12-15 09:00 PST",
            id="today-before-nine",
        ),
        # now given in UTC: the result is still in the consortium's zone.
        pytest.param(
            utc(2026, 10, 31, 17),
            "snooze 1d",
            utc(2026, 11, 1, 17),
            "2026-11-01 09:00 PST",
            id="now-in-utc",
        ),
    ],
)
def test_snooze_ends_at(now: datetime, text: str, until: datetime, local: str) -> None:
    reading = read_commands(text, now, LA)
    assert reading.problems == ()
    assert [s.until for s in reading.commands] == [until]
    said_until = reading.commands[0].until
    assert said_until is not None
    assert said_until.strftime("%Y-%m-%d %H:%M %Z") == local


@pytest.mark.parametrize(
    ("now", "text", "problem"),
    [
        pytest.param(
            NOW, "snooze until 2026-10-01", "snooze: 2026-10-01 09:00 PDT is not in the future", id="past"
        ),
        pytest.param(
            NOW,
            "snooze until 2026-10-14 10:00",
            "snooze: 2026-10-14 10:00 PDT is not in the future",
            id="exactly-now",
        ),
        pytest.param(
            NOW, "snooze 0d", "snooze: 2026-10-14 10:00 PDT is not in the future", id="zero-duration"
        ),
        pytest.param(
            NOW, "snooze 181d", "snooze: 2027-04-13 10:00 PDT is more than 180 days ahead", id="181-days"
        ),
        pytest.param(
            NOW, "snooze 26w", "snooze: 2027-04-14 10:00 PDT is more than 180 days ahead", id="26-weeks"
        ),
        pytest.param(
            NOW,
            "snooze until 2027-06-01",
            "snooze: 2027-06-01 09:00 PDT is more than 180 days ahead",
            id="june",
        ),
        # "Dec 15" on 2026-12-20 is 2027-12-15: a year away.
        pytest.param(
            DEC_20,
            "snooze until Dec 15",
            "snooze: 2027-12-15 09:00 PST is more than 180 days ahead",
            id="dec-15-next",
        ),
    ],
)
def test_snooze_refused(now: datetime, text: str, problem: str) -> None:
    assert read_commands(text, now, LA) == Reading((), (problem,), False)


# ------------------------------------------------------------------ where reading stops


@pytest.mark.parametrize(
    ("text", "names", "problems", "prose"),
    [
        pytest.param("", [], 0, False, id="empty"),
        pytest.param("\n  \n", [], 0, False, id="only-blank-lines"),
        pytest.param(
            "\n\n  \ndone\nsnooze 3d\n", ["done", "snooze"], 0, False, id="leading-blank-lines-skipped"
        ),
        pytest.param("done\n\nsnooze 3d", ["done"], 0, False, id="lines-after-a-blank-line-ignored"),
        pytest.param("done\n\nThanks,\nNora", ["done"], 0, False, id="greeting-after-a-blank-line-not-prose"),
        pytest.param("done\nThanks for the reminder!\nmute", ["done"], 0, True, id="prose-stops-reading"),
        pytest.param("Thanks, will do.\ndone", [], 0, True, id="prose-first"),
        pytest.param("done\n-- \nmute", ["done"], 0, False, id="signature-dash-dash-space"),
        pytest.param("done\n--\nmute", ["done"], 0, False, id="signature-dash-dash"),
        pytest.param("done\n-- Nora Lindqvist", ["done"], 0, False, id="signature-dash-dash-name"),
        pytest.param("done\n- Nora", ["done"], 0, False, id="signature-dash-name"),
        pytest.param("done\n—Nora", ["done"], 0, False, id="signature-em-dash"),
        pytest.param("done\nSent from my iPhone", ["done"], 0, False, id="signature-phone"),
        pytest.param("done\nGet Outlook for Android", ["done"], 0, False, id="signature-outlook-mobile"),
        pytest.param("snooze soon\nmute", ["mute"], 1, False, id="a-problem-does-not-stop-reading"),
        pytest.param("snooze soon\n\nmute", [], 1, False, id="a-blank-line-after-a-problem-stops"),
        pytest.param("\n".join(["mute"] * 10), ["mute"] * 10, 0, False, id="max-lines-exactly"),
        pytest.param("\n".join(["mute"] * 12), ["mute"] * 10, 0, True, id="beyond-max-lines-is-prose"),
        pytest.param(
            "Escalated 10712345\nSnooze 2d for case 10712399.\npriority: high\n\nThanks,\nNora",
            ["escalated", "snooze", "priority"],
            0,
            False,
            id="realistic-reply",
        ),
    ],
)
def test_where_reading_stops(text: str, names: list[str], problems: int, prose: bool) -> None:
    reading = read_commands(text, NOW, LA)
    actual = ([s.name for s in reading.commands], len(reading.problems), reading.prose)
    assert actual == (names, problems, prose)


def test_max_lines_is_a_parameter() -> None:
    reading = read_commands("done\nmute\nundo", NOW, LA, max_lines=2)
    assert reading == Reading((Said("done", "done"), Said("mute", "mute")), (), True)


def test_each_command_keeps_its_own_case() -> None:
    reading = read_commands("Escalated 10712345\nsnooze 2d for case 10712399\nagenda", NOW, LA)
    assert [(s.name, s.case) for s in reading.commands] == [
        ("escalated", "10712345"),
        ("snooze", "10712399"),
        ("agenda", None),
    ]
