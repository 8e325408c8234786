"""Case numbers count only in context; thread tokens are found in every form."""

import pytest

from daemon.recognize.casenumbers import in_context, normalize, thread_keys


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("WSU opened SF case 10712350 and OSU has case #10712360.", ["10712350", "10712360"]),
        ("cases 10712350, 10712360 and 10712370 are related", ["10712350", "10712360", "10712370"]),
        ("cases 10712350 / 10712360, & 10712370", ["10712350", "10712360", "10712370"]),
        ("the case of record: Case 10712400.", ["10712400"]),
        ("Salesforce case number: 07123456", ["07123456"]),
        ("see SF case #170445 from 2019", ["00170445"]),
        ("Case # 10712345: title has been updated", ["10712345"]),
        ("Record 991234567890123456 shows twice", []),
        ("Jira URM-123456 may be related", []),
        ("Call me at 206-281-2000", []),
        ("see the 20261105 release notes", []),
        ("case 20261105", []),
        ("Our order number is 44501234567.", []),
        ("Our order number is #12345678", []),
        ("PO number: #12345678", []),
        ("invoice #10712345", []),
        ("12345678 alone is not a case", []),
        ("case 10712345 and again case 10712345", ["10712345"]),
        ("case 00000000", []),
    ],
)
def test_numbers_in_context(text: str, expected: list[str]) -> None:
    assert in_context(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # How people cite cases in real mail (real-mail.md, "How people cite cases").
        ("I opened a support ticket (08197740) yesterday.", ["08197740"]),
        ("see ticket #170445 from 2015", ["00170445"]),
        ("Ticket#08197740 is still open", ["08197740"]),
        ("our tickets 08197740 and 08295726 look alike", ["08197740", "08295726"]),
        ("Ex Libris case 10665359 was closed", ["10665359"]),
        ("support case 08295726 - Alma Chat - Assigning Handles", ["08295726"]),
        ("In Case 07949018 I was told to wait", ["07949018"]),
        ("Alliance SF case #170445", ["00170445"]),
        ("Ex Libris support ticket number: 08197740", ["08197740"]),
        # A ticket of another system is not a vendor case.
        ("our Jira ticket #123456 tracks it", []),
        ("I put in an IT ticket 1234567 for the printer", []),
        ("OCLC ticket 08197740 is about WorldShare", []),
        ("LibAnswers ticket 12345678", []),
        # Numbers in real comments that are never case numbers, even after "ticket" or "case".
        ("ticket job 7336725260004641 failed", []),
        ("case: the job ID is 7336725260004641", []),
        ("ticket 7336725260004641", []),
        ("case MMS 991234567890123456", []),
        ("case handle 11084/1762286371", []),
        ("ticket 11084/176228", []),
        ("case 250929_175836; NA03; 01ALLIANCE_WWU; Doe, Jane - Alma Chat", []),
        ("ticket 12/03/2025", []),
        ("case opened 03/12/2025 and 12/31/2025", []),
        ("ticket 20251203", []),
        ("ticket 206-281-2000", []),
        ("ticket URM-123456", []),
        ("ticket order number 44501234567", []),
    ],
)
def test_numbers_in_context_real_citations(text: str, expected: list[str]) -> None:
    assert in_context(text) == expected


@pytest.mark.parametrize(
    ("digits", "expected"),
    [
        ("170445", "00170445"),
        ("0712345", "00712345"),
        ("10712345", "10712345"),
        ("12345", None),
        ("123456789", None),
        ("20261105", None),
    ],
)
def test_normalize_pads_to_eight_digits(digits: str, expected: str | None) -> None:
    assert normalize(digits) == expected


def test_thread_tokens_of_every_form() -> None:
    text = (
        "[ thread::_enNmqx2KTJ_ZUE2O9ux6j:: ] ref:_00D30aBcD._500QO2975d:ref "
        "ref:!00D30000000aBcD!500QO000002975d:ref"
    )
    assert thread_keys(text) == [
        "thread::_enNmqx2KTJ_ZUE2O9ux6j::",
        "ref:_00D30aBcD._500QO2975d:ref",
        "ref:!00D30000000aBcD!500QO000002975d:ref",
    ]
