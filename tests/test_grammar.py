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


# ------------------------------------------------------------------ as people write them


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # A remark after a punctuation mark or a dash: any words.
        row("Done, thanks!", "done", "done-comma-thanks"),
        row("done - asked them this morning", "done", "done-hyphen-remark"),
        row("Done -- asked them this morning", "done", "done-double-hyphen-remark"),
        row("Done — asked them this morning", "done", "done-em-dash-remark"),
        row("Done. Thanks, Nora", "done", "done-sentence-then-thanks"),
        row("Commented; they promised an answer by Friday.", "commented", "commented-semicolon"),
        row("Escalated 10712345, thanks", "escalated", "escalated-case-then-thanks", case="10712345"),
        row("Muted, thanks", "mute", "muted-past-tense"),
        row("resumed!", "resume", "resumed-past-tense"),
        row("Linked 10712399 - same bug", "link", "linked-past-tense", other="10712399"),
        # After a plain space: thanks or please only.
        row("done thanks", "done", "done-space-thanks"),
        row("done 10712345 thank you", "done", "done-case-thank-you", case="10712345"),
        row("unmute please", "resume", "unmute-please"),
        row("owner jane@wsu.edu thanks", "owner", "owner-then-thanks", address="jane@wsu.edu"),
        row("priority high please", "priority", "priority-high-please", priority="high"),
        row(
            "Priority: system down, thanks", "priority", "priority-system-down-comma", priority="system_down"
        ),
        row(
            "handover to kim@wwu.edu - she starts on Monday",
            "handover",
            "handover-then-remark",
            address="kim@wwu.edu",
        ),
        row("link 10712345 thanks", "link", "link-then-thanks", other="10712345"),
        row("snooze 3d, thanks", "snooze", "snooze-3d-comma-thanks", until=utc(2026, 10, 17, 17)),
        row("snooze 3 days thanks", "snooze", "snooze-3-days-thanks", until=utc(2026, 10, 17, 17)),
        row(
            "snooze until Dec 15, 2026, thanks",
            "snooze",
            "until-dec-15-year-comma-thanks",
            until=utc(2026, 12, 15, 17),
        ),
        row(
            "snooze 3d for case 10712345, thanks",
            "snooze",
            "snooze-for-case-then-thanks",
            until=utc(2026, 10, 17, 17),
            case="10712345",
        ),
        # US dates: month/day; no year means the next one after now (NOW is 2026-10-14).
        row("snooze until 12/15", "snooze", "until-us-month-day", until=utc(2026, 12, 15, 17)),
        row("snooze until 12/15/2026", "snooze", "until-us-full-year", until=utc(2026, 12, 15, 17)),
        row("snooze until 12/15/26", "snooze", "until-us-short-year", until=utc(2026, 12, 15, 17)),
        row("snooze until 10/20", "snooze", "until-us-pdt", until=utc(2026, 10, 20, 16)),
        row("snooze until 1/5", "snooze", "until-us-next-year", until=utc(2027, 1, 5, 17)),
        row("snooze until 12/15 14:30", "snooze", "until-us-time", until=utc(2026, 12, 15, 22, 30)),
        row("snooze 12/15", "snooze", "snooze-bare-us-date", until=utc(2026, 12, 15, 17)),
        row("snooze until 12/15 thanks", "snooze", "until-us-then-thanks", until=utc(2026, 12, 15, 17)),
        row(
            "snoozed until 12/15, thanks",
            "snooze",
            "snoozed-until-us-comma-thanks",
            until=utc(2026, 12, 15, 17),
        ),
        row(
            "snooze until 12/15 for case 10712345",
            "snooze",
            "until-us-for-case",
            until=utc(2026, 12, 15, 17),
            case="10712345",
        ),
    ],
)
def test_natural_wordings_read_as_one_command(text: str, expected: Said) -> None:
    assert read_commands(text, NOW, LA) == Reading((expected,), (), False)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        # A command word starting a sentence that goes on is no command ...
        pytest.param(
            "Done with the migration, but the problem is still there",
            "done: unexpected 'with the migration, but the problem is still there'"
            " (only a case number may follow)",
            id="done-with-the-migration",
        ),
        # ... nor is one whose remark takes it back or hedges it, or asks.
        pytest.param(
            "Done, but the problem is still there",
            "done: unexpected 'but the problem is still there' (only a case number may follow)",
            id="done-but",
        ),
        pytest.param(
            "Closed - not yet, they reopened it",
            "closed: unexpected '- not yet' (only a case number may follow)",
            id="closed-not-yet",
        ),
        pytest.param(
            "escalated, only partly though",
            "escalated: unexpected 'only partly though' (only a case number may follow)",
            id="escalated-only-partly",
        ),
        pytest.param(
            "done, haven't heard back",
            'done: unexpected "haven\'t heard back" (only a case number may follow)',
            id="done-negated",
        ),
        pytest.param(
            "done, right?", "done: unexpected 'right?' (only a case number may follow)", id="done-question"
        ),
        # A colon introduces arguments, not a remark: "Feedback: ..." is no feedback command.
        pytest.param(
            "Feedback: the vendor is slow",
            "feedback: unexpected 'the vendor is slow' (only a case number may follow)",
            id="feedback-colon-prose",
        ),
        # After a plain space, only thanks or please.
        pytest.param(
            "priority high but only for now",
            "priority: not a priority: 'high but only for now' (high, normal, low or system down)",
            id="priority-high-but",
        ),
        # Arguments are read strictly: a remark never eats part of them.
        pytest.param(
            "snooze until 12/15 at 2pm",
            "snooze: not a duration or date: '12/15 at 2pm'",
            id="until-us-at-a-time",
        ),
        pytest.param(
            "snooze until 12/15, 2027",
            "snooze: not a duration or date: '12/15, 2027'",
            id="until-us-comma-year",
        ),
        pytest.param("snooze until 13/15", "snooze: not a duration or date: '13/15'", id="until-us-month-13"),
        pytest.param(
            "snooze until 2/30", "snooze: not a duration or date: '2/30'", id="until-us-no-such-day"
        ),
        pytest.param(
            "owner jane thanks", "owner: not an e-mail address: 'jane'", id="owner-no-address-thanks"
        ),
        pytest.param(
            "snooze 3 business days please",
            "snooze: business time is not supported, write calendar time (3d, 4h, 1w): '3 business days'",
            id="snooze-business-days-please",
        ),
    ],
)
def test_natural_wordings_that_are_refused(text: str, problem: str) -> None:
    assert read_commands(text, NOW, LA) == Reading((), (problem,), False)


