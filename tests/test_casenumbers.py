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
