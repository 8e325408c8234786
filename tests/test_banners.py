"""Marks a receiving site puts on outside mail: "[EXTERNAL] - " before the list tag, CAUTION
banners at the top of the body. They never hide the post, and never become its summary."""

from __future__ import annotations

from pathlib import Path

import pytest

from daemon.config import Config
from daemon.recognize import recognize
from daemon.recognize.banners import strip_banner
from daemon.recognize.fields import clean_subject

MAIL = Path(__file__).parent / "fixtures" / "mail"

WRAPPED = (
    "CAUTION: This email came from outside the organization. Do not click links or\n"
    "open attachments unless you recognize the sender and know the content is safe.\n"
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (WRAPPED + "\nHi all,\nour roles expire.", "Hi all,\nour roles expire."),
        # no blank line between the banner and the post: the post is kept
        (WRAPPED + "Hi all,\nour roles expire.", "Hi all,\nour roles expire."),
        (
            "CAUTION: This email originated from outside of the organization. Do not click links or "
            "open attachments unless you recognize the sender and know the content is safe.\nHi all,",
            "Hi all,",
        ),
        (
            "[EXTERNAL EMAIL]\nThis message came from outside your organization.\n"
            "________________________________\n\nSame here, see case 07949018.",
            "Same here, see case 07949018.",
        ),
        ("EXTERNAL EMAIL\nHi all,", "Hi all,"),
        (
            "You don't often get email from x@wwu.edu. Learn why this is important\nHello,\ncase 10665359",
            "Hello,\ncase 10665359",
        ),
        (
            "*** EXTERNAL EMAIL *** Use caution when opening attachments or clicking links.\n\n"
            "CAUTION: This email came from outside the organization.\n\nText here",
            "Text here",
        ),
    ],
)
def test_a_banner_at_the_top_comes_off(text: str, expected: str) -> None:
    assert strip_banner(text).strip() == expected


@pytest.mark.parametrize(
    "text",
    [
        "Caution: our external data sources failed today.\nSee case 08197740.",
        "Warning: the job failed\nAnything?",
        "Hi all,\nCAUTION: This email came from outside the organization.",
        "External data sources are broken since the release.",
        "________________________________\nFrom: Ex Libris Support\nSent: Monday",
    ],
)
def test_words_that_are_not_a_banner_stay(text: str) -> None:
    assert strip_banner(text) == text


@pytest.mark.parametrize(
    ("subject", "expected"),
    [
        ("[EXTERNAL] - [wactclc-alma] user roles expiring", "user roles expiring"),
        ("RE: [EXTERNAL] - [wactclc-alma] user roles expiring", "user roles expiring"),
        ("EXTERNAL: RE: [wactclc-alma] user roles expiring", "user roles expiring"),
        ("[wactclc-alma] [EXTERNAL] Re: user roles", "user roles"),
        ("*EXTERNAL* [ALMA-L] Summit loans", "Summit loans"),
        ("{External} RE: Summit loans", "Summit loans"),
        ("External Email - Re: Summit loans", "Summit loans"),
        (
            "[EXT] Case 08197740 - Alma Chat - handles - Closed",
            "Case 08197740 - Alma Chat - handles - Closed",
        ),
        # words that only look like a mark stay
        ("External data sources broken", "External data sources broken"),
        ("EXT-123 is broken", "EXT-123 is broken"),
        ("Extended hours: Summit", "Extended hours: Summit"),
    ],
)
def test_clean_subject_drops_site_marks_and_list_tags_in_any_order(subject: str, expected: str) -> None:
    assert clean_subject(subject) == expected


BANNER_WORDS = ("caution", "external", "outside", "don't often get email", "[wactclc-alma]", "[alma-l]")


@pytest.mark.parametrize(
    ("fixture", "summary_has"),
    [
        ("list/mailman_external_prefix_caution_banner", "user roles expiring (Hayes, Corinne)"),
        ("list/mailman_sender_bounces_no_list_id", "user roles expiring (Tom Okafor)"),
        ("list/listserv_pastes_template_without_number_html", "What Support told us"),
        ("member/comment_ticket_citation_caution_banner", "We ran the job again"),
        ("member/update_request_html_external_banner", "We have not heard anything"),
        ("member/comment_pastes_template_with_number", "We re-ran the job"),
    ],
)
def test_the_summary_is_the_post_not_the_banner_or_the_marks(fixture: str, summary_has: str) -> None:
    rec = recognize((MAIL / f"{fixture}.eml").read_bytes(), Config())
    assert summary_has in rec.summary
    spoken = rec.summary.split(": ", 1)[-1].lower()  # a list summary starts with the list's name
    assert not [w for w in BANNER_WORDS if w in spoken], rec.summary


def test_the_list_tag_comes_off_wherever_it_stands() -> None:
    from tests import mailmaker

    post = mailmaker.message(
        sender="Corinne Hayes <chayes@whatcom.edu>",
        to="wactclc-alma@lists.ctclink.us",
        cc=None,
        subject="[EXTERNAL] user roles expiring [wactclc-alma]",
        body="I opened a support ticket (08197740).",
        headers={"List-Id": "<wactclc-alma.lists.ctclink.us>"},
    )
    rec = recognize(post, Config())
    assert (rec.family, rec.cases) == ("list", ("08197740",))
    assert rec.summary == "wactclc-alma.lists.ctclink.us: user roles expiring (Corinne Hayes)"


def test_a_reply_command_under_a_caution_banner_is_read() -> None:
    """The consortium's own gateway marks a member's reply to casewatch as outside mail: the
    command under the banner is still the first thing the reply says."""
    from datetime import UTC, datetime
    from zoneinfo import ZoneInfo

    from daemon.commands.grammar import read_commands
    from tests import mailmaker

    reply = mailmaker.message(
        sender="Jane Doe <jdoe@wwu.edu>",
        to="casewatch+0123456789abcdef@orbiscascade.org",
        cc=None,
        subject="[EXTERNAL] Re: Case 10712345: time to ask for an update",
        body=WRAPPED + "done\n\nJane\n",
    )
    rec = recognize(reply, Config())
    assert (rec.family, rec.token) == ("reply", "0123456789abcdef")
    reading = read_commands(
        rec.reply_text, datetime(2026, 10, 7, tzinfo=UTC), ZoneInfo("America/Los_Angeles")
    )
    assert [c.name for c in reading.commands] == ["done"]