@pytest.mark.parametrize(
    ("text", "names", "problems", "prose"),
    [
        pytest.param("Hi,\n\nDone, thanks!\n\n", ["done"], 0, False, id="hi-blank-done-thanks"),
        pytest.param("Hello Maria,\nsnooze until 12/15", ["snooze"], 0, False, id="hello-name"),
        pytest.param("Hi all -\n\nescalated\nmute", ["escalated", "mute"], 0, False, id="hi-all-dash"),
        pytest.param("Good morning,\n\ndone", ["done"], 0, False, id="good-morning"),
        pytest.param("Dear casewatch team,\ndone", ["done"], 0, False, id="dear-team"),
        pytest.param("  \nHey!\n\n\ncommented\n\nJane", ["commented"], 0, False, id="hey-after-blank"),
        pytest.param("hi\ndone - asked them this morning", ["done"], 0, False, id="hi-lower-no-comma"),
        # One greeting only, and only before the commands.
        pytest.param("Hi,\nHello,\ndone", [], 0, True, id="two-greetings"),
        pytest.param("done\nHi,\nmute", ["done"], 0, True, id="a-greeting-after-a-command-is-prose"),
        # A greeting alone is something said and nothing understood (a help reply).
        pytest.param("Hi,\n\n", [], 0, True, id="only-a-greeting"),
        # Prose after a greeting still stops the reading.
        pytest.param("Hi,\n\nThanks, will do.\ndone", [], 0, True, id="greeting-then-prose"),
        pytest.param("Hi, can you snooze this?\ndone", [], 0, True, id="a-question-is-no-greeting"),
        # A line with a command word is never taken for a greeting.
        pytest.param("Hi Maria, done\nmute", [], 0, True, id="greeting-and-command-on-one-line"),
        pytest.param("Highest priority please\ndone", [], 0, True, id="hi-prefix-is-no-greeting"),
        pytest.param("Closed?\ndone", [], 0, True, id="a-question-is-prose"),
    ],
)
def test_a_greeting_before_the_commands(text: str, names: list[str], problems: int, prose: bool) -> None:
    reading = read_commands(text, NOW, LA)
    actual = ([s.name for s in reading.commands], len(reading.problems), reading.prose)
    assert actual == (names, problems, prose)


def test_a_greeting_line_is_skipped_not_read_as_the_command() -> None:
    reading = read_commands("Hello Maria,\n\nsnooze until 12/15, thanks\n", NOW, LA)
    assert reading == Reading(
        (Said("snooze", "snooze until 12/15, thanks", until=utc(2026, 12, 15, 17)),), (), False
    )


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
            "unmute now", "unmute: unexpected 'now' (only a case number may follow)", id="synonym-named"
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
        # US dates without a year: the next one after now.
        pytest.param(
            DEC_20, "snooze until 1/5", utc(2027, 1, 5, 17), "2027-01-05 09:00 PST", id="us-1-5-next-year"
        ),
        pytest.param(
            DEC_20,
            "snooze until 12/21",
            utc(2026, 12, 21, 17),
            "2026-12-21 09:00 PST",
            id="us-12-21-same-year",
        ),
        pytest.param(
            datetime(2026, 12, 15, 8, 0, tzinfo=LA),
            "snooze until 12/15",
            utc(2026, 12, 15, 17),
            "2026-12-15 09:00 PST",
            id="us-today-before-nine",
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
        pytest.param(
            DEC_20,
            "snooze until 12/15",
            "snooze: 2027-12-15 09:00 PST is more than 180 days ahead",
            id="us-12-15-next",
        ),
        pytest.param(
            NOW, "snooze until 10/1/2026", "snooze: 2026-10-01 09:00 PDT is not in the future", id="us-past"
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
