"""Golden files for the recognizers: each ``tests/fixtures/mail/<family>/<name>.eml`` beside
the ``<name>.json`` that says what ``recognize`` must make of it.

The JSON holds ``family``, ``kind``, ``cases`` (compared as a sorted list; left out only for
noise, whose cited numbers change nothing), ``fields`` (only the ``CaseFields`` it asserts; a
``null`` asserts the field is not set), optional ``record_case``, optional
``thread_keys_any`` (each substring must be inside one of the recognized thread keys) and a
``note`` saying which variant of the contract the message covers.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

MAIL = Path(__file__).parent / "fixtures" / "mail"
FIXTURES = sorted(MAIL.rglob("*.eml"))
KNOWN_KEYS = {"family", "kind", "cases", "fields", "record_case", "thread_keys_any", "note"}
FIELD_NAMES = {
    "title",
    "priority",
    "status",
    "owner",
    "institution",
    "asset",
    "category",
    "subcategory",
    "description",
}


def _fixture_id(path: Path) -> str:
    return path.relative_to(MAIL).with_suffix("").as_posix()


def _expected(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))
    unknown = set(data) - KNOWN_KEYS
    assert not unknown, f"{path.with_suffix('.json').name}: unknown keys {sorted(unknown)}"
    unknown_fields = set(data.get("fields", {})) - FIELD_NAMES
    assert not unknown_fields, f"unknown CaseFields {sorted(unknown_fields)}"
    return data


def differences(expected: dict[str, Any], got: Any) -> list[str]:
    """Every way ``got`` (a ``Recognition``) differs from ``expected``, one line each."""
    diffs: list[str] = []

    def check(what: str, want: Any, have: Any) -> None:
        if want != have:
            diffs.append(f"{what}: expected {want!r}, got {have!r}")

    check("family", expected["family"], got.family)
    check("kind", expected["kind"], got.kind)
    if "cases" in expected:
        check("cases", sorted(expected["cases"]), sorted(got.cases))
    for name, want in expected.get("fields", {}).items():
        check(f"fields.{name}", want, getattr(got.fields, name))
    if "record_case" in expected:
        check("record_case", expected["record_case"], got.record_case)
    for token in expected.get("thread_keys_any", []):
        if not any(token in key for key in got.thread_keys):
            diffs.append(f"thread_keys: none contains {token!r}; got {list(got.thread_keys)!r}")
    return diffs


def test_fixtures_exist_in_pairs() -> None:
    """Every .eml has its .json and every .json its .eml, and there are enough of them."""
    emls = {p.with_suffix("") for p in MAIL.rglob("*.eml")}
    jsons = {p.with_suffix("") for p in MAIL.rglob("*.json")}
    assert sorted(map(str, emls - jsons)) == [], "fixtures without expectations"
    assert sorted(map(str, jsons - emls)) == [], "expectations without a fixture"
    assert len(emls) >= 45


@pytest.mark.parametrize("path", FIXTURES, ids=_fixture_id)
def test_recognize_fixture(path: Path) -> None:
    """``recognize`` with the default config makes of the message what its JSON says."""
    from daemon.config import Config
    from daemon.recognize import recognize

    expected = _expected(path)
    got = recognize(path.read_bytes(), Config())
    diffs = differences(expected, got)
    assert not diffs, (
        f"{_fixture_id(path)} ({expected.get('note', '')}):\n  "
        + "\n  ".join(diffs)
        + f"\n  (recognizer reason: {got.reason!r}, summary: {got.summary!r})"
    )


REAL_NOTIFICATION = (
    "Hello Mark,\n\nA new comment has been added to case  08197740.\n\n"
    "Case Title: Alma Chat - Handles\nLast Comment:\nDear Mark,\nThe handles are assigned.\n"
    "Best regards,\nSabine\n\nStatus: In Progress - Tier 2\nPriority: Medium\nDescription:\n"
    "250929_175836; NA03; 01ALLIANCE_WOU; McFate, Mark - Alma Chat\n"
    "Thank you,\nClarivate Support\n"
)


@pytest.mark.parametrize(
    ("to", "owner"),
    [
        # the consortium's own addresses first, the person after them
        ("Alma Support <alma-support@orbiscascade.org>, Mark McFate <mmcfate@wou.edu>", "mmcfate@wou.edu"),
        ("casewatch+cases@orbiscascade.org, mmcfate@wou.edu", "mmcfate@wou.edu"),
        ("alma-support+cases@orbiscascade.org, mmcfate@wou.edu", "mmcfate@wou.edu"),
        # addressed to the consortium alone: the greeting names the person, but no address
        ("Alma Support <alma-support@orbiscascade.org>", None),
        ("ALMA-SUPPORT@orbiscascade.org", None),
    ],
)
def test_the_consortiums_own_addresses_are_never_the_owner(to: str, owner: str | None) -> None:
    """``[outbound] from_address`` (plus-addressed too) and the mailbox's login are the consortium's:
    never a case owner (nor are ``[lists] addresses``, but mail to them is list traffic)."""
    import dataclasses

    from daemon.config import Config, Lists, Mailbox
    from daemon.recognize import recognize
    from tests.mailmaker import message

    config = dataclasses.replace(
        Config(),
        mailbox=Mailbox(host="imap.orbiscascade.org", username="alma-support@orbiscascade.org"),
        lists=Lists(addresses=("alliance-cases@lists.orbiscascade.org",)),
    )
    raw = message(to=to, cc=None, subject="Alma Chat - Handles", body=REAL_NOTIFICATION)
    got = recognize(raw, config)
    assert (got.kind, got.cases, got.fields.owner) == ("comment", ("08197740",), owner)
    assert got.fields.institution == "WOU"
